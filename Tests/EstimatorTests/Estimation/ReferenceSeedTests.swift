import Testing
@testable import Estimator
#if canImport(Glibc)
import Glibc
#endif

/// With the reference implementation's own directions (PyTorch's `manual_seed(s);
/// randn(k, D)`, `DirectionStream.torch`) every seed's log-volume is the reference's for that
/// seed, on every checkpoint, preconditioner and cutoff it measured — up to its radius search,
/// which stops once each direction's KL is within 1% of the cutoff and returns the next
/// bisection midpoint: radii within about 1%, so a seed's value (dominated by its largest
/// radius) within D·ln 1.01, and no bias in the mean over seeds beyond a fraction of that.
@Suite struct ReferenceSeedTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let checkpoint: String
        let preconditioner: String
        let cutoff: Double
        var testDescription: String { "\(checkpoint) \(preconditioner) cutoff \(cutoff)" }
    }

    /// Every measurement with per-seed values (the reference failed on digits/checkpoint-0).
    static let cases: [Case] = ((try? ReferenceResult.all()) ?? []).filter { !$0.perSeed.isEmpty }.map {
        Case(checkpoint: $0.checkpoint, preconditioner: $0.preconditioner, cutoff: $0.cutoff)
    }

    @Test func coversEveryArchitecture() {
        #expect(Self.cases.count == 18)
        for prefix in ["digits/", "digits-legacy/", "neox-tiny/", "gpt2-tiny/", "llama-tiny/"] {
            #expect(Self.cases.contains { $0.checkpoint.hasPrefix(prefix) }, "\(prefix)")
        }
    }

    @Test(.enabled(if: !_isDebugAssertConfiguration(), "the numerical code is too slow unoptimized (run with -c release)"),
          arguments: cases)
    func torchDirectionsReproduceEachReferenceSeed(_ c: Case) throws {
        let reference = try ReferenceResult.find(c.checkpoint, c.preconditioner, cutoff: c.cutoff)
        let spec = try PreconditionerSpec(parsing: c.preconditioner)
        var settings = EstimateSettings(cutoffs: [c.cutoff], directions: reference.directions)
        settings.directionStream = .torch
        let estimation = try CheckpointEstimation(path: Fixtures.path(c.checkpoint),
                                                  base: EstimationPlan(settings: settings, preconditioners: [spec]))
        guard case .success(let preconditioner) = try estimation.preconditioner(spec) else {
            Issue.record("no \(spec) preconditioner")
            return
        }
        let dimension = Double(estimation.model.layout.count)
        var differences: [Double] = []
        for (seed, expected) in zip(reference.seedList, reference.perSeed) {
            settings.seed = UInt64(seed)
            let estimator = try VolumeEstimator(objective: estimation.objective, anchor: estimation.model.anchor,
                                                settings: settings, threads: 2)
            #expect(abs(estimator.sigma / reference.sigma - 1) < 1e-6)
            let ours = try #require(estimator.estimate(preconditioner: preconditioner)[0].aggregate.logVolume)
            #expect(abs(ours - expected) <= dimension * log(1.01), "seed \(seed): \(ours) vs the reference's \(expected)")
            differences.append(ours - expected)
        }
        let mean = differences.reduce(0, +) / Double(differences.count)
        #expect(abs(mean) <= dimension * log(1.0025), "mean difference \(mean) nats over \(differences.count) seeds")
    }
}
