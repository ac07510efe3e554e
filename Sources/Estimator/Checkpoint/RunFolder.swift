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

    /// The run's eval data: the manifest's `[data]`, else the first of `evalFileNames` present.
    /// The file must be there (for an indexed dataset, its `.bin` and `.idx`).
    public func evalData() throws(CheckpointError) -> EvalDataSpec {
        if let spec = manifest?.evalData {
            guard let files = spec.files(runFolder: path), files.allSatisfy({ FileSystem.kind($0) == .regular }) else {
                throw CheckpointError(CheckpointError.Code.missingEvalData, file: path + "/" + RunManifest.fileName, "eval data '\(spec.file)' named by [data] \(spec.form.manifestKey) is not in the run folder")
            }
            return spec
        }
        for name in Self.evalFileNames where FileSystem.kind(path + "/" + name) == .regular {
            return EvalDataSpec(form: .tensors, file: name)
        }
        throw CheckpointError(CheckpointError.Code.missingEvalData, file: path, "no eval data: no volume.toml [data] eval, text or tokens, no eval_tokens.safetensors and no eval.safetensors in the run folder")
    }
}
