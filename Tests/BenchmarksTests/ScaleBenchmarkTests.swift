import Base
@testable import Benchmarks
import Estimator
import Foundation
import Testing

/// Serialized: `ForwardTimings.collect` has one collector per process.
@Suite(.serialized) struct ScaleBenchmarkTests {
    /// hidden 64, 2 layers, 4 heads, vocabulary 1000: 2·64,000 embeddings + 2·49,984 per layer + 128.
    static let tiny = PythiaShape(name: "tiny", hidden: 64, layers: 2, heads: 4, vocabulary: 1000)

    static func scratchFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "volumed-scale-test-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func pythiaShapesHaveTheirParameterCounts() {
        // Pythia-70m's published count; the others follow from the same rule.
        #expect(PythiaShape.pythia70M.parameterCount == 70_426_624)
        #expect(PythiaShape.pythia160M.parameterCount == 162_322_944)
        #expect(PythiaShape.pythia410M.parameterCount == 405_334_016)
        #expect(PythiaShape.pythia1B.parameterCount == 1_011_781_632)
        #expect(Self.tiny.parameterCount == 228_096)
    }

    @Test func writtenCheckpointLoadsAsShardedGPTNeoX() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var checkpoint = SyntheticCheckpoint(shape: Self.tiny, runFolder: folder + "/run")
        checkpoint.maxShardBytes = 200_000
        #expect(try checkpoint.prepare())
        try checkpoint.writeEvalTokens(rows: 2, length: 16)

        let files = try FileManager.default.contentsOfDirectory(atPath: checkpoint.checkpointPath).sorted()
        #expect(files == ["config.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                          "model-00003-of-00003.safetensors", "model.safetensors.index.json"])
        let index = try JSONValue.parse(Array(FileManager.default.contents(atPath: checkpoint.checkpointPath + "/model.safetensors.index.json")!))
        #expect(index["metadata"]?["total_size"]?.intValue == 228_096 * 2)
        #expect(index["weight_map"]?.objectValue?.count == Self.tiny.tensors.count)
        #expect(index["weight_map"]?["embed_out.weight"]?.stringValue == "model-00003-of-00003.safetensors")

        let estimation = try CheckpointEstimation(path: checkpoint.checkpointPath)
        #expect(estimation.model.architecture == "gpt_neox")
        #expect(estimation.model.layout.count == 228_096)
        let anchor = estimation.model.anchor
        let embedding = anchor[0..<64_000]
        let mean = embedding.reduce(0, +) / Float(embedding.count)
        let sd = (embedding.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(embedding.count)).squareRoot()
        #expect(abs(mean) < 0.001 && abs(sd - 0.02) < 0.001)
        #expect(anchor[64_000..<64_064].allSatisfy { $0 == 1 })  // layer 0's input_layernorm.weight

        // A second prepare finds it complete and writes nothing.
        #expect(try checkpoint.prepare() == false)
    }

    @Test(.enabled(if: !_isDebugAssertConfiguration(), "the numerical code is too slow unoptimized (run with -c release)"))
    func measuresEveryRunAndSplitsTheEvaluationTime() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let checkpoint = SyntheticCheckpoint(shape: Self.tiny, runFolder: folder + "/run")
        try checkpoint.prepare()
        try checkpoint.writeEvalTokens(rows: 4, length: 64)
        let plan = ScaleBenchmark.Plan(shape: "tiny", rows: 4, length: 64, directions: 2, preconditioners: ["none", "adam"], threads: 2)
        let report = try ScaleBenchmark.measure(checkpoint, plan: plan)

        #expect(report.parameters == 228_096)
        #expect(report.runs.map(\.preconditioner) == ["none", "adam"])
        for run in report.runs {
            #expect(run.evaluations >= 2 && run.medianEvaluationsPerDirection >= 1)
            #expect(run.matrixProductSeconds > 0 && run.attentionSeconds > 0 && run.softmaxKLSeconds > 0)
            // The parts and the rest make up the mean evaluation, which the median is close to.
            let parts = run.matrixProductSeconds + run.attentionSeconds + run.softmaxKLSeconds
            #expect(parts <= run.meanSecondsPerEvaluation * 1.001)
            // Thread-seconds: an evaluation on 2 lanes holds 2 threads for its wall time.
            #expect(run.meanSecondsPerEvaluation > 0.5 * run.medianSecondsPerEvaluation
                && run.meanSecondsPerEvaluation < 2 * Double(plan.threads) * run.medianSecondsPerEvaluation)
            // No lower bound on the parts' share: at this tiny size and 256 tokens the rest (norms,
            // activations, the window's weights and the direction's regeneration) outweighs them.
        }
        #expect(report.sgemmGFLOPS > 0 && report.peakBytes > 0)
        let d = 228_096 * 4
        #expect(report.budget.map(\.bytes).prefix(2) == [d, d])  // θ0 and adam's vector
        #expect(report.budget.map(\.name).contains("workspace"))
        #expect(report.adamBudgetBytes == report.budgetBytes)
    }

    @Test(.enabled(if: !_isDebugAssertConfiguration(), "the numerical code is too slow unoptimized (run with -c release)"))
    func timedEvaluationsAddUpToTheirWallTime() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let checkpoint = SyntheticCheckpoint(shape: Self.tiny, runFolder: folder + "/run")
        try checkpoint.prepare()
        try checkpoint.writeEvalTokens(rows: 4, length: 64)
        let estimation = try CheckpointEstimation(path: checkpoint.checkpointPath)
        let untimed = estimation.objective.makeEvaluator()
        let timings = ForwardTimings()
        let evaluator = ForwardTimings.collect(into: timings) { estimation.objective.makeEvaluator() }
        var direction = [Float](repeating: 0, count: estimation.objective.dimension)
        direction[0] = 1
        let clock = ContinuousClock()
        var wall = 0.0
        direction.withUnsafeBufferPointer { v in
            evaluator.setDirection(v)
            untimed.setDirection(v)
            for t in [0.5, 1, 2] {
                let started = clock.now
                let cost = evaluator.cost(at: t)
                wall += (clock.now - started).seconds
                #expect(cost.isFinite && cost == untimed.cost(at: t))
            }
        }
        let evaluations = timings.evaluationSeconds
        #expect(evaluations.count == 3)
        // Each evaluation's own record matches the wall time around its call.
        let total = evaluations.reduce(0, +)
        #expect(total <= wall && total > 0.9 * wall)
        let parts = ForwardTimings.Part.allCases.map(timings.seconds).reduce(0, +)
        #expect(parts > 0.5 * total && parts <= total)
    }

    @Test func tableHasOneRowPerRunAndTheMemoryVerdict() {
        let run = ScaleBenchmark.Run(preconditioner: "none", seconds: 30, evaluations: 10, medianEvaluationsPerDirection: 2.5,
                                     medianSecondsPerEvaluation: 2, matrixProductSeconds: 1.2, attentionSeconds: 0.4,
                                     softmaxKLSeconds: 0.2, restSeconds: 0.2)
        var adam = run
        adam.preconditioner = "adam"
        let report = ScaleBenchmark.Report(
            plan: .init(shape: "70m", rows: 20, length: 512, directions: 3, preconditioners: ["none", "adam"], threads: 2),
            parameters: 70_426_624, flopsPerEvaluation: 1_000_000_000_000, loadSeconds: 3.25, sgemmGFLOPS: 160,
            runs: [run, adam], peakBytes: 3 << 30, loadPeakBytes: 1 << 30,
            budget: [.init(name: "anchor weights θ0 (float32)", bytes: 1 << 30), .init(name: "rest", bytes: 2 << 30)],
            adamBudget: [.init(name: "anchor weights θ0 (float32)", bytes: 1 << 30), .init(name: "rest", bytes: 2 << 30)])
        let table = ScaleBenchmark.table([report])
        #expect(table.count == 3)
        #expect(table[1] == ["pythia-70m", "70.4 M", "20×512", "2", "none", "3.3", "2.00", "500.0", "781%",
                             "60% / 20% / 10% / 10%", "2.5", "4.2", "3.00 / 3.00 GiB"])
        #expect(table[2][0] == "" && table[2][4] == "adam")
        // 1.2 + 0.4 s of products for 1 TFLOP: 625 GFLOP/s against 80 per thread.
        #expect(abs(report.sgemmShare(run) - 625.0 / 80) < 1e-9)
        #expect(report.withinBudget)
        let memory = ScaleBenchmark.memoryTable(report)
        #expect(memory.last == ["  verdict", "within budget + 10%"])
        var over = report
        over.peakBytes = Int(3.4 * Double(1 << 30))
        #expect(!over.withinBudget)
    }
}
