/// A run: the folder that holds a run's checkpoints, its optional `volume.toml` and its eval data.
public struct RunFolder: Sendable {
    public let path: String
    /// `volume.toml`, when the run has one.
    public let manifest: RunManifest?

    /// Eval files looked for, in order, when the manifest names none.
    public static let evalFileNames = ["eval_tokens.safetensors", "eval.safetensors"]

    public init(path: String) throws(CheckpointError) {
        self.path = path
        let manifestPath = path + "/" + RunManifest.fileName
        manifest = FileSystem.kind(manifestPath) == .missing ? nil : try RunManifest(path: manifestPath)
    }

    /// The eval data file: the manifest's `[data] eval`, else the first of `evalFileNames` present.
    public func evalDataPath() throws(CheckpointError) -> String {
        path + "/" + (try evalFileName())
    }

    /// The eval data file's name in the run folder (a relative path for `[data] eval`).
    public func evalFileName() throws(CheckpointError) -> String {
        if let name = manifest?.evalFile {
            guard FileSystem.kind(path + "/" + name) == .regular else {
                throw CheckpointError(CheckpointError.Code.missingEvalData, file: path + "/" + RunManifest.fileName, "eval data '\(name)' named by [data] eval is not in the run folder")
            }
            return name
        }
        for name in Self.evalFileNames where FileSystem.kind(path + "/" + name) == .regular {
            return name
        }
        throw CheckpointError(CheckpointError.Code.missingEvalData, file: path, "no eval data: no volume.toml [data] eval, no eval_tokens.safetensors and no eval.safetensors in the run folder")
    }

    public func evalData() throws(CheckpointError) -> EvalDataFile {
        try EvalDataFile(path: try evalDataPath())
    }
}
