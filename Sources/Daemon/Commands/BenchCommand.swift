import ArgumentParser
import Base
import Benchmarks
import Estimator
import Foundation

/// `volumed bench`: the project's speed figures, measured in this process and printed as
/// tables. Run it from a release build (`make bench`).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure estimator speed on the shipped fixtures and print the figures.")

    @Option(help: "The fixtures folder with reference.json (default: fixtures/ in the current directory, else in the source tree volumed was built from).")
    var fixtures: String?

    @Option(help: "Direction worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Repetitions (seeds) per timed case.")
    var repetitions = 20

    @Option(help: "The example runs, for the latency measurement (default: examples/, found like --fixtures).")
    var examples: String?

    @Option(parsing: .upToNextOption, help: "Sections to run: digits, lm, vision, llc, preconditioners, queue, dashboard, latency (default: all), or scale (only when named: it writes and estimates Pythia-sized checkpoints).")
    var only: [String] = []

    @OptionGroup(title: "Scale (--only scale)")
    var scale: ScaleOptions

    func run() async throws {
        let threads = threads ?? WorkerPool.coreCount
        print("volumed bench — \(threads) thread(s), OpenBLAS core \(BLAS.coreName), \(WorkerPool.coreCount) cores, load average \(loadAverage())")
        #if DEBUG
        print("warning: this is a debug build; numbers are not representative (use `make bench`)")
        #endif
        print("")
        let sections = only.isEmpty ? ["digits", "lm", "vision", "llc", "preconditioners", "queue", "dashboard", "latency"] : only
        // Found before anything runs, so a missing folder fails at once rather than minutes in.
        let fixtures = sections.contains(where: ["digits", "lm", "vision", "llc", "preconditioners"].contains)
            ? try RepositoryFolder.fixtures.locate(explicit: fixtures) : ""
        let examples = sections.contains("latency") ? try RepositoryFolder.examples.locate(explicit: examples) : ""
        if sections.contains("digits") {
            try DigitsBenchmark(fixtures: fixtures, threads: threads, repetitions: repetitions).run()
        }
        if sections.contains("lm") {
            try languageModels(fixtures: fixtures, threads: threads)
        }
        if sections.contains("vision") {
            try vision(fixtures: fixtures, threads: threads)
        }
        if sections.contains("llc") {
            try llc(fixtures: fixtures)
        }
        if sections.contains("preconditioners") {
            try PreconditionerBenchmark(fixtures: fixtures, threads: threads).run()
        }
        if sections.contains("queue") {
            try await QueueThroughputBenchmark(jobs: 1000).run()
        }
        if sections.contains("dashboard") {
            try await RunPageBenchmark(checkpoints: 1000, series: 4).run()
        }
        if sections.contains("latency") {
            try await LatencyBenchmark(examples: examples, trials: 5).run()
        }
        if sections.contains("scale") {
            try ScaleSection(options: scale, threads: self.threads).run()
        }
    }
}

/// Issue "Estimator core": one digits estimate (k = 100, cutoff 1e-2, one seed, one
/// preconditioner) against the reference implementation's seconds per seed.
struct DigitsBenchmark {
    let fixtures: String
    let threads: Int
    let repetitions: Int

