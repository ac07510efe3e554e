import Base
import Hashing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One checkpoint as the estimator reads it (the layout: `CheckpointLayout`): an HF Trainer
/// folder, a single `.safetensors` file, a `torch.save` state dict (`.pt`, `.pth`, `.bin`), a
/// Lightning `.ckpt` or an Accelerate `save_state` folder, with its weights, optimizer state and
/// config. Its run folder is `CheckpointLayout.runFolder(ofCheckpoint:)`. Only the content files
/// are read; every other file is ignored.
///
/// A single-file checkpoint, and an Accelerate folder without a `config.json` of its own, take
/// the run folder's `config.json`. That file is a run setting like `volume.toml`, not checkpoint
/// content: it is not fingerprinted (one edit would change every checkpoint's fingerprint while
/// the watcher, which watches the checkpoint's own files, saw nothing). `preprocessor_config.json`
/// (how a vision model's raw eval images are preprocessed; HF Trainer saves it into every
/// checkpoint) is read the same way: the checkpoint's own is content, else the run folder's is
/// a setting.
public struct CheckpointFolder: Sendable {
    public enum WeightFiles: Sendable, Equatable {
        case safetensors(String)
        case safetensorsShards(index: String, shards: [String])
        case pytorch(String)
        case pytorchShards(index: String, shards: [String])
        /// A Lightning `.ckpt`: weights, step and optimizer state in one file.
        case lightning(String)
    }

    /// The folder, or the single file.
    public let path: String
    public let runFolder: String
    /// How the checkpoint is laid out: `.file` for any `.safetensors` file, `.stateDictFile` for
    /// any `.pt`/`.pth`/`.bin` file, `.lightning` for any `.ckpt` file, `.accelerateFolder` for a
    /// `checkpoint_<n>` folder, else `.folder`.
    public let form: CheckpointLayout.Form
    /// `N` from a `checkpoint-<N>`, `step-<N>`, `<name><N>.pt` or `checkpoint_<N>` name, a
    /// Lightning file's `global_step`; nil for any other name.
    public let step: Int?
    public let weightFiles: WeightFiles
    public let optimizerPath: String?
    /// The checkpoint's `config.json`, else (single files, Accelerate folders) the run folder's.
    public let configPath: String?
    /// `config.json` parsed, when there is one.
    public let config: JSONValue?
    /// Whether `configPath` is the checkpoint's own (content) rather than the run folder's.
    private let configIsContent: Bool
    /// The checkpoint's `preprocessor_config.json`, else the run folder's; nil when neither has one.
    public let preprocessorConfigPath: String?
    /// Whether `preprocessorConfigPath` is the checkpoint's own (content).
    private let preprocessorIsContent: Bool

    public init(path given: String) throws(CheckpointError) {
        var path = given
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        let name = FileSystem.split(path).name
        self.path = path
        self.runFolder = Self.runFolder(of: path)
        switch FileSystem.kind(path) {
        case .missing:
            throw CheckpointError(FileError(path: path, operation: "open", reason: .system(.noSuchFileOrDirectory)))
        case .regular where name.hasSuffix(CheckpointLayout.lightningSuffix):
            let checkpoint = try LightningCheckpoint(path: path)
            form = .lightning
            step = checkpoint.globalStep
            weightFiles = .lightning(path)
            optimizerPath = checkpoint.hasOptimizerState ? path : nil
            // The model's config.json is the run's: Lightning saves none of its own.
            configIsContent = false
            (configPath, config) = try Self.runConfig(runFolder)
            preprocessorIsContent = false
            preprocessorConfigPath = Self.runPreprocessorConfig(runFolder)
        case .regular:
            if name.hasSuffix(".safetensors") {
                form = .file
                weightFiles = .safetensors(path)
            } else if CheckpointLayout.stateDictSuffixes.contains(where: name.hasSuffix) {
                form = .stateDictFile
                weightFiles = .pytorch(path)
            } else {
                throw CheckpointError("checkpoint.unsupported_file", file: path, "a single-file checkpoint must be a .safetensors file or a torch.save state dict (.pt, .pth, .bin)")
            }
            step = CheckpointLayout.step(fromName: name, form: form)
            optimizerPath = nil
            configIsContent = false
            (configPath, config) = try Self.runConfig(runFolder)
            preprocessorIsContent = false
            preprocessorConfigPath = Self.runPreprocessorConfig(runFolder)
        case .directory:
            form = CheckpointLayout.form(ofEntryNamed: name) == .accelerateFolder ? .accelerateFolder : .folder
            step = CheckpointLayout.step(fromName: name, form: form)
            let folder = path
            func file(_ name: String) -> String? {
                let full = folder + "/" + name
                return FileSystem.kind(full) == .regular ? full : nil
            }
            guard let weights = CheckpointLayout.weightFileNames.first(where: { file($0) != nil }) else {
                throw CheckpointError("checkpoint.no_weights", file: path, "no weights: none of \(CheckpointLayout.weightFileNames.joined(separator: ", ")) is in the folder")
            }
            let weightsPath = folder + "/" + weights
            switch weights {
            case "model.safetensors": weightFiles = .safetensors(weightsPath)
            case "model.safetensors.index.json": weightFiles = .safetensorsShards(index: weightsPath, shards: try Self.shards(weightsPath, in: folder).files)
            case "pytorch_model.bin": weightFiles = .pytorch(weightsPath)
            default: weightFiles = .pytorchShards(index: weightsPath, shards: try Self.shards(weightsPath, in: folder).files)
            }
            optimizerPath = file(CheckpointLayout.optimizerFileName(for: form))
            if let own = file(CheckpointLayout.configFileName) {
                configIsContent = true
                configPath = own
                config = try Self.parseConfig(own)
            } else if form == .accelerateFolder {
                configIsContent = false
                (configPath, config) = try Self.runConfig(runFolder)
            } else {
                configIsContent = false
                configPath = nil
                config = nil
            }
            if let own = file(CheckpointLayout.preprocessorConfigFileName) {
                preprocessorIsContent = true
                preprocessorConfigPath = own
            } else {
                preprocessorIsContent = false
                preprocessorConfigPath = Self.runPreprocessorConfig(runFolder)
            }
        case .other:
            throw CheckpointError("checkpoint.unsupported_file", file: path, "not a checkpoint folder or .safetensors file")
        }
    }

