import ArgumentParser
import Base
import Benchmarks
import Estimator
import Foundation

/// `volumed bench --only scale`'s options.
struct ScaleOptions: ParsableArguments {
    @Option(help: "Pythia shapes to measure, comma-separated: 70m, 160m, 410m, 1b.")
    var shapes = "70m,160m,410m,1b"

    @Option(help: "Eval tokens per shape, rows×length (e.g. 20x512; default: 20×512, 2×512 for 1b).")
    var tokens: String?

    @Option(help: "Directions per estimate (default: 3; 2 for 410m).")
    var directions: Int?

    @Option(help: "Preconditioners, comma-separated: none, adam (default: none,adam; none for 1b).")
    var preconditioners: String?

    @Option(help: "Where synthetic checkpoints are written and reused.")
    var scaleDir = "/tmp/volumed-scale"

    @Option(help: "A language-model checkpoint of your own to measure instead of the synthetic shapes (its eval data, its optimizer state for adam).")
    var checkpoint: String?

    @Option(help: .hidden)
    var scaleReport: String?
}

/// The scale table: per shape, the synthetic checkpoint written (or reused) here, then measured
/// in a child `volumed bench --only scale --shapes <shape> --scale-report <file>` so that each
/// shape's peak resident memory starts from a fresh process.
struct ScaleSection {
    let options: ScaleOptions
    let threads: Int?

    func run() throws {
        if let checkpoint = options.checkpoint {
            try measureOwn(checkpoint)
            return
        }
        let shapes = try options.shapes.split(separator: ",").map { try PythiaShape.named(String($0)) }
        let plans = try shapes.map(plan)
        if let reportPath = options.scaleReport {
            guard shapes.count == 1 else { throw BenchmarkError(code: "bench.scale", "--scale-report measures one shape") }
            try measure(shapes[0], plans[0], reportPath: reportPath)
            return
        }
        print("== scale: synthetic Pythia-shaped fp16 checkpoints in \(options.scaleDir) (random weights: time and memory only)")
        var reports: [ScaleBenchmark.Report] = []
        for (shape, plan) in zip(shapes, plans) {
            let checkpoint = SyntheticCheckpoint(shape: shape, root: options.scaleDir)
            let clock = ContinuousClock()
            let started = clock.now
            let wrote = try checkpoint.prepare()
            try checkpoint.writeEvalTokens(rows: plan.rows, length: plan.length)
            print("pythia-\(shape.name): D = \(shape.parameterCount), \(wrote ? "written" : "reused") \(checkpoint.checkpointPath) (\(format((clock.now - started).seconds, 1)) s); \(plan.rows)×\(plan.length) tokens, k = \(plan.directions), \(plan.preconditioners.joined(separator: ",")), \(plan.threads) thread(s)")
            reports.append(try child(shape, plan))
        }
        print("")
        printTable(ScaleBenchmark.table(reports))
        let sgemm = reports.map { "pythia-\($0.plan.shape) \(format($0.sgemmGFLOPS, 1))" }.joined(separator: ", ")
        print("sgemm 1024³ GFLOP/s (threads × 1 thread, per run): \(sgemm); rates are per worker thread; s/eval is the median wall time of one evaluation; split = mean thread-seconds per evaluation")
        print("min k=100 = thread-s/eval × evals/dir × 100 / threads: random weights' evals/dir are not a trained model's — scale by the trained model's count")
        print("")
        for report in reports {
            printTable(ScaleBenchmark.memoryTable(report))
            if report.plan.shape == "1b" {
                let peak = Double(report.peakBytes) / Double(1 << 30), adam = Double(report.adamBudgetBytes) / Double(1 << 30)
                print("  1B target: peak \(format(peak, 2)) GiB \(peak < 8 ? "<" : "≥") 8 GiB; budget with adam \(format(adam, 2)) GiB \(adam < 12 ? "<" : "≥") 12 GiB")
            }
        }
        print("(budget: the estimator's own, CheckpointEstimation.memoryBudget)\n")
    }

