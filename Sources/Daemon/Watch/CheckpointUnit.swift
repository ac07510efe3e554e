/// One checkpoint as it sits in the watched folder (docs/architecture.md, "Watched folder"): a `<run>/checkpoint-<step>/`
/// folder in the HF Trainer layout, or a single `<run>/step-<N>.safetensors` file. Runs are the
/// direct subfolders of the watch root.
public struct CheckpointUnit: Hashable, Sendable, CustomStringConvertible {
    public enum Layout: Hashable, Sendable {
        /// `checkpoint-<step>/` with model weights, shards, `optimizer.pt`, `config.json`, …
        case folder
        /// `step-<N>.safetensors`.
        case file
    }

    /// The run's folder name.
    public var run: String
    /// `<root>/<run>`.
    public var runPath: String
    /// The folder or file name inside the run (`checkpoint-500`, `step-10.safetensors`).
    public var name: String
    /// `<root>/<run>/<name>`.
    public var path: String
    /// The training step from the name; nil when the name carries no number (`checkpoint-final`).
    public var step: Int?
    public var layout: Layout

    /// The unit a run-folder entry named `name` would be, judged by its name only; nil for
    /// everything else (`tmp-checkpoint-*`, `trainer_state.json`, hidden files, …).
    public init?(name: String, run: String, runPath: String) {
        if name.hasPrefix("checkpoint-"), name.count > "checkpoint-".count {
            layout = .folder
            step = Self.step(name.dropFirst("checkpoint-".count))
        } else if name.hasPrefix("step-"), name.hasSuffix(".safetensors"),
            name.count > "step-".count + ".safetensors".count
        {
            layout = .file
            step = Self.step(name.dropFirst("step-".count).dropLast(".safetensors".count))
        } else {
            return nil
        }
        self.run = run
        self.runPath = runPath
        self.name = name
        self.path = runPath + "/" + name
    }

    public var description: String { path }

    /// Decimal digits only, so "checkpoint--5" or "checkpoint-+5" carry no step.
    private static func step(_ text: Substring) -> Int? {
        guard text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Int(text)
    }
}
