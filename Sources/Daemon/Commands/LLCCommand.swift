import ArgumentParser
import Base
import Estimator
import Foundation
import Synchronization

/// `volumed llc PATH`: one checkpoint's local learning coefficient by localized SGLD (devinterp
/// 2.0.1's estimator), printed as a table or JSON, no database involved.
struct LLCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llc",
        abstract: "Estimate the local learning coefficient (LLC) of one checkpoint by SGLD.",
        discussion: """
            PATH is a checkpoint folder (HF Trainer layout) or a single .safetensors file; its
            parent folder is the run (volume.toml, eval data). The loss is the mean cross-entropy:
            against the eval file's 'labels' for an MLP, of the next token for a language model.
            Defaults are devinterp's (nβ = B / ln B) and its recommendations for small models.
            """)

    @Argument(help: "Checkpoint folder or .safetensors file.")
    var path: String

    @Option(help: "Eval data file (default: the run's volume.toml [data], eval_tokens.safetensors or eval.safetensors).")
    var data: String?

    @Option(help: "Model architecture (default: volume.toml [model] or config.json model_type).")
    var architecture: String?

    @Option(help: "MLP activation: relu, gelu, gelu_tanh, tanh, sigmoid, silu.")
    var activation: String?

    @Option(help: "ε, the SGLD step size (default 1e-3).")
    var epsilon: Double?

    @Option(help: "γ, the localization strength (default 100).")
    var gamma: Double?

    @Option(help: "nβ, the inverse temperature (default B / ln B for batch size B).")
    var nbeta: Double?

    @Option(help: "Chains (default 4).")
    var chains: Int?

    @Option(help: "Draws per chain after burn-in (default 200).")
    var draws: Int?

    @Option(help: "Burn-in steps per chain, not averaged (default 0).")
    var burnIn: Int?

    @Option(help: "Eval rows per mini-batch (default 32; at most the eval rows).")
    var batchSize: Int?

    @Option(help: "Seed of the noise and the mini-batch order (default 0).")
    var seed: UInt64?

    @Option(name: .customLong("params"), parsing: .upToNextOption,
            help: "Move only the parameters whose names match these globs (e.g. 'gpt_neox.layers.0.attention.*').")
    var parameters: [String] = []

    @Option(help: "Chain worker threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(help: "Include every chain's loss trace in the JSON.")
    var traces = false

    @Flag(help: "No progress line on stderr (there is none when stderr is not a terminal).")
    var quiet = false

    func run() throws {
        AllocatorPolicy.returnLargeBlocksToSystem()
        let settings = self.settings
        do { try settings.validate() } catch { throw ValidationError(error.detail) }
        let threads = threads ?? WorkerPool.coreCount
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        let draw = !quiet && isatty(STDERR_FILENO) == 1
        let lastDrawn = LastDrawn()
        let estimate: LLCEstimate
        let estimation: CheckpointEstimation
        do {
            estimation = try CheckpointEstimation(path: path, evalData: try evalData(), architecture: architecture, activation: activation)
            estimate = try estimation.llc(settings, threads: threads, progress: { done, total in
                guard draw else { return }
                let now = ContinuousClock.now
                let due = lastDrawn.instant.withLock { last in
                    guard now - last >= .milliseconds(100) || done == total else { return false }
                    last = now
                    return true
                }
                if due { FileHandle.standardError.write(Data("\r\u{1B}[KSGLD: \(done)/\(total) steps".utf8)) }
            })
        } catch let error as ValidationError {
            throw error
        } catch {
            if draw { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            throw CommandError(error)
        }
        if draw { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if json {
            print(LLCReport.json(estimation, estimate, includeTraces: traces).serialized(pretty: true))
        } else {
            print(LLCReport.table(estimation, estimate))
        }
    }

    /// The flags over `LLCSettings`' defaults.
    var settings: LLCSettings {
        var s = LLCSettings()
        if let epsilon { s.epsilon = epsilon }
        if let gamma { s.gamma = gamma }
        s.nbeta = nbeta
        if let chains { s.chains = chains }
        if let draws { s.draws = draws }
        if let burnIn { s.burnIn = burnIn }
        if let batchSize { s.batchSize = batchSize }
        if let seed { s.seed = seed }
        s.parameters = ParameterSelection.canonical(parameters)
        return s
    }

    /// `--data`, relative to the working directory; nil for the run's eval data.
    private func evalData() throws -> EvalDataSpec? {
        guard let data else { return nil }
        let file = data.hasPrefix("/") ? data : FileManager.default.currentDirectoryPath + "/" + data
        return EvalDataSpec(form: try EvalDataSpec.form(ofFile: file), file: file)
    }
}

/// When the progress line was last drawn (redrawn at most every 100 ms).
private final class LastDrawn: Sendable {
    let instant = Mutex(ContinuousClock.now - .seconds(1))
}
