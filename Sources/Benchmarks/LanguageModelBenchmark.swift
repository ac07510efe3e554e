import Estimator
#if canImport(Glibc)
import Base
import Glibc
#endif

/// `volumed bench` for language models: the time, KL evaluations, arithmetic rate and memory of
/// estimates on one checkpoint (the issue's case: `neox-tiny/checkpoint-60`, k = 20, `adam`,
/// cutoff 1e-2), measured in this process.
public enum LanguageModelBenchmark {
    public struct Report: Sendable, CustomStringConvertible {
        public let checkpoint: String
        public let architecture: String
        public let parameters: Int
        public let threads: Int
        public let directions: Int
        public let cutoff: Double
        public let preconditioner: String
        /// Wall seconds of each seed's estimate (model loading and preconditioner excluded).
        public let secondsPerEstimate: [Double]
        public let medianSecondsPerEstimate: Double
        /// Median over every direction of every seed.
        public let medianKLEvaluationsPerDirection: Double
        public let totalKLEvaluations: Int
        /// One KL evaluation: 2·m·n·k per matrix product plus causal attention.
        public let flopsPerEvaluation: Int
        /// `threads` evaluators running forward passes concurrently, aggregate (best of 5 rounds).
        public let forwardGFLOPS: Double
        /// Evaluations × FLOPs over the estimates' wall time (includes searches, directions, integrals).
        public let estimateGFLOPS: Double
        /// `threads` threads each running single-threaded 1024³ sgemm concurrently, aggregate (best of
        /// 5 rounds, interleaved with the forward-pass rounds).
        public let sgemmGFLOPS: Double
        /// Peak resident memory (VmHWM) minus the resident memory before loading.
        public let peakMemoryBytes: Int
        /// What the estimates hold by design, term by term (`CheckpointEstimation.memoryBudget`):
        /// θ0, the preconditioner, the anchor's distribution and the workers' workspaces.
        public let budget: MemoryBudget
        public let weightBytes: Int
        /// 1-, 5- and 15-minute load averages when the measurement started (the machine may be shared).
        public let loadAverage: [Double]
        public let openBLASCore: String

        public var description: String {
            let mib = { (b: Int) in Self.fixed(Double(b) / 1_048_576, 2) + " MiB" }
            return """
            checkpoint            \(checkpoint) (\(architecture), D = \(parameters))
            settings              k = \(directions), \(preconditioner), cutoff \(cutoff), \(threads) thread\(threads == 1 ? "" : "s"), \(secondsPerEstimate.count) seeds
            seconds per estimate  median \(Self.fixed(medianSecondsPerEstimate, 3)) (\(secondsPerEstimate.map { Self.fixed($0, 3) }.joined(separator: ", ")))
            KL evals / direction  median \(Self.fixed(medianKLEvaluationsPerDirection, 1)) (\(totalKLEvaluations) in all)
            forward pass          \(Self.fixed(Double(flopsPerEvaluation) / 1e6, 1)) MFLOP; \(Self.fixed(forwardGFLOPS, 1)) GFLOP/s (\(Self.fixed(100 * forwardGFLOPS / sgemmGFLOPS, 0))% of sgemm); \(Self.fixed(estimateGFLOPS, 1)) GFLOP/s over whole estimates
            sgemm 1024³           \(Self.fixed(sgemmGFLOPS, 1)) GFLOP/s (OpenBLAS \(openBLASCore), \(threads) × 1 thread)
            memory                peak \(mib(peakMemoryBytes)) above start; budget \(mib(budget.total)) = \(budget.terms.filter { $0.bytes > 0 }.map { "\($0.name) \(mib($0.bytes))" }.joined(separator: " + "))
            load average          \(loadAverage.map { Self.fixed($0, 2) }.joined(separator: " "))
            """
        }

