import Base
import Estimator
import Foundation

/// `volumed bench --only scale`: a synthetic Pythia-shaped checkpoint estimated in this process —
/// load time, seconds per KL evaluation and where they go (matrix products, attention, the
/// vocabulary softmax + KL, the rest), arithmetic rate against a 1024³ sgemm measured in the
/// same run, evaluations per direction, and peak memory against the memory budget term by term.
public enum ScaleBenchmark {
    /// What to measure on one shape.
    public struct Plan: Sendable, Codable, Equatable {
        public var shape: String
        public var rows: Int
        public var length: Int
        public var directions: Int
        public var preconditioners: [String]
        public var threads: Int

        public init(shape: String, rows: Int, length: Int, directions: Int, preconditioners: [String], threads: Int) {
            self.shape = shape
            self.rows = rows
            self.length = length
            self.directions = directions
            self.preconditioners = preconditioners
            self.threads = threads
        }

        /// The cases: 20 × 512 tokens, `none` and `adam`, a few directions; the 1B shape
        /// with 3 directions of `none` on 2 workers over 2 × 512 tokens, to keep it short.
        public static func defaults(for shape: PythiaShape, threads: Int?) -> Plan {
            switch shape.name {
            case "1b": Plan(shape: shape.name, rows: 2, length: 512, directions: 3, preconditioners: ["none"], threads: threads ?? 2)
            case "410m": Plan(shape: shape.name, rows: 20, length: 512, directions: 2, preconditioners: ["none", "adam"], threads: threads ?? WorkerPool.coreCount)
            default: Plan(shape: shape.name, rows: 20, length: 512, directions: 3, preconditioners: ["none", "adam"], threads: threads ?? WorkerPool.coreCount)
            }
        }
    }

    /// One preconditioner's estimate on the shape.
    public struct Run: Sendable, Codable, Equatable {
        public var preconditioner: String
        public var seconds: Double
        public var evaluations: Int
        public var medianEvaluationsPerDirection: Double
        /// Median wall seconds of one evaluation.
        public var medianSecondsPerEvaluation: Double
        /// Mean thread-seconds per evaluation in each part; `rest` is the evaluation's mean less
        /// the three measured parts (norms, activations, embedding, the weight window).
        public var matrixProductSeconds: Double
        public var attentionSeconds: Double
        public var softmaxKLSeconds: Double
        public var restSeconds: Double

        /// Mean thread-seconds of one evaluation (wall time × the lanes it ran on).
        public var meanSecondsPerEvaluation: Double { matrixProductSeconds + attentionSeconds + softmaxKLSeconds + restSeconds }
    }

    /// One term of the memory budget.
    public struct MemoryTerm: Sendable, Codable, Equatable {
        public var name: String
        public var bytes: Int
    }

    public struct Report: Sendable, Codable, Equatable {
        public var plan: Plan
        public var parameters: Int
        /// 2·m·n·k per matrix product plus causal attention, per evaluation.
        public var flopsPerEvaluation: Int
        /// Loading the checkpoint and computing the anchor's distribution.
        public var loadSeconds: Double
        /// `threads` threads each running single-threaded 1024³ sgemm, aggregate GFLOP/s.
        public var sgemmGFLOPS: Double
        public var runs: [Run]
        /// Peak resident memory (VmHWM) above the resident size before loading, over the load
        /// and every run, and over the load alone.
        public var peakBytes: Int
        public var loadPeakBytes: Int
        /// The budget for the heaviest of the plan's preconditioners, term by term.
        public var budget: [MemoryTerm]
        /// The budget with `adam`, whether or not the plan ran it.
        public var adamBudget: [MemoryTerm]

        public var budgetBytes: Int { budget.reduce(0) { $0 + $1.bytes } }
        public var adamBudgetBytes: Int { adamBudget.reduce(0) { $0 + $1.bytes } }
        /// The rule: the measured peak within the budget + 10%.
        public var withinBudget: Bool { Double(peakBytes) <= 1.1 * Double(budgetBytes) }

        /// GFLOP/s of one thread in matrix products and attention (their FLOPs over their time).
        public func productGFLOPS(_ run: Run) -> Double {
            Double(flopsPerEvaluation) / (run.matrixProductSeconds + run.attentionSeconds) / 1e9
        }

        /// `productGFLOPS` over one thread's share of the sgemm rate.
        public func sgemmShare(_ run: Run) -> Double {
            productGFLOPS(run) / (sgemmGFLOPS / Double(plan.threads))
        }

        /// Minutes of a k = 100 estimate at this run's evaluations per direction: its thread-seconds
        /// per evaluation spread over `threads` threads.
        public func minutesFor100Directions(_ run: Run) -> Double {
            run.meanSecondsPerEvaluation * run.medianEvaluationsPerDirection * 100 / Double(plan.threads) / 60
        }
    }