    /// The weights as one store (shards merged). For the forms a plain training loop writes
    /// (`torch.save` state dicts, Accelerate folders), names lose the wrapper prefixes
    /// `module.` and `_orig_mod.` (`StateDictNames`); HF Trainer checkpoints are read as saved.
    public func weights() throws(CheckpointError) -> any TensorStore {
        let store = try storedWeights()
        switch form {
        case .stateDictFile, .accelerateFolder: return try UnwrappedTensorStore(store)
        case .folder, .file, .lightning: return store
        }
    }

    private func storedWeights() throws(CheckpointError) -> any TensorStore {
        switch weightFiles {
        case .safetensors(let file):
            return try SafeTensorsFile(path: file)
        case .pytorch(let file):
            return try TorchStateDict(path: file)
        case .lightning(let file):
            return try LightningCheckpoint(path: file).weights
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

    /// The content files (weights, index, shards, optimizer, config, preprocessor config), sorted
    /// by file name. A Lightning checkpoint's is its one file (the config is the run's setting).
    public var contentFiles: [String] {
        var files: [String] = []
        switch weightFiles {
        case .lightning(let file): return [file]
        case .safetensors(let file), .pytorch(let file): files = [file]
        case .safetensorsShards(let index, let shards), .pytorchShards(let index, let shards): files = [index] + shards
        }
        if let optimizerPath { files.append(optimizerPath) }
        if let configPath, configIsContent { files.append(configPath) }
        if let preprocessorConfigPath, preprocessorIsContent { files.append(preprocessorConfigPath) }
        return files.sorted { FileSystem.split($0).name.utf8.lexicographicallyPrecedes(FileSystem.split($1).name.utf8) }
    }

    /// The content files' names, in `contentFiles`' order.
    public var contentFileNames: [String] { contentFiles.map { FileSystem.split($0).name } }

    /// The run folder of the checkpoint at `path` (`CheckpointLayout.runFolder(ofCheckpoint:)`).
    public static func runFolder(of path: String) -> String { CheckpointLayout.runFolder(ofCheckpoint: path) }

    /// One of Adam's moments for `layout`: from `optimizer.pt`, or from a Lightning file's
    /// `optimizer_states[0]` in its module's parameter order. `optimizer.no_state` when there is
    /// no Adam state (step 0).
    public func adamMoment(_ which: AdamMoment, for layout: ParameterLayout) throws(CheckpointError) -> [Float] {
        guard let optimizerPath else {
            throw CheckpointError(CheckpointError.Code.noAdamState, file: path, "no optimizer state in the checkpoint")
        }
        if case .lightning(let file) = weightFiles {
            return try LightningCheckpoint(path: file).adamMoment(which, for: layout)
        }
        return try OptimizerState(path: optimizerPath).moment(which, for: layout)
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

    /// The run folder's `config.json` and its parsed value; nils when there is none.
    static func runConfig(_ runFolder: String) throws(CheckpointError) -> (path: String?, config: JSONValue?) {
        let path = runFolder + "/" + CheckpointLayout.configFileName
        guard FileSystem.kind(path) == .regular else { return (nil, nil) }
        return (path, try parseConfig(path))
    }

    /// The run folder's `preprocessor_config.json`, nil when there is none.
    static func runPreprocessorConfig(_ runFolder: String) -> String? {
        let path = runFolder + "/" + CheckpointLayout.preprocessorConfigFileName
        return FileSystem.kind(path) == .regular ? path : nil
    }

    static func parseConfig(_ path: String) throws(CheckpointError) -> JSONValue {
        let value = try FileSystem.readJSON(path, limit: 16 << 20, code: "checkpoint.bad_config")
        guard case .object = value else {
            throw CheckpointError("checkpoint.bad_config", file: path, "config.json is not a JSON object")
        }
        return value
    }

    /// The shard files an index lists, in first-listed order, each checked to stay inside `folder`.
    static func shards(_ index: String, in folder: String) throws(CheckpointError) -> (files: [String], names: [String], weightMap: [(tensor: String, shard: String)]) {
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("checkpoint.\(code)", file: index, detail)
        }
        let realFolder = FileSystem.realPath(folder)
        var names: [String] = []
        var files: [String] = []
        var weightMap: [(tensor: String, shard: String)] = []
        for (tensor, shard) in try CheckpointLayout.weightMap(ofIndex: index) {
            weightMap.append((tensor, shard))
            if names.contains(shard) { continue }
            guard CheckpointLayout.isPlainFileName(shard) else {
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