        static func fixed(_ x: Double, _ decimals: Int) -> String {
            guard x.isFinite else { return "\(x)" }
            var scale = 1.0
            for _ in 0..<decimals { scale *= 10 }
            let n = Int64((abs(x) * scale).rounded())
            let whole = String(n / Int64(scale)), fraction = String(n % Int64(scale))
            let padded = String(repeating: "0", count: max(0, decimals - fraction.count)) + fraction
            return (x < 0 && n != 0 ? "-" : "") + whole + (decimals > 0 ? "." + padded : "")
        }
    }

    /// Runs `seeds` estimates (seeds 0…seeds−1) with `directions` directions and the `adam`
    /// preconditioner at cutoff 1e-2, then measures the forward pass and sgemm alone.
    public static func run(checkpointPath: String, threads: Int, seeds: Int = 5, directions: Int = 20) throws -> Report {
        let threads = max(1, threads)
        let cutoff = 0.01
        AllocatorPolicy.returnLargeBlocksToSystem()
        let plan = EstimationPlan(settings: EstimateSettings(cutoffs: [cutoff], directions: directions), preconditioners: [.adam])
        // A warm-up load and estimate, all freed again: code pages, OpenBLAS's buffers and the
        // allocator's arenas belong to the process, and a first load would count them against
        // the model.
        do {
            var warmUp = plan
            warmUp.settings.directions = 2
            _ = try CheckpointEstimation(path: checkpointPath, base: warmUp).run(threads: threads)
        }
        ProcessMemory.resetPeak()
        let before = ProcessMemory.residentBytes()
        let loadAverage = ProcessMemory.loadAverage()

        let estimation = try CheckpointEstimation(path: checkpointPath, base: plan)
        guard let model = estimation.model as? LanguageModel else {
            throw BenchmarkError(code: "bench.not_language_model", "\(checkpointPath): a \(estimation.model.architecture) checkpoint, not a language model")
        }
        let preconditioner: Preconditioner
        switch try estimation.preconditioner(.adam) {
        case .success(let p): preconditioner = p
        case .failure(let skip): throw BenchmarkError(code: "bench.no_adam", "\(checkpointPath): \(skip.reason)")
        }
        guard let flops = estimation.flopsPerEvaluation else {
            preconditionFailure("a language model's KL cost has a flop count")
        }
        let budget = estimation.memoryBudget(preconditioners: [.adam], threads: threads)

        var seconds: [Double] = []
        var evaluations: [Int] = []
        for seed in 0..<max(1, seeds) {
            var settings = estimation.plan.settings
            settings.seed = UInt64(seed)
            let estimator = try estimation.volumeEstimator(settings: settings, threads: threads)
            let estimate = try estimator.estimate(preconditioner: preconditioner)[0]
            seconds.append(estimate.seconds)
            evaluations += estimate.samples.map(\.klEvaluations)
        }
        let peak = ProcessMemory.peakResidentBytes() - before

        let (forward, sgemm) = rates(estimation.objective, flopsPerEvaluation: flops, threads: threads)
        let weightBytes = model.layout.count * MemoryLayout<Float>.stride
        return Report(
            checkpoint: checkpointPath, architecture: model.architecture, parameters: model.layout.count,
            threads: threads, directions: directions, cutoff: cutoff, preconditioner: preconditioner.spec.description,
            secondsPerEstimate: seconds, medianSecondsPerEstimate: median(seconds),
            medianKLEvaluationsPerDirection: median(evaluations.map(Double.init)),
            totalKLEvaluations: evaluations.reduce(0, +),
            flopsPerEvaluation: flops, forwardGFLOPS: forward,
            estimateGFLOPS: Double(evaluations.reduce(0, +)) * Double(flops) / seconds.reduce(0, +) / 1e9,
            sgemmGFLOPS: sgemm,
            peakMemoryBytes: peak, budget: budget, weightBytes: weightBytes,
            loadAverage: loadAverage, openBLASCore: BLAS.coreName)
    }