    /// Loads `checkpoint` (already written, with its eval tokens) and runs the plan's estimates.
    /// Peak memory is counted from this call's start: run it in a fresh process for a clean figure.
    public static func measure(_ checkpoint: SyntheticCheckpoint, plan: Plan, seed: UInt64 = 0) throws -> Report {
        try measure(checkpointPath: checkpoint.checkpointPath, plan: plan, randomAdam: true, seed: seed)
    }

    /// The same on any language-model checkpoint with its eval data: `adam` from its own
    /// optimizer state unless `randomAdam` (synthetic checkpoints have none).
    public static func measure(checkpointPath: String, plan: Plan, randomAdam: Bool, seed: UInt64 = 0) throws -> Report {
        AllocatorPolicy.returnLargeBlocksToSystem()
        let specs = try plan.preconditioners.map { try PreconditionerSpec(parsing: $0) }
        if let other = specs.first(where: { $0.kind != .none && $0.kind != .adam }) {
            throw BenchmarkError(code: "bench.preconditioner", "the scale benchmark runs none and adam, not \(other.name)")
        }
        let sgemm = sgemmGFLOPS(threads: plan.threads)

        ProcessMemory.resetPeak()
        let before = ProcessMemory.residentBytes()
        let clock = ContinuousClock()
        let started = clock.now
        var settings = EstimateSettings(cutoffs: [0.01], directions: plan.directions)
        settings.seed = seed
        let estimation = try CheckpointEstimation(path: checkpointPath,
                                                  base: EstimationPlan(settings: settings, preconditioners: [.none]))
        let loadSeconds = (clock.now - started).seconds
        var plan = plan
        if plan.rows == 0 { (plan.rows, plan.length) = (estimation.eval.provenance.rows, estimation.eval.provenance.rowLength) }
        let loadPeak = ProcessMemory.peakResidentBytes() - before
        guard let model = estimation.model as? LanguageModel, let flops = estimation.flopsPerEvaluation else {
            throw BenchmarkError(code: "bench.not_language_model", "\(checkpointPath): not a language model")
        }
        let dimension = model.layout.count

        var runs: [Run] = []
        for spec in specs {
            let preconditioner: Preconditioner
            if spec.kind == .adam && randomAdam {
                preconditioner = try Preconditioner.adam(spec, secondMoment: randomSecondMoment(dimension, seed: seed))
            } else {
                switch try estimation.preconditioner(spec) {
                case .success(let p): preconditioner = p
                case .failure(let skip): throw BenchmarkError(code: "bench.no_\(spec.name)", "\(checkpointPath): \(skip.reason)")
                }
            }
            let timings = ForwardTimings()
            let estimate = try ForwardTimings.collect(into: timings) {
                let estimator = try estimation.volumeEstimator(settings: settings, threads: plan.threads)
                return try estimator.estimate(preconditioner: preconditioner)[0]
            }
            runs.append(run(spec.name, estimate, timings))
        }
        let peak = ProcessMemory.peakResidentBytes() - before
        return Report(
            plan: plan, parameters: dimension, flopsPerEvaluation: flops, loadSeconds: loadSeconds,
            sgemmGFLOPS: sgemm, runs: runs, peakBytes: peak, loadPeakBytes: loadPeak,
            budget: memoryTerms(estimation.memoryBudget(preconditioners: specs, threads: plan.threads)),
            adamBudget: memoryTerms(estimation.memoryBudget(preconditioners: [.adam], threads: plan.threads)))
    }

    static func run(_ name: String, _ estimate: Estimate, _ timings: ForwardTimings) -> Run {
        let evaluations = timings.evaluationSeconds
        let count = Double(max(1, evaluations.count))
        let mean = timings.evaluationThreadSeconds / count
        let products = timings.seconds(.matrixProducts) / count
        let attention = timings.seconds(.attention) / count
        let kl = timings.seconds(.softmaxKL) / count
        return Run(preconditioner: name, seconds: estimate.seconds, evaluations: estimate.klEvaluations,
                   medianEvaluationsPerDirection: median(estimate.samples.map { Double($0.klEvaluations) }),
                   medianSecondsPerEvaluation: median(evaluations),
                   matrixProductSeconds: products, attentionSeconds: attention, softmaxKLSeconds: kl,
                   restSeconds: max(0, mean - products - attention - kl))
    }

    /// The estimator's own budget (`CheckpointEstimation.memoryBudget`), term by term.
    static func memoryTerms(_ budget: MemoryBudget) -> [MemoryTerm] {
        budget.terms.map { MemoryTerm(name: $0.name, bytes: $0.bytes) }
    }

