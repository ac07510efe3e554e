import Base

/// A checkpoint, archive, pickle, optimizer state, manifest or eval file that cannot be used,
/// with the file and the place in it (tensor, entry, byte offset, key) a user needs to fix it.
///
/// Codes are `<format>.<reason>`: `safetensors.*`, `zip.*`, `pickle.*`, `checkpoint.*`,
/// `lightning.*`, `optimizer.*`, `manifest.*`, `eval.*`, `text.*`, `tokens.*`, `tokenizer.*`,
/// and `file.*` for failed system calls.
public struct CheckpointError: CodedError, Equatable {
    public let code: String
    /// The file involved, as the caller named it; nil when the error is not about one file.
    public let file: String?
    /// What is wrong, naming tensors, entries, keys and byte offsets.
    public let detail: String

    public init(_ code: String, file: String?, _ detail: String) {
        self.code = code
        self.file = file
        self.detail = detail
    }

    /// A file that cannot be read (`open`/`stat`/`read`/`mmap`, size checks), keeping its
    /// `file.*` code.
    public init(_ error: FileError) {
        self.init(error.code, file: error.path, error.detail)
    }

    public var description: String {
        if let file { return "\(file): \(detail)" }
        return detail
    }
}

extension CheckpointError {
    /// Codes that callers act on rather than just report.
    public enum Code {
        /// The optimizer file holds no Adam state (a step-0 checkpoint): skip the Adam preconditioner.
        public static let noAdamState = "optimizer.no_state"
        /// A tensor the model needs is not in the checkpoint.
        public static let missingTensor = "checkpoint.missing_tensor"
        /// No eval data file was found for the run.
        public static let missingEvalData = "eval.missing"
        /// The checkpoint's content is not what was fingerprinted when the estimate was planned
        /// (a new version of it is a new checkpoint).
        public static let checkpointChanged = "checkpoint.changed_since_scheduled"
        /// The eval file's bytes are not those fingerprinted when the estimate was planned.
        public static let evalChanged = "eval.changed_since_scheduled"
    }
}
