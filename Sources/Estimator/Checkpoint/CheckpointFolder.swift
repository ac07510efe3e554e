import Base
import Hashing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One checkpoint: an HF Trainer folder (`checkpoint-<N>/` with `model.safetensors` or
/// `pytorch_model.bin`, possibly sharded behind an `*.index.json`, plus `optimizer.pt` and
/// `config.json`) or a single `.safetensors` file (`step-<N>.safetensors`). Its run folder
/// is the parent.
///
/// Only the weight files, `optimizer.pt` and `config.json` are content; every other file in
/// the folder (trainer state, scheduler, RNG state, training arguments) is ignored.
public struct CheckpointFolder: Sendable {
    public enum WeightFiles: Sendable, Equatable {
        case safetensors(String)
        case safetensorsShards(index: String, shards: [String])
        case pytorch(String)
        case pytorchShards(index: String, shards: [String])
    }

    /// The folder, or the single `.safetensors` file.
    public let path: String
    public let runFolder: String
    /// `N` from a `checkpoint-<N>` or `step-<N>` name; nil for any other name.
    public let step: Int?
    public let weightFiles: WeightFiles
    public let optimizerPath: String?
    public let configPath: String?
    /// `config.json` parsed, when the folder has one.
    public let config: JSONValue?

    /// Weight candidates in the order they are preferred.
    public static let weightFileNames = [
        "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json",
    ]

    public init(path given: String) throws(CheckpointError) {
        var path = given
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        let (parent, name) = FileSystem.split(path)
        self.path = path
        self.runFolder = parent
        switch FileSystem.kind(path) {
        case .missing:
            throw CheckpointError(FileError(path: path, operation: "open", reason: .system(.noSuchFileOrDirectory)))
        case .regular:
            guard name.hasSuffix(".safetensors") else {
                throw CheckpointError("checkpoint.unsupported_file", file: path, "a single-file checkpoint must be a .safetensors file")
            }
            step = Self.step(fromName: String(name.dropLast(".safetensors".count)))
            weightFiles = .safetensors(path)
            optimizerPath = nil
            configPath = nil
            config = nil
        case .directory:
            step = Self.step(fromName: name)
            let folder = path
            func file(_ name: String) -> String? {
                let full = folder + "/" + name
                return FileSystem.kind(full) == .regular ? full : nil
            }
            if let st = file("model.safetensors") {
                weightFiles = .safetensors(st)
            } else if let index = file("model.safetensors.index.json") {
                weightFiles = .safetensorsShards(index: index, shards: try Self.shards(index, in: folder).files)
            } else if let bin = file("pytorch_model.bin") {
                weightFiles = .pytorch(bin)
            } else if let index = file("pytorch_model.bin.index.json") {
                weightFiles = .pytorchShards(index: index, shards: try Self.shards(index, in: folder).files)
            } else {
                throw CheckpointError("checkpoint.no_weights", file: path, "no weights: none of \(Self.weightFileNames.joined(separator: ", ")) is in the folder")
            }
            optimizerPath = file("optimizer.pt")
            configPath = file("config.json")
            config = try configPath.map { (configPath) throws(CheckpointError) in try Self.parseConfig(configPath) }
        case .other:
            throw CheckpointError("checkpoint.unsupported_file", file: path, "not a checkpoint folder or .safetensors file")
        }
    }

    /// The weights as one store (shards merged).
    public func weights() throws(CheckpointError) -> any TensorStore {
        switch weightFiles {
        case .safetensors(let file):
            return try SafeTensorsFile(path: file)
        case .pytorch(let file):
            return try TorchStateDict(path: file)
        case .safetensorsShards(let index, _), .pytorchShards(let index, _):
            let folder = FileSystem.split(index).parent
            let (files, names, weightMap) = try Self.shards(index, in: folder)
            var stores: [any TensorStore] = []
            for file in files {
                if case .safetensorsShards = weightFiles {
                    stores.append(try SafeTensorsFile(path: file))
                } else {
                    stores.append(try TorchStateDict(path: file))
                }
            }
            return try ShardedTensorStore(index: index, shards: stores, shardNames: names, weightMap: weightMap)
        }
    }

    /// The content files (weights, index, shards, optimizer, config), sorted by file name.
    public var contentFiles: [String] {
        var files: [String] = []
        switch weightFiles {
        case .safetensors(let file), .pytorch(let file): files = [file]
        case .safetensorsShards(let index, let shards), .pytorchShards(let index, let shards): files = [index] + shards
        }
        if let optimizerPath { files.append(optimizerPath) }
        if let configPath { files.append(configPath) }
        return files.sorted { FileSystem.split($0).name.utf8.lexicographicallyPrecedes(FileSystem.split($1).name.utf8) }
    }

    /// Hex SHA-256 over the content files in name order; each contributes its name's length
    /// and UTF-8 bytes, then its length and bytes (all lengths as 64-bit little-endian).
    public func fingerprint() throws(CheckpointError) -> String {
        var hasher = SHA256()
        for file in contentFiles {
            let name = Array(FileSystem.split(file).name.utf8)
            hasher.update(withUnsafeBytes(of: UInt64(name.count).littleEndian, Array.init))
            hasher.update(name)
            try FileSystem.hash(file, into: &hasher, lengthFirst: true)
        }
        return hasher.hexDigest()
    }

    static func parseConfig(_ path: String) throws(CheckpointError) -> JSONValue {
        let text = try FileSystem.read(path, limit: 16 << 20)
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch {
            throw CheckpointError("checkpoint.bad_config", file: path, "invalid JSON: \(error.reason) at byte \(error.offset)")
        }
        guard case .object = value else {
            throw CheckpointError("checkpoint.bad_config", file: path, "config.json is not a JSON object")
        }
        return value
    }

    static func step(fromName name: String) -> Int? {
        for prefix in ["checkpoint-", "step-"] where name.hasPrefix(prefix) {
            let digits = name.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(digits)
        }
        return nil
    }

    /// The shard files an index lists, in first-listed order, each checked to stay inside `folder`.
    static func shards(_ index: String, in folder: String) throws(CheckpointError) -> (files: [String], names: [String], weightMap: [(tensor: String, shard: String)]) {
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("checkpoint.\(code)", file: index, detail)
        }
        let text = try FileSystem.read(index, limit: 100 << 20)
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch {
            throw fail("bad_index", "invalid JSON: \(error.reason) at byte \(error.offset)")
        }
        guard let map = json["weight_map"]?.objectValue else {
            throw fail("bad_index", "index has no 'weight_map' object")
        }
        let realFolder = FileSystem.realPath(folder)
        var names: [String] = []
        var files: [String] = []
        var weightMap: [(tensor: String, shard: String)] = []
        for (tensor, value) in map.entries {
            guard let shard = value.stringValue else {
                throw fail("bad_index", "weight_map entry for '\(tensor)' is not a file name")
            }
            weightMap.append((tensor, shard))
            if names.contains(shard) { continue }
            guard !shard.isEmpty, shard != ".", shard != "..", !shard.contains("/"), !shard.contains("\0") else {
                throw fail("bad_shard", "shard name '\(shard)' (for tensor '\(tensor)') must be a file name inside the checkpoint folder")
            }
            let file = folder + "/" + shard
            guard FileSystem.kind(file) == .regular else {
                throw fail("missing_shard", "shard '\(shard)' listed for tensor '\(tensor)' is not in the checkpoint folder")
            }
            if FileSystem.isSymbolicLink(file) {
                guard let target = FileSystem.realPath(file), let realFolder, target.hasPrefix(realFolder + "/") else {
                    throw fail("bad_shard", "shard '\(shard)' is a symbolic link that leaves the checkpoint folder")
                }
            }
            names.append(shard)
            files.append(file)
        }
        guard !files.isEmpty else { throw fail("bad_index", "weight_map lists no shards") }
        return (files, names, weightMap)
    }
}
