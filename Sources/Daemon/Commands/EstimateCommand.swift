import ArgumentParser
import Base
import Estimator
import Foundation

/// `volumed estimate PATH`: one checkpoint's local volume, printed as a table or JSON, no
/// database involved.
struct EstimateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate",
        abstract: "Estimate the KL (or loss) local volume of one checkpoint.",
        discussion: """
            PATH is a checkpoint folder (HF Trainer layout) or a single .safetensors file; its
            parent folder is the run (volume.toml, eval data). Flags override the run's volume.toml.
            """)

    @Argument(help: "Checkpoint folder or .safetensors file.")
    var path: String

    @Option(help: """
        Eval data: a .safetensors file of tensors, text (.txt; .jsonl with "text"), or token ids (.npy; .jsonl with \
        "input_ids"; an indexed dataset's .bin/.idx prefix) (default: the run's volume.toml [data], \
        eval_tokens.safetensors or eval.safetensors).
        """)
    var data: String?

    @Option(help: "Tokens per row when --data is text or token ids to pack (default 512).")
    var sequenceLength: Int?

    @Option(help: "Rows kept when --data is text or token ids to pack (default 20).")
    var sequences: Int?

    @Option(help: "Documents FIRST:END of --data kept before packing (.jsonl lines, indexed-dataset documents).")
    var documents: String?

    @Option(help: "Model architecture (default: volume.toml [model] or config.json model_type).")
    var architecture: String?

    @Option(help: "MLP activation: relu, gelu, gelu_tanh, tanh, sigmoid, silu.")
    var activation: String?

    @Option(name: .customLong("cutoff"), parsing: .upToNextOption, help: "Cutoffs in nats, of the KL or of the loss increase (several allowed).")
    var cutoffs: [Double] = []

    @Option(name: .customLong("preconditioner"), parsing: .upToNextOption,
            help: "none | adam | adam-m | fisher | hessian, optionally with parameters: adam:eps=1e-3,exponent=0.5 (several allowed).")
    var preconditioners: [String] = []

    @Option(help: "gaussian | uniform.")
    var prior: String?

    @Option(help: "Centre of the Gaussian prior: zero | anchor.")
    var priorCenter: String?

    @Option(help: "σ of the Gaussian prior: rms (of the checkpoint's parameters) or a number.")
    var sigma: String?

    @Option(help: "Random directions per estimate.")
    var directions: Int?

    @Option(help: "Seed of the directions.")
    var seed: Int?

    @Option(help: """
        Random stream of the directions: philox (default), or torch to draw them as tyche does \
        (torch.manual_seed(seed); torch.randn(directions, D)) and reproduce its per-seed numbers.
        """)
    var directionsFrom: String?

    @Option(help: "Relative tolerance of the KL at each radius.")
    var tolerance: Double?

    @Option(help: """
        What the cutoff bounds along a ray: kl (the KL from the checkpoint's predictions, default) or loss \
        (the increase of the mean cross-entropy against the eval file's labels or the next token, floored at 0).
        """)
    var neighbourhood: String?

    @Option(name: .customLong("params"), parsing: .upToNextOption, help: """
        Move only the parameters whose names match these globs (e.g. 'gpt_neox.layers.0.attention.*'; \
        several allowed); the rest stay at the checkpoint (default: every parameter).
        """)
    var parameters: [String] = []

    @Option(help: "Direction worker threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(help: "Include every direction's radius and log-estimate.")
    var samples = false

    @Flag(help: "No progress line on stderr (there is none when stderr is not a terminal).")
    var quiet = false

    func run() throws {
        AllocatorPolicy.returnLargeBlocksToSystem()
        let overrides = try commandLineOverrides()
        let estimation: CheckpointEstimation
        do {
            estimation = try CheckpointEstimation(path: path, overrides: overrides, evalData: try evalData(),
                                                  architecture: architecture, activation: activation)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw CommandError(error)
        }
        let threads = threads ?? WorkerPool.coreCount
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        let progress = ProgressLine(enabled: !quiet && isatty(STDERR_FILENO) == 1)
        let outcomes: [PreconditionerOutcome]
        do {
            outcomes = try estimation.run(threads: threads) { spec, now in
                progress.update(preconditioner: spec.description, now)
            }
        } catch {
            progress.clear()
            throw CommandError(error)
        }
        progress.clear()
        if json {
            print(EstimateReport.json(estimation, outcomes, includeSamples: samples).serialized(pretty: true))
        } else {
            print(EstimateReport.table(estimation, outcomes, includeSamples: samples))
        }
    }

    /// `--data` with its packing flags; nil to use the run's eval data.
    private func evalData() throws -> EvalDataSpec? {
        guard let data else {
            if sequenceLength != nil || sequences != nil || documents != nil {
                throw ValidationError("--sequence-length, --sequences and --documents apply to --data")
            }
            return nil
        }
        // Relative to the working directory, not to the run folder.
        let file = data.hasPrefix("/") ? data : FileManager.default.currentDirectoryPath + "/" + data
        var spec = EvalDataSpec(form: try EvalDataSpec.form(ofFile: file), file: file)
        guard spec.isPacked || (sequenceLength == nil && sequences == nil && documents == nil) else {
            throw ValidationError("--sequence-length, --sequences and --documents apply to text and token files, not to a safetensors file")
        }
        for (flag, value) in [("--sequence-length", sequenceLength), ("--sequences", sequences)] {
            if let value, value < 1 { throw ValidationError("\(flag) must be at least 1") }
        }
        spec.sequenceLength = sequenceLength
        spec.sequences = sequences
        if let documents {
            guard let range = EvalDataSpec.documentRange(documents) else {
                throw ValidationError("--documents must be FIRST:END with 0 ≤ FIRST < END")
            }
            spec.documents = range
        }
        return spec
    }

    /// The flags read as an `[estimate]` table, by the codec the configuration and `volume.toml`
    /// use: the same keys, checks and messages (named by flag here).
    private func commandLineOverrides() throws -> EstimateOverrides {
        var table: [(EstimateSetting, TOMLValue)] = []
        if !cutoffs.isEmpty { table.append((.cutoffs, .array(cutoffs.map(TOMLValue.float)))) }
        if !preconditioners.isEmpty { table.append((.preconditioners, .array(preconditioners.map(TOMLValue.string)))) }
        if let prior { table.append((.prior, .string(prior))) }
        if let priorCenter { table.append((.priorCenter, .string(priorCenter))) }
        if let sigma { table.append((.sigma, .string(sigma))) }
        if let directions { table.append((.directions, .integer(Int64(directions)))) }
        if let seed { table.append((.seed, .integer(Int64(seed)))) }
        if let tolerance { table.append((.tolerance, .float(tolerance))) }
        if let neighbourhood { table.append((.neighbourhood, .string(neighbourhood))) }
        if !parameters.isEmpty { table.append((.parameters, .array(parameters.map(TOMLValue.string)))) }
        var overrides: EstimateOverrides
        do {
            overrides = try EstimateOverrides(table: SettingsTable(TOMLTable(table.map { ($0.0.rawValue, $0.1) })))
        } catch {
            throw ValidationError("\(EstimateSetting(rawValue: error.key)?.flag ?? error.key): \(error.problem)")
        }
        if let directionsFrom {
            guard let stream = DirectionStream(rawValue: directionsFrom) else {
                throw ValidationError("--directions-from must be philox or torch")
            }
            overrides.directionStream = stream
        }
        return overrides
    }
}

