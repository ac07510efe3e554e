/// A store whose tensor names lose the wrapper prefixes training wrappers add (`module.` from
/// DistributedDataParallel, `_orig_mod.` from `torch.compile`; `StateDictNames.unwrapped`).
struct UnwrappedTensorStore: TensorStore {
    let source: String
    let tensorNames: [String]
    private let base: any TensorStore
    /// Unwrapped name → the name in `base`.
    private let storedNames: [String: String]

    /// Two stored names that unwrap to the same name (`module.x` and `x`) are an error: which one
    /// the model means cannot be told.
    init(_ base: any TensorStore) throws(CheckpointError) {
        var names: [String] = []
        var storedNames: [String: String] = [:]
        names.reserveCapacity(base.tensorNames.count)
        for stored in base.tensorNames {
            let name = StateDictNames.unwrapped(stored)
            if let other = storedNames[name] {
                throw CheckpointError("checkpoint.duplicate_tensor", file: base.source,
                                      "tensors '\(other)' and '\(stored)' are both '\(name)' once the wrapper prefixes \(StateDictNames.wrapperPrefixes) are removed")
            }
            storedNames[name] = stored
            names.append(name)
        }
        self.source = base.source
        self.tensorNames = names
        self.base = base
        self.storedNames = storedNames
    }

    func tensor(_ name: String) throws(CheckpointError) -> RawTensor {
        guard let stored = storedNames[name] else { throw .missingTensor(name, in: source) }
        return try base.tensor(stored)
    }
}