    func run() throws {
        print("== digits MLP (D = 4810), k = 100, cutoff 1e-2, \(repetitions) seeds per case")
        var rows = [["checkpoint", "precond", "median s/estimate", "reference s/seed", "speed-up", "median KL evals/dir", "reference evals/dir", "mean log10 vol", "reference log10"]]
        let references = try ReferenceTable(path: fixtures + "/reference.json")
        for checkpoint in ["digits/checkpoint-100", "digits/checkpoint-3000"] {
            for spec in [PreconditionerSpec.none, .adam] {
                var seconds: [Double] = []
                var evalsPerDirection: [Double] = []
                var log10: [Double] = []
                for seed in 0..<repetitions {
                    var plan = EstimationPlan(preconditioners: [spec])
                    plan.settings.seed = UInt64(seed)
                    let estimation = try CheckpointEstimation(path: fixtures + "/" + checkpoint, base: plan)
                    guard case .estimated(let estimates) = try estimation.run(threads: threads)[0] else { continue }
                    let e = estimates[0]
                    seconds.append(e.seconds)
                    evalsPerDirection.append(contentsOf: e.samples.map { Double($0.klEvaluations) })
                    if let v = e.aggregate.log10Volume { log10.append(v) }
                }
                let reference = references.find(checkpoint, spec.name)
                let refSeconds = reference.map { median($0.secondsPerSeed) }
                rows.append([
                    checkpoint, spec.name, format(median(seconds), 4), refSeconds.map { format($0, 4) } ?? "—",
                    refSeconds.map { format($0 / median(seconds), 1) + "×" } ?? "—",
                    format(median(evalsPerDirection), 1),
                    reference.map { format(Double($0.klEvaluationsPerSeed) / 100, 1) } ?? "—",
                    format(log10.reduce(0, +) / Double(max(1, log10.count)), 1),
                    reference.map { format($0.meanLog10, 1) } ?? "—",
                ])
            }
        }
        printTable(rows)
        print("targets: median s/estimate ≤ reference/20 (≈ 25 ms); median KL evals/dir ≤ 5\n")
    }
}

extension BenchCommand {
    /// Issue "Language models": neox-tiny/checkpoint-60, k = 20, `adam`, against the reference's
    /// median seconds per seed; the forward pass's GFLOP/s next to sgemm; memory.
    func languageModels(fixtures: String, threads: Int) throws {
        let checkpoint = "neox-tiny/checkpoint-60"
        print("== language model: \(checkpoint)")
        let report = try LanguageModelBenchmark.run(checkpointPath: fixtures + "/" + checkpoint, threads: threads)
        print(report)
        if let reference = try ReferenceTable(path: fixtures + "/reference.json").find(checkpoint, "adam") {
            let target = median(reference.secondsPerSeed) / 5
            print("reference median s/seed \(format(median(reference.secondsPerSeed), 2)); target ≤ \(format(target, 3)) s per estimate")
        }
        print("")
    }
}

extension BenchCommand {
    /// Issue 15: the Atto-width ConvNeXt V2 on the 128 eval images, `none`, k = 10, cutoff 1e-2:
    /// seconds and GFLOP/s of a KL evaluation next to sgemm's, seconds per seed, KL evaluations
    /// per direction.
    func vision(fixtures: String, threads: Int) throws {
        let run = fixtures + "/vision/convnextv2-atto"
        guard let checkpoint = try? FileManager.default.contentsOfDirectory(atPath: run)
            .filter({ $0.hasPrefix("checkpoint-") }).max(by: { Int($0.dropFirst(11)) ?? 0 < Int($1.dropFirst(11)) ?? 0 }) else {
            print("== vision: no \(run)/checkpoint-*; skipped\n")
            return
        }
        print("== vision: convnextv2-atto/\(checkpoint)")
        let report = try VisionBenchmark.run(checkpointPath: run + "/" + checkpoint, evalPath: fixtures + "/vision/digits32_eval.safetensors",
                                             threads: threads)
        print(report)
        print("target: ≥ 10× the reference's seconds per seed (PyTorch ≈ 3 s per KL evaluation)\n")
    }
}

/// Issue "Curvature preconditioners": every preconditioner on digits/checkpoint-3000, seed means
/// side by side (larger is more accurate: the estimate is a high-probability lower bound).
struct PreconditionerBenchmark {
    let fixtures: String
    let threads: Int
    let seeds = 10

