/// The shards of a sharded checkpoint (`*.index.json` + shard files) seen as one store.
struct ShardedTensorStore: TensorStore {
    let source: String
    let tensorNames: [String]
    private let shards: [any TensorStore]
    private let shardOf: [String: Int]

    /// `weightMap` is the index's tensor → shard file name map; each listed tensor must be in
    /// its shard, and no tensor may be in two shards.
    init(index: String, shards: [any TensorStore], shardNames: [String], weightMap: [(tensor: String, shard: String)]) throws(CheckpointError) {
        var names: [String] = []
        var shardOf: [String: Int] = [:]
        for (i, shard) in shards.enumerated() {
            for name in shard.tensorNames {
                if let other = shardOf[name] {
                    throw CheckpointError("checkpoint.duplicate_tensor", file: index, "tensor '\(name)' is in both '\(shardNames[other])' and '\(shardNames[i])'")
                }
                shardOf[name] = i
                names.append(name)
            }
        }
        for (tensor, shard) in weightMap {
            guard let i = shardOf[tensor], shardNames[i] == shard else {
                throw CheckpointError("checkpoint.index_mismatch", file: index, "weight_map puts tensor '\(tensor)' in '\(shard)', but that shard does not hold it")
            }
        }
        self.source = index
        self.tensorNames = names
        self.shards = shards
        self.shardOf = shardOf
    }

    func tensor(_ name: String) throws(CheckpointError) -> RawTensor {
        guard let i = shardOf[name] else { throw .missingTensor(name, in: source) }
        return try shards[i].tensor(name)
    }
}
