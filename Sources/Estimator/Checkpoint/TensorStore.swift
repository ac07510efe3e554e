/// Named tensors read from a checkpoint: one safetensors file, a pickled state dict, or the
/// shards of a sharded checkpoint seen as one.
public protocol TensorStore: Sendable {
    /// The file (or index file) the tensors come from, for error messages.
    var source: String { get }
    /// Tensor names in the order the file stores them.
    var tensorNames: [String] { get }
    /// The tensor called `name`; `checkpoint.missing_tensor` when there is none.
    func tensor(_ name: String) throws(CheckpointError) -> RawTensor
}

extension CheckpointError {
    static func missingTensor(_ name: String, in source: String) -> CheckpointError {
        CheckpointError(Code.missingTensor, file: source, "no tensor named '\(name)'")
    }
}