    /// A positive random `exp_avg_sq` (log-uniform over 1e-10…1e-6, the range a trained
    /// model's second moments span), for `adam` on a checkpoint without optimizer state.
    static func randomSecondMoment(_ count: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed ^ 0xADA3)
        return (0..<count).map { _ in
            let u = Float(random.next() >> 40) / Float(1 << 24)
            return Float(1e-10) * Float(exp(Double(u) * log(1e4)))
        }
    }

    /// `threads` threads each running single-threaded 1024³ sgemm: aggregate GFLOP/s, best of 3.
    static func sgemmGFLOPS(threads: Int, rounds: Int = 3) -> Double {
        let n = 1024
        let matrices = (0..<threads).map { _ in
            let m = UnsafeMutableBufferPointer<Float>.allocate(capacity: 3 * n * n)
            for i in m.indices { m[i] = Float(i % 17) * 0.01 }
            return SendableBuffer(m)
        }
        defer { for m in matrices { m.buffer.deallocate() } }
        let clock = ContinuousClock()
        var best = 0.0
        for _ in 0..<rounds {
            let started = clock.now
            WorkerPool.run(threads: threads, count: threads) { _, item in
                let m = matrices[item].buffer.baseAddress!
                for _ in 0..<2 { BLAS.gemm(m: n, n: n, k: n, a: m, lda: n, b: m + n * n, ldb: n, c: m + 2 * n * n, ldc: n) }
            }
            best = max(best, Double(threads * 2 * 2 * n * n * n) / (clock.now - started).seconds / 1e9)
        }
        return best
    }

    private struct SendableBuffer: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<Float>
        init(_ buffer: UnsafeMutableBufferPointer<Float>) { self.buffer = buffer }
    }

    // MARK: Tables

    /// The scale table: one row per shape and preconditioner.
    public static func table(_ reports: [Report]) -> [[String]] {
        var rows = [["model", "D", "tokens", "threads", "precond", "load s", "s/eval", "GFLOP/s", "GEMM+attn % sgemm",
                     "GEMM / attn / softmax+KL / rest", "evals/dir", "min k=100", "peak / budget"]]
        for report in reports {
            for (i, run) in report.runs.enumerated() {
                let mean = run.meanSecondsPerEvaluation
                let share = { (s: Double) in percent(s / mean) }
                rows.append([
                    i == 0 ? "pythia-\(report.plan.shape)" : "", i == 0 ? millions(report.parameters) : "",
                    i == 0 ? "\(report.plan.rows)×\(report.plan.length)" : "", i == 0 ? "\(report.plan.threads)" : "",
                    run.preconditioner, i == 0 ? fixed(report.loadSeconds, 1) : "",
                    fixed(run.medianSecondsPerEvaluation, 2),
                    fixed(Double(report.flopsPerEvaluation) / run.medianSecondsPerEvaluation / 1e9, 1),
                    percent(report.sgemmShare(run)),
                    [run.matrixProductSeconds, run.attentionSeconds, run.softmaxKLSeconds, run.restSeconds].map(share).joined(separator: " / "),
                    fixed(run.medianEvaluationsPerDirection, 1), fixed(report.minutesFor100Directions(run), 1),
                    i == 0 ? "\(gibibytes(report.peakBytes)) / \(gibibytes(report.budgetBytes)) GiB" : "",
                ])
            }
        }
        return rows
    }

    /// The budget term by term beside the measured peak, with the verdict.
    public static func memoryTable(_ report: Report) -> [[String]] {
        var rows = [["pythia-\(report.plan.shape) memory", "GiB"]]
        for term in report.budget { rows.append(["  " + term.name, gibibytes(term.bytes)]) }
        rows.append(["  budget", gibibytes(report.budgetBytes)])
        rows.append(["  measured peak RSS increase (load alone)", "\(gibibytes(report.peakBytes)) (\(gibibytes(report.loadPeakBytes)))"])
        rows.append(["  verdict", report.withinBudget ? "within budget + 10%" : "OVER budget + 10%"])
        if !report.plan.preconditioners.contains("adam") {
            rows.append(["  budget with adam (predicted)", gibibytes(report.adamBudgetBytes)])
        }
        return rows
    }

    static func fixed(_ x: Double, _ decimals: Int) -> String { LanguageModelBenchmark.Report.fixed(x, decimals) }
    static func percent(_ x: Double) -> String { fixed(100 * x, 0) + "%" }
    static func gibibytes(_ bytes: Int) -> String { fixed(Double(bytes) / Double(1 << 30), 2) }
    static func millions(_ n: Int) -> String { fixed(Double(n) / 1e6, 1) + " M" }

    static func median(_ values: [Double]) -> Double { LanguageModelBenchmark.median(values) }
}