    /// `--checkpoint`: one checkpoint of the user's, measured in a child like a shape.
    private func measureOwn(_ path: String) throws {
        var plan = ScaleBenchmark.Plan(shape: (path as NSString).lastPathComponent, rows: 0, length: 0,
                                       directions: options.directions ?? 20, preconditioners: ["none", "adam"],
                                       threads: threads ?? WorkerPool.coreCount)
        if let preconditioners = options.preconditioners {
            plan.preconditioners = preconditioners.split(separator: ",").map(String.init)
        }
        if let reportPath = options.scaleReport {
            let report = try ScaleBenchmark.measure(checkpointPath: path, plan: plan, randomAdam: false)
            printTable(ScaleBenchmark.table([report]))
            print("")
            try JSONEncoder().encode(report).write(to: URL(fileURLWithPath: reportPath))
            return
        }
        print("== scale: \(path) (its own eval data and optimizer state), k = \(plan.directions), \(plan.preconditioners.joined(separator: ",")), \(plan.threads) thread(s)")
        let report = try child(name: plan.shape, ["--checkpoint", path, "--directions", "\(plan.directions)",
                                                 "--preconditioners", plan.preconditioners.joined(separator: ","), "--threads", "\(plan.threads)"])
        print("")
        printTable(ScaleBenchmark.table([report]))
        print("sgemm 1024³ \(format(report.sgemmGFLOPS, 1)) GFLOP/s (threads × 1 thread); min k=100 = thread-s/eval × evals/dir × 100 / threads")
        print("")
        printTable(ScaleBenchmark.memoryTable(report))
        print("")
    }

    private func plan(_ shape: PythiaShape) throws -> ScaleBenchmark.Plan {
        var plan = ScaleBenchmark.Plan.defaults(for: shape, threads: threads)
        if let tokens = options.tokens {
            let parts = tokens.split(whereSeparator: { $0 == "x" || $0 == "×" }).compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else {
                throw BenchmarkError(code: "bench.tokens", "--tokens \(tokens): expected rows×length, e.g. 20x512")
            }
            (plan.rows, plan.length) = (parts[0], parts[1])
        }
        if let directions = options.directions {
            guard directions >= 1 else { throw BenchmarkError(code: "bench.directions", "--directions must be at least 1") }
            plan.directions = directions
        }
        if let preconditioners = options.preconditioners {
            plan.preconditioners = preconditioners.split(separator: ",").map(String.init)
        }
        return plan
    }

    /// This shape measured in a child volumed, its output passed through.
    private func child(_ shape: PythiaShape, _ plan: ScaleBenchmark.Plan) throws -> ScaleBenchmark.Report {
        try child(name: shape.name, ["--shapes", shape.name, "--tokens", "\(plan.rows)x\(plan.length)",
                                     "--directions", "\(plan.directions)", "--preconditioners", plan.preconditioners.joined(separator: ","),
                                     "--threads", "\(plan.threads)", "--scale-dir", options.scaleDir])
    }

    /// `volumed bench --only scale <options> --scale-report <file>` in a child, its output passed through.
    private func child(name: String, _ options: [String]) throws -> ScaleBenchmark.Report {
        let reportPath = NSTemporaryDirectory() + "volumed-scale-\(getpid())-\(name).json"
        defer { try? FileManager.default.removeItem(atPath: reportPath) }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let arguments = ["bench", "--only", "scale"] + options + ["--scale-report", reportPath]
        fflush(nil)  // what this process printed comes before the child's lines
        // The child's output is passed on as it comes (a 410M shape runs for half an hour).
        let logPath = reportPath + ".log"
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let process = try ChildProcess(executable: executable, arguments: arguments,
                                       environment: ProcessInfo.processInfo.environment, logPath: logPath)
        var shown = 0
        func passOn() {
            guard let data = FileManager.default.contents(atPath: logPath), data.count > shown else { return }
            FileHandle.standardOutput.write(data.subdata(in: shown..<data.count))
            shown = data.count
        }
        var termination: Termination?
        while termination == nil {
            termination = process.waitForExitBlocking(timeout: .seconds(1))
            passOn()
        }
        guard termination == .exited(0), let data = FileManager.default.contents(atPath: reportPath) else {
            throw BenchmarkError(code: "bench.scale_child", "measuring \(name) failed (\(termination.map { "\($0)" } ?? "?"))")
        }
        return try JSONDecoder().decode(ScaleBenchmark.Report.self, from: data)
    }

    /// In the child: measure, print the shape's lines, write the report for the parent.
    private func measure(_ shape: PythiaShape, _ plan: ScaleBenchmark.Plan, reportPath: String) throws {
        let checkpoint = SyntheticCheckpoint(shape: shape, root: options.scaleDir)
        try checkpoint.prepare()
        try checkpoint.writeEvalTokens(rows: plan.rows, length: plan.length)
        let report = try ScaleBenchmark.measure(checkpoint, plan: plan)
        printTable(ScaleBenchmark.table([report]))
        print("")
        try JSONEncoder().encode(report).write(to: URL(fileURLWithPath: reportPath))
    }
}