/// An error from the estimator shown as its message alone (with its code), not a Swift dump.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ error: any Error) {
        if let coded = error as? any CodedError {
            description = "\(coded.description) [\(coded.code)]"
        } else {
            description = "\(error)"
        }
    }
}

/// A single self-overwriting progress line on a terminal: the preconditioner being estimated,
/// directions done of k, KL evaluations, elapsed time and ETA (`ProgressFormat.estimateLine`),
/// redrawn at most every 100 ms and once more when a preconditioner's last direction finishes.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private let clock = ContinuousClock()
    private var lastDrawn: ContinuousClock.Instant?
    /// The preconditioner shown and when it started: when the one before finished (the line's
    /// creation for the first), so that its preconditioner and direction 0 count.
    private var current: (preconditioner: String, started: ContinuousClock.Instant)?
    private var previousFinished: ContinuousClock.Instant

    init(enabled: Bool) {
        self.enabled = enabled
        previousFinished = ContinuousClock.now
    }

    func update(preconditioner: String, _ progress: EstimateProgress) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = clock.now
        if current?.preconditioner != preconditioner { current = (preconditioner, previousFinished) }
        let finished = progress.directionsDone >= progress.directions
        if finished { previousFinished = now }
        if let lastDrawn, now - lastDrawn < .milliseconds(100), !finished { return }
        lastDrawn = now
        let elapsed = (now - (current?.started ?? now)).seconds
        let text = ProgressFormat.estimateLine(preconditioner: preconditioner, progress: progress, elapsed: elapsed)
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