    /// Aggregate GFLOP/s of `threads` evaluators each running forward passes along its own ray,
    /// and of `threads` threads each running single-threaded 1024³ sgemm: best of interleaved
    /// rounds, so that both see the same machine load.
    static func rates(_ objective: any KLObjective, flopsPerEvaluation: Int, threads: Int, rounds: Int = 5) -> (forward: Double, sgemm: Double) {
        let n = 1024
        let work = BenchmarkWork(objective, threads: threads, matrixSize: n)
        let evaluations = max(4, Int(1e9 / Double(flopsPerEvaluation)))
        let products = 2
        let clock = ContinuousClock()
        var forward = 0.0, sgemm = 0.0
        for _ in 0..<rounds {
            var started = clock.now
            WorkerPool.run(threads: threads, count: threads) { _, item in work.forward(item, evaluations: evaluations) }
            forward = max(forward, Double(threads * evaluations) * Double(flopsPerEvaluation) / ((clock.now - started) / .seconds(1)) / 1e9)
            started = clock.now
            WorkerPool.run(threads: threads, count: threads) { _, item in work.sgemm(item, products: products) }
            sgemm = max(sgemm, Double(threads * products) * 2 * Double(n * n * n) / ((clock.now - started) / .seconds(1)) / 1e9)
        }
        return (forward, sgemm)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

}

/// Per-thread state of the rate measurements: an evaluator with its direction, and sgemm
/// operands. Item i is only ever touched by the thread running item i.
private final class BenchmarkWork: @unchecked Sendable {
    let evaluators: [any RayEvaluator]
    let directions: [UnsafeMutableBufferPointer<Float>]
    let matrices: [UnsafeMutableBufferPointer<Float>]
    let size: Int

    init(_ objective: any KLObjective, threads: Int, matrixSize n: Int) {
        size = n
        evaluators = (0..<threads).map { _ in objective.makeEvaluator() }
        directions = (0..<threads).map { i in
            let d = UnsafeMutableBufferPointer<Float>.allocate(capacity: objective.dimension)
            DirectionSampler(seed: 99, dimension: objective.dimension).unitDirection(i, into: d)
            return d
        }
        matrices = (0..<threads).map { _ in
            let m = UnsafeMutableBufferPointer<Float>.allocate(capacity: 3 * n * n)
            for i in m.indices { m[i] = Float(i % 17) * 0.01 }
            return m
        }
        for (evaluator, direction) in zip(evaluators, directions) { evaluator.setDirection(UnsafeBufferPointer(direction)) }
    }

    deinit {
        for d in directions { d.deallocate() }
        for m in matrices { m.deallocate() }
    }

    func forward(_ item: Int, evaluations: Int) {
        for i in 0..<evaluations { _ = evaluators[item].cost(at: 1 + Double(i % 4)) }
    }

    func sgemm(_ item: Int, products: Int) {
        let n = size, m = matrices[item].baseAddress!
        for _ in 0..<products {
            BLAS.gemm(m: n, n: n, k: n, a: m, lda: n, b: m + n * n, ldb: n, c: m + 2 * n * n, ldc: n)
        }
    }
}

/// This process's memory and the system load, from /proc.
enum ProcessMemory {
    /// Resets VmHWM to the current resident size (Linux `clear_refs` value 5).
    static func resetPeak() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = "5".withCString { write(fd, $0, 1) }
        close(fd)
    }

    static func residentBytes() -> Int { statusField("VmRSS:") }
    static func peakResidentBytes() -> Int { statusField("VmHWM:") }

    static func loadAverage() -> [Double] {
        read("/proc/loadavg").split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    /// A `kB` field of /proc/self/status in bytes; 0 when unreadable.
    private static func statusField(_ name: String) -> Int {
        for line in read("/proc/self/status").split(separator: "\n") where line.hasPrefix(name) {
            let kilobytes = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
            return kilobytes * 1024
        }
        return 0
    }

    /// A small /proc file (its size reads as 0, so read until EOF).
    private static func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

