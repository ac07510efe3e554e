/// A cheap picture of a checkpoint's content files — names, sizes, modification times and
/// inodes, read with `stat` only — used to notice that a checkpoint changed or stopped changing.
/// It is not a content fingerprint: equal snapshots mean "nothing visibly changed".
public struct CheckpointSnapshot: Hashable, Sendable {
    public struct File: Hashable, Sendable {
        public var name: String
        public var size: Int64
        public var modifiedSeconds: Int64
        public var modifiedNanoseconds: Int64
        /// A file replaced by an atomic rename has a new inode even when size and time match.
        public var inode: UInt64

        public init(name: String, size: Int64, modifiedSeconds: Int64, modifiedNanoseconds: Int64, inode: UInt64) {
            self.name = name
            self.size = size
            self.modifiedSeconds = modifiedSeconds
            self.modifiedNanoseconds = modifiedNanoseconds
            self.inode = inode
        }
    }

    /// Content files sorted by name.
    public var files: [File]

    public init(files: [File]) {
        self.files = files.sorted { $0.name < $1.name }
    }

    public var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    public func contains(_ name: String) -> Bool {
        files.contains { $0.name == name }
    }

    /// Weight files; a checkpoint folder holding one of them is complete enough to consider.
    public static let weightFileNames: Set<String> = [
        "model.safetensors", "model.safetensors.index.json",
        "pytorch_model.bin", "pytorch_model.bin.index.json",
    ]

    /// Index files whose `weight_map` names the shards.
    public static let indexFileNames = ["model.safetensors.index.json", "pytorch_model.bin.index.json"]

    /// The only files that count as checkpoint content (docs/architecture.md, "Watched folder"): weights, the shards an
    /// index lists, `optimizer.pt` and `config.json`. HF shards are named
    /// `model-00001-of-00003.safetensors` / `pytorch_model-00001-of-00003.bin`; shards with other
    /// names count when an index lists them.
    public static func isContentFileName(_ name: String) -> Bool {
        weightFileNames.contains(name) || name == "optimizer.pt" || name == "config.json" || isShardFileName(name)
    }

    static func isShardFileName(_ name: String) -> Bool {
        let stem: Substring
        if name.hasPrefix("model-"), name.hasSuffix(".safetensors") {
            stem = name.dropFirst("model-".count).dropLast(".safetensors".count)
        } else if name.hasPrefix("pytorch_model-"), name.hasSuffix(".bin") {
            stem = name.dropFirst("pytorch_model-".count).dropLast(".bin".count)
        } else {
            return false
        }
        let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
        func isNumber(_ part: Substring) -> Bool {
            !part.isEmpty && part.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
        return parts.count == 3 && isNumber(parts[0]) && parts[1] == "of" && isNumber(parts[2])
    }
}