    func run() throws {
        print("== preconditioners on digits/checkpoint-3000, cutoff 1e-2, k = 100, \(seeds) seeds")
        let rows = try PreconditionerComparison.run(checkpointPath: fixtures + "/digits/checkpoint-3000", seeds: seeds, threads: threads)
        var table = [["preconditioner", "mean log10 vol", "sd", "SE", "s/estimate", "s preconditioner (once)"]]
        for r in rows {
            if let reason = r.skipReason {
                table.append([r.preconditioner.description, "skipped: \(reason)"])
                continue
            }
            table.append([r.preconditioner.description, format(r.meanLog10Volume, 1), format(r.sdLog10Volume, 1),
                          format(r.standardError, 1), format(r.secondsPerEstimate, 3), format(r.secondsPreconditioner, 2)])
        }
        printTable(table)
        if let none = rows.first(where: { $0.preconditioner.kind == .none }), let fisher = rows.first(where: { $0.preconditioner.kind == .fisher }),
           fisher.skipReason == nil {
            let se = (none.standardError * none.standardError + fisher.standardError * fisher.standardError).squareRoot()
            print("fisher − none = \(format(fisher.meanLog10Volume - none.meanLog10Volume, 1)) log10 = \(format((fisher.meanLog10Volume - none.meanLog10Volume) / se, 1)) standard errors (target > 3)")
        }
        print("")
    }
}

/// The reference implementation's numbers from the fixtures' `reference.json`.
struct ReferenceTable {
    struct Entry {
        let checkpoint: String
        let preconditioner: String
        let cutoff: Double
        let secondsPerSeed: [Double]
        let klEvaluationsPerSeed: Int
        let meanLog10: Double
    }

    let entries: [Entry]

    init(path: String) throws {
        let root = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        entries = (root["results"]?.arrayValue ?? []).compactMap { r in
            guard let checkpoint = r["checkpoint"]?.stringValue, let precond = r["precond"]?.stringValue,
                  let cutoff = r["cutoff"]?.doubleValue, let meanLog10 = r["mean_log10"]?.doubleValue else { return nil }
            let evals = r["kl_evals_per_seed"]?.arrayValue?.compactMap(\.intValue) ?? []
            return Entry(checkpoint: checkpoint, preconditioner: precond, cutoff: cutoff,
                         secondsPerSeed: r["seconds_per_seed"]?.arrayValue?.compactMap(\.doubleValue) ?? [],
                         klEvaluationsPerSeed: evals.sorted().dropFirst(evals.count / 2).first ?? 0, meanLog10: meanLog10)
        }
    }

    func find(_ checkpoint: String, _ preconditioner: String, cutoff: Double = 0.01) -> Entry? {
        entries.first { $0.checkpoint == checkpoint && $0.preconditioner == preconditioner && $0.cutoff == cutoff }
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func printTable(_ rows: [[String]]) {
    let widths = (0..<(rows.map(\.count).max() ?? 0)).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
    for row in rows {
        print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

extension BenchCommand {
    /// Issue 16: seconds per SGLD draw on the digits and neox-tiny fixtures, 2 threads, with
    /// devinterp's hyperparameters and its seconds per draw from fixtures/llc-reference.json.
    func llc(fixtures: String) throws {
        let path = fixtures + "/llc-reference.json"
        let reference = FileManager.default.fileExists(atPath: path) ? try LLCReference(path: path) : nil
        let repository = URL(fileURLWithPath: fixtures).deletingLastPathComponent().path
        let source = reference.map { "devinterp \($0.devinterpVersion), torch \($0.torchVersion), \($0.threads) threads" }
            ?? "no llc-reference.json: default settings, no reference"
        print("== LLC by SGLD, 2 threads (\(source)); 3 seeds per case")
        var table = [["case", "checkpoint", "ε", "γ", "nβ", "chains × draws", "B", "ms/draw", "devinterp ms/draw", "speed-up", "mean LLC"]]
        for row in try LLCBenchmark.run(repository: repository, reference: reference, threads: 2) {
            let s = row.settings
            table.append([row.name, row.checkpoint, format(s.epsilon, 4), format(s.gamma, 1), s.nbeta.map { format($0, 3) } ?? "B/ln B",
                          "\(s.chains) × \(s.draws)", String(s.batchSize), format(row.secondsPerDraw * 1000, 3),
                          row.referenceSecondsPerDraw.map { format($0 * 1000, 3) } ?? "—",
                          row.speedUp.map { format($0, 1) + "×" } ?? "—", format(row.llcMean, 2)])
        }
        printTable(table)
        print("target: speed-up ≥ 5× (seconds per draw: wall seconds over chains × steps)\n")
    }
}
