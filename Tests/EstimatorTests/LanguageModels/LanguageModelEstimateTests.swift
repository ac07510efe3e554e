import Base
import Testing
@testable import Estimator

@Suite struct LanguageModelEstimateTests {
    /// The estimator's whole path on a language model: checkpoint folder, eval tokens, Adam state
    /// mapped through the model's layout, and both preconditioners.
    @Test func adamPreconditionerRunsThroughCheckpointEstimation() throws {
        let plan = EstimationPlan(settings: EstimateSettings(cutoffs: [0.01], directions: 2), preconditioners: [.none, .adam])
        let estimation = try CheckpointEstimation(path: Fixtures.path("neox-tiny/checkpoint-30"), base: plan)
        #expect(estimation.model.architecture == "gpt_neox")
        let outcomes = try estimation.run(threads: 2)
        #expect(outcomes.count == 2)
        for (outcome, name) in zip(outcomes, ["none", "adam"]) {
            guard case .estimated(let estimates) = outcome, let estimate = estimates.first else {
                Issue.record("\(name) did not run: \(outcome)")
                continue
            }
            #expect(estimate.preconditioner.name == name)
            let logVolume = try #require(estimate.aggregate.logVolume)
            // Far below zero (D = 132,864) but finite; the reference's means are about −1.5e5.
            #expect(logVolume < -50_000 && logVolume > -400_000)
            #expect(estimate.samples.allSatisfy { $0.radius.isFinite && $0.radius > 0 && $0.klEvaluations >= 1 })
            #expect(estimate.nonfinite == 0)
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let checkpoint: String
        let preconditioner: PreconditionerSpec
        var testDescription: String { "\(checkpoint) \(preconditioner.name)" }
    }

    static let cases = LanguageModelFixtures.checkpoints.flatMap { c in [PreconditionerSpec.none, .adam].map { Case(checkpoint: c, preconditioner: $0) } }

    /// Seed means at the reference's settings (k = 20, cutoff 1e-2, σ = RMS, prior at zero) agree
    /// with the reference implementation's within three standard errors of the difference.
    /// Twelve estimates of ~50 forward passes each per case: release builds only.
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "the numerical code is too slow unoptimized (run with -c release)"),
          arguments: cases)
    func seedMeansAgreeWithReference(_ c: Case) throws {
        let reference = try Self.reference(c.checkpoint, c.preconditioner.name)
        let seeds = 12
        let plan = EstimationPlan(settings: EstimateSettings(cutoffs: [0.01], directions: 20), preconditioners: [c.preconditioner])
        let estimation = try CheckpointEstimation(path: Fixtures.path(c.checkpoint), base: plan)
        guard case .success(let preconditioner) = try estimation.preconditioner(c.preconditioner) else {
            Issue.record("no \(c.preconditioner) preconditioner")
            return
        }
        let objective = try estimation.model.klObjective(data: estimation.eval.data)
        var values: [Double] = []
        for seed in 0..<seeds {
            var settings = plan.settings
            settings.seed = UInt64(seed)
            let estimator = try VolumeEstimator(objective: objective, anchor: estimation.model.anchor, settings: settings, threads: 2)
            #expect(abs(estimator.sigma / reference.sigma - 1) < 1e-6)
            values.append(try #require(estimator.estimate(preconditioner: preconditioner)[0].aggregate.logVolume))
        }
        let mean = values.reduce(0, +) / Double(seeds)
        let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(seeds - 1)).squareRoot()
        let bound = 3 * (sd * sd / Double(seeds) + reference.sd * reference.sd / Double(reference.seeds)).squareRoot()
        let agreement = {
            #expect(abs(mean - reference.mean) <= bound,
                    "mean \(mean) (sd \(sd)) vs reference \(reference.mean) (sd \(reference.sd)); bound \(bound)")
        }
        if c.checkpoint == "neox-tiny/checkpoint-60" && c.preconditioner == .none {
            // The reference's ten seeds are themselves a high draw here. With its own directions
            // our estimator reproduces each of those seeds (`ReferenceSeedTests`);
            // over torch seeds 10–59 the same estimator's mean is −177,048 ± 624 nats (sd 4,414),
            // 4,760 below the reference's −172,288 for seeds 0–9: 3.4 standard errors of a
            // ten-seed mean. Our own directions agree with seeds 10–59 (60 seeds: −175,873 ± 469).
            withKnownIssue("the reference's ten seeds sit ~3.4 standard errors above the mean of further seeds") { agreement() }
        } else {
            agreement()
        }
    }

    static func referenceEntry(_ checkpoint: String, _ preconditioner: String) throws -> JSONValue {
        let json = try JSONValue.parse(try readBytes(Fixtures.path("reference.json")))
        let results = try #require(json["results"]?.arrayValue)
        return try #require(results.first {
            $0["checkpoint"]?.stringValue == checkpoint && $0["precond"]?.stringValue == preconditioner
                && $0["cutoff"]?.doubleValue == 0.01 && $0["k"]?.intValue == 20
        })
    }

    static func reference(_ checkpoint: String, _ preconditioner: String) throws -> (mean: Double, sd: Double, seeds: Int, sigma: Double) {
        let entry = try referenceEntry(checkpoint, preconditioner)
        return (try #require(entry["mean_nats"]?.doubleValue), try #require(entry["sd_nats"]?.doubleValue),
                try #require(entry["seeds"]?.arrayValue?.count), try #require(entry["sigma"]?.doubleValue))
    }
}
