#if canImport(Glibc)
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
        /// `threads` evaluators running forward passes concurrently, aggregate.
        public let forwardGFLOPS: Double
        /// Evaluations × FLOPs over the estimates' wall time (includes searches, directions, integrals).
        public let estimateGFLOPS: Double
        /// `threads` threads each running single-threaded 1024³ sgemm concurrently, aggregate.
        public let sgemmGFLOPS: Double
        /// Peak resident memory (VmHWM) minus the resident memory before loading.
        public let peakMemoryBytes: Int
        /// weight bytes × (2 + 2 × threads) + threads × one evaluator's activations + the anchor's
        /// cached distribution.
        public let memoryBudgetBytes: Int
        public let weightBytes: Int
        public let activationBytesPerWorker: Int
        public let anchorDistributionBytes: Int
        /// 1-, 5- and 15-minute load averages when the measurement started (the machine may be shared).
        public let loadAverage: [Double]
        public let openBLASCore: String

        public var description: String {
            let mib = { (b: Int) in Self.fixed(Double(b) / 1_048_576, 2) + " MiB" }
            return """
            checkpoint            \(checkpoint) (\(architecture), D = \(parameters))
            settings              k = \(directions), \(preconditioner), cutoff \(formatNumber(cutoff)), \(threads) thread\(threads == 1 ? "" : "s"), \(secondsPerEstimate.count) seeds
            seconds per estimate  median \(Self.fixed(medianSecondsPerEstimate, 3)) (\(secondsPerEstimate.map { Self.fixed($0, 3) }.joined(separator: ", ")))
            KL evals / direction  median \(Self.fixed(medianKLEvaluationsPerDirection, 1)) (\(totalKLEvaluations) in all)
            forward pass          \(Self.fixed(Double(flopsPerEvaluation) / 1e6, 1)) MFLOP; \(Self.fixed(forwardGFLOPS, 1)) GFLOP/s (\(Self.fixed(100 * forwardGFLOPS / sgemmGFLOPS, 0))% of sgemm); \(Self.fixed(estimateGFLOPS, 1)) GFLOP/s over whole estimates
            sgemm 1024³           \(Self.fixed(sgemmGFLOPS, 1)) GFLOP/s (OpenBLAS \(openBLASCore), \(threads) × 1 thread)
            memory                peak \(mib(peakMemoryBytes)) above start; budget \(mib(memoryBudgetBytes)) (weights \(mib(weightBytes)), activations \(mib(activationBytesPerWorker))/worker, anchor distribution \(mib(anchorDistributionBytes)))
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
        ProcessMemory.resetPeak()
        let before = ProcessMemory.residentBytes()
        let loadAverage = ProcessMemory.loadAverage()

        let cutoff = 0.01
        let plan = EstimationPlan(settings: EstimateSettings(cutoffs: [cutoff], directions: directions), preconditioners: [.adam])
        let estimation = try CheckpointEstimation(path: checkpointPath, base: plan)
        guard let model = estimation.model as? LanguageModel else {
            throw ModelError(code: "bench.not_language_model", "\(checkpointPath): a \(estimation.model.architecture) checkpoint, not a language model")
        }
        let preconditioner: Preconditioner
        switch try estimation.preconditioner(.adam) {
        case .success(let p): preconditioner = p
        case .failure(let skip): throw ModelError(code: "bench.no_adam", "\(checkpointPath): \(skip.reason)")
        }
        guard let objective = try model.klObjective(data: estimation.eval.data) as? LanguageModelObjective else {
            preconditionFailure("a language model's objective is a LanguageModelObjective")
        }

        var seconds: [Double] = []
        var evaluations: [Int] = []
        for seed in 0..<max(1, seeds) {
            var settings = estimation.plan.settings
            settings.seed = UInt64(seed)
            let estimator = try VolumeEstimator(objective: objective, anchor: model.anchor, settings: settings, threads: threads)
            let estimate = estimator.estimate(preconditioner: preconditioner)[0]
            seconds.append(estimate.seconds)
            evaluations += estimate.samples.map(\.klEvaluations)
        }
        let peak = ProcessMemory.peakResidentBytes() - before

        let flops = objective.flopsPerEvaluation
        let forward = forwardRate(objective, threads: threads)
        let sgemm = sgemmRate(threads: threads)
        let probe = LanguageModelRayEvaluator(objective)
        let weightBytes = model.layout.count * MemoryLayout<Float>.stride
        let anchorBytes = objective.anchorDistribution.logProbs.count * 2 * MemoryLayout<Double>.stride
        return Report(
            checkpoint: checkpointPath, architecture: model.architecture, parameters: model.layout.count,
            threads: threads, directions: directions, cutoff: cutoff, preconditioner: preconditioner.spec.description,
            secondsPerEstimate: seconds, medianSecondsPerEstimate: median(seconds),
            medianKLEvaluationsPerDirection: median(evaluations.map(Double.init)),
            totalKLEvaluations: evaluations.reduce(0, +),
            flopsPerEvaluation: flops, forwardGFLOPS: forward,
            estimateGFLOPS: Double(evaluations.reduce(0, +)) * Double(flops) / seconds.reduce(0, +) / 1e9,
            sgemmGFLOPS: sgemm,
            peakMemoryBytes: peak,
            memoryBudgetBytes: weightBytes * (2 + 2 * threads) + threads * probe.byteCount + anchorBytes,
            weightBytes: weightBytes, activationBytesPerWorker: probe.byteCount, anchorDistributionBytes: anchorBytes,
            loadAverage: loadAverage, openBLASCore: BLAS.coreName)
    }

    /// Aggregate GFLOP/s of `threads` evaluators each running forward passes along its own ray.
    static func forwardRate(_ objective: LanguageModelObjective, threads: Int) -> Double {
        let evaluators = (0..<threads).map { _ in objective.makeEvaluator() }
        let directions = (0..<threads).map { i in
            var d = [Float](repeating: 0, count: objective.dimension)
            d.withUnsafeMutableBufferPointer { DirectionSampler(seed: 99, dimension: $0.count).unitDirection(i, into: $0) }
            return d
        }
        let perThread = max(4, Int(2e9 / Double(objective.flopsPerEvaluation)) / threads)
        let holder = Shared(evaluators, directions)
        let clock = ContinuousClock()
        let started = clock.now
        WorkerPool.run(threads: threads, count: threads) { _, item in
            let evaluator = holder.evaluators[item]
            holder.directions[item].withUnsafeBufferPointer { direction in
                evaluator.setDirection(direction)
                for i in 0..<perThread { _ = evaluator.cost(at: 1 + Double(i % 4)) }
            }
        }
        let elapsed = (clock.now - started).seconds
        return Double(threads * perThread) * Double(objective.flopsPerEvaluation) / elapsed / 1e9
    }

    /// Aggregate GFLOP/s of `threads` threads each running single-threaded 1024³ sgemm.
    static func sgemmRate(threads: Int, size n: Int = 1024, repetitions: Int = 8) -> Double {
        let clock = ContinuousClock()
        let started = clock.now
        WorkerPool.run(threads: threads, count: threads) { _, _ in
            let a = UnsafeMutableBufferPointer<Float>.allocate(capacity: n * n)
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: n * n)
            let c = UnsafeMutableBufferPointer<Float>.allocate(capacity: n * n)
            defer { a.deallocate(); b.deallocate(); c.deallocate() }
            for i in 0..<(n * n) {
                a[i] = Float(i % 17) * 0.01
                b[i] = Float(i % 13) * 0.01
            }
            for _ in 0..<repetitions {
                BLAS.gemm(m: n, n: n, k: n, a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n, c: c.baseAddress!, ldc: n)
            }
        }
        let elapsed = (clock.now - started).seconds
        return Double(threads * repetitions) * 2 * Double(n * n * n) / elapsed / 1e9
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// Per-thread evaluators handed to the worker threads (each touched by one thread only).
    private final class Shared: @unchecked Sendable {
        let evaluators: [any RayEvaluator]
        let directions: [[Float]]
        init(_ evaluators: [any RayEvaluator], _ directions: [[Float]]) {
            self.evaluators = evaluators
            self.directions = directions
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
