import Estimator

/// One checkpoint as it sits in the watched folder: a `<run>/checkpoint-<step>/` folder or a
/// single `<run>/step-<N>.safetensors` file (`CheckpointLayout` decides). Runs are the direct
/// subfolders of the watch root.
public struct CheckpointUnit: Hashable, Sendable, CustomStringConvertible {
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
    public var layout: CheckpointLayout.Form

    /// The unit a run-folder entry named `name` would be, judged by its name only; nil for
    /// everything else (`tmp-checkpoint-*`, `trainer_state.json`, hidden files, …).
    public init?(name: String, run: String, runPath: String) {
        guard let layout = CheckpointLayout.form(ofEntryNamed: name) else { return nil }
        self.layout = layout
        self.step = CheckpointLayout.step(fromName: name, form: layout)
        self.run = run
        self.runPath = runPath
        self.name = name
        self.path = runPath + "/" + name
    }

    /// Whether a file of this checkpoint folder named `name` is content by its name.
    public func isContentFileName(_ name: String) -> Bool {
        CheckpointLayout.isContentFileName(name, form: layout)
    }

    public var description: String { path }
}
