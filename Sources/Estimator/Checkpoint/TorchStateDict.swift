/// A pickled `state_dict` (`pytorch_model.bin`): a dict of parameter name → tensor.
public struct TorchStateDict: TensorStore {
    public let source: String
    public let tensorNames: [String]
    private let tensors: [String: RawTensor]

    public init(path: String) throws(CheckpointError) {
        try self.init(try TorchArchive.load(path: path), source: path)
    }

    /// The state dict in an unpickled `pytorch_model.bin`; `source` names the file in errors.
    public init(_ value: PickleValue, source path: String) throws(CheckpointError) {
        guard let pairs = value.dictEntries else {
            throw CheckpointError("checkpoint.bad_state_dict", file: path, "pickle holds a \(value.kind), not a dict of tensors")
        }
        var names: [String] = []
        var tensors: [String: RawTensor] = [:]
        for (key, item) in pairs {
            guard case .string(let name) = key else {
                throw CheckpointError("checkpoint.bad_state_dict", file: path, "state dict has a \(key.kind) key; names must be strings")
            }
            guard case .tensor(let tensor) = item else {
                throw CheckpointError("checkpoint.bad_state_dict", file: path, "state dict entry '\(name)' is a \(item.kind), not a tensor")
            }
            names.append(name)
            tensors[name] = tensor
        }
        self.source = path
        self.tensorNames = names
        self.tensors = tensors
    }

    public func tensor(_ name: String) throws(CheckpointError) -> RawTensor {
        guard let t = tensors[name] else { throw .missingTensor(name, in: source) }
        return t
    }
}
