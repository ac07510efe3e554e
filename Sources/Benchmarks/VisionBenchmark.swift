import Estimator

/// `volumed bench` for vision models (issue 15's case: `convnextv2-atto`, 128 eval images,
/// `none`, k = 10, cutoff 1e-2): seconds per KL evaluation and its arithmetic rate next to
/// sgemm's, then whole estimates with their KL evaluations per direction.
public enum VisionBenchmark {
    public struct Report: Sendable, CustomStringConvertible {
        public let checkpoint: String
        public let architecture: String
        public let parameters: Int
        public let images: Int
        public let threads: Int
        public let directions: Int
        public let cutoff: Double
        /// One KL evaluation on `threads` lanes (the first direction's setting), best of rounds.
        public let secondsPerEvaluation: Double
        /// 2 × multiply-adds of the convolutions and linear layers over all images.
        public let flopsPerEvaluation: Int
        public let evaluationGFLOPS: Double
        /// `threads` threads each running single-threaded 1024³ sgemm, aggregate.
        public let sgemmGFLOPS: Double
        /// Wall seconds of each seed's estimate (model loading excluded).
        public let secondsPerEstimate: [Double]
        public let medianSecondsPerEstimate: Double
        public let medianKLEvaluationsPerDirection: Double
        public let totalKLEvaluations: Int
        public let loadAverage: [Double]

        public var description: String {
            let fixed = LanguageModelBenchmark.Report.fixed
            return """
            checkpoint            \(checkpoint) (\(architecture), D = \(parameters)), \(images) eval images
            KL evaluation         \(fixed(secondsPerEvaluation, 3)) s on \(threads) lane\(threads == 1 ? "" : "s"); \(fixed(Double(flopsPerEvaluation) / 1e9, 2)) GFLOP; \(fixed(evaluationGFLOPS, 1)) GFLOP/s (\(fixed(100 * evaluationGFLOPS / sgemmGFLOPS, 0))% of sgemm)
            sgemm 1024³           \(fixed(sgemmGFLOPS, 1)) GFLOP/s (OpenBLAS \(BLAS.coreName), \(threads) × 1 thread)
            estimate              none, k = \(directions), cutoff \(cutoff), \(threads) thread\(threads == 1 ? "" : "s"): median \(fixed(medianSecondsPerEstimate, 2)) s per seed (\(secondsPerEstimate.map { fixed($0, 2) }.joined(separator: ", ")))
            KL evals / direction  median \(fixed(medianKLEvaluationsPerDirection, 1)) (\(totalKLEvaluations) in all)
            load average          \(loadAverage.map { fixed($0, 2) }.joined(separator: " "))
            """
        }
    }

    /// Times KL evaluations at the checkpoint on the `pixel_values` of `evalPath` (the first
    /// `images`), then runs `seeds` estimates with `directions` directions under `none`.
    public static func run(checkpointPath: String, evalPath: String, images: Int = 128, threads: Int,
                           seeds: Int = 1, directions: Int = 10, rounds: Int = 3) throws -> Report {
        let threads = max(1, threads)
        let cutoff = 0.01
        let model = try ModelLoader.load(try CheckpointFolder(path: checkpointPath), manifest: nil)
        guard let vision = model as? VisionModel else {
            throw BenchmarkError(code: "bench.not_vision_model", "\(checkpointPath): a \(model.architecture) checkpoint, not a vision model")
        }
        let loadAverage = ProcessMemory.loadAverage()
        let objective = try vision.klObjective(data: try pixelValues(evalPath, images: images))
        guard let flops = CheckpointEstimation.flopsPerEvaluation(objective) else { preconditionFailure("a vision model's KL cost has a flop count") }

        // One evaluation on all threads, as the estimator runs its first direction.
        let evaluator = objective.makeEvaluator(lanes: threads)
        let direction = UnsafeMutableBufferPointer<Float>.allocate(capacity: objective.dimension)
        defer { direction.deallocate() }
        DirectionSampler(seed: 99, dimension: objective.dimension).unitDirection(0, into: direction)
        evaluator.setDirection(UnsafeBufferPointer(direction))
        let clock = ContinuousClock()
        var best = Double.infinity
        for round in 0..<max(1, rounds) {
            let started = clock.now
            _ = evaluator.cost(at: 0.01 * Double(round + 1))
            best = min(best, (clock.now - started) / .seconds(1))
        }
        let sgemm = ScaleBenchmark.sgemmGFLOPS(threads: threads)

        var seconds: [Double] = []
        var evaluations: [Int] = []
        for seed in 0..<max(1, seeds) {
            var settings = EstimateSettings(cutoffs: [cutoff], directions: directions)
            settings.seed = UInt64(seed)
            let estimator = try VolumeEstimator(objective: objective, anchor: vision.anchor, settings: settings, threads: threads)
            let estimate = try estimator.estimate(preconditioner: .identity)[0]
            seconds.append(estimate.seconds)
            evaluations += estimate.samples.map(\.klEvaluations)
        }
        return Report(
            checkpoint: checkpointPath, architecture: vision.architecture, parameters: vision.layout.count,
            images: objective.positions, threads: threads, directions: directions, cutoff: cutoff,
            secondsPerEvaluation: best, flopsPerEvaluation: flops, evaluationGFLOPS: Double(flops) / best / 1e9,
            sgemmGFLOPS: sgemm, secondsPerEstimate: seconds, medianSecondsPerEstimate: LanguageModelBenchmark.median(seconds),
            medianKLEvaluationsPerDirection: LanguageModelBenchmark.median(evaluations.map(Double.init)),
            totalKLEvaluations: evaluations.reduce(0, +), loadAverage: loadAverage)
    }

    /// The first `images` of the file's `pixel_values` [N, C, H, W].
    static func pixelValues(_ path: String, images: Int) throws -> EvalData {
        let tensor = try SafeTensorsFile(path: path).tensor("pixel_values")
        guard tensor.shape.count == 4, tensor.dtype.isFloatingPoint else {
            throw BenchmarkError(code: "bench.eval_images", "\(path): 'pixel_values' is \(tensor.dtype.rawValue) \(tensor.shape); expected float [N, C, H, W]")
        }
        let n = min(images, tensor.shape[0])
        let perImage = tensor.shape.dropFirst().reduce(1, *)
        return .images(ImageBatch(.values(Tensor(shape: [n] + tensor.shape.dropFirst(), scalars: Array(tensor.floats().prefix(n * perImage))))))
    }
}
