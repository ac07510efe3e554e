import Estimator

/// One checkpoint as it sits in the watched folder: a `<run>/checkpoint-<step>/` folder, a
/// single `<run>/step-<N>.safetensors` file, a Lightning `.ckpt`, … (`CheckpointLayout` decides).
/// Runs are the direct subfolders of the watch root; a checkpoint sits in its run folder or in a
/// nested folder of it (`CheckpointLayout.NestedFolder`), and a Lightning
/// `<run>/lightning_logs/version_<N>` is a run of its own.
public struct CheckpointUnit: Hashable, Sendable, CustomStringConvertible {
    /// The run's name in the store: its folder name, or `<run>/lightning_logs/version_<N>`.
    public var run: String
    /// The run's folder: `<root>/<run>` (a Lightning version's `version_<N>` folder).
    public var runPath: String
    /// The folder or file name inside `folder` (`checkpoint-500`, `step-10.safetensors`).
    public var name: String
    /// The folder that holds it: `runPath`, or a nested folder (`<runPath>/checkpoints`).
    public var folder: String
    /// `<folder>/<name>`.
    public var path: String
    /// The training step from the name; nil when the name carries no number (`checkpoint-final`).
    public var step: Int?
    public var layout: CheckpointLayout.Form

    /// The unit a run-folder entry named `name` would be, judged by its name only; nil for
    /// everything else (`tmp-checkpoint-*`, `trainer_state.json`, hidden files, …).
    public init?(name: String, run: String, runPath: String) {
        self.init(name: name, run: run, runPath: runPath, folder: runPath, nested: nil)
    }

    /// The unit an entry named `name` of `folder` would be; in a `nested` folder only the forms
    /// it holds count.
    public init?(name: String, run: String, runPath: String, folder: String, nested: CheckpointLayout.NestedFolder?) {
        guard let layout = CheckpointLayout.form(ofEntryNamed: name), nested?.holds(layout) ?? true else { return nil }
        self.layout = layout
        self.step = CheckpointLayout.step(fromName: name, form: layout)
        self.run = run
        self.runPath = runPath
        self.name = name
        self.folder = folder
        self.path = folder + "/" + name
    }

    /// Whether a file of this checkpoint folder named `name` is content by its name.
    public func isContentFileName(_ name: String) -> Bool {
        CheckpointLayout.isContentFileName(name, form: layout)
    }

    public var description: String { path }
}
