import Base
/// The checkpoint layout (docs/architecture.md, "Watched folder"), in one place: which entries of a run folder are
/// checkpoints and which step each carries, which files of a checkpoint are its content, and
/// where a sharded checkpoint lists its shards. The watcher and the readers both ask here.
///
/// A checkpoint is an HF Trainer folder `checkpoint-<step>/` (weights, maybe sharded behind an
/// `*.index.json`, plus `optimizer.pt`, `config.json` and a vision model's
/// `preprocessor_config.json`), a single `step-<N>.safetensors`
/// file, a `torch.save(model.state_dict())` file whose name ends in its step (`step-500.pt`),
/// a PyTorch Lightning `.ckpt` (not `last.ckpt`, which repeats another), or an Accelerate
/// `save_state` folder `checkpoint_<n>/` (weights plus `optimizer.bin`). Every other file in a
/// checkpoint folder (trainer state, scheduler, RNG state, training arguments) is not content,
/// and a state-dict-named file in a run folder that such tools write (`rng_state_0.pth`,
/// `optimizer_1.bin`, HF shards) is not a checkpoint.
///
/// Checkpoints sit in their run folder, or one of two nested folders (`NestedFolder`): the run's
/// `checkpoints/` (Lightning without a logger, Accelerate's automatic naming) holds `.ckpt` files
/// and `checkpoint_<n>/` folders of the run; Lightning's `lightning_logs/version_<N>/checkpoints/`
/// holds `.ckpt` files of a run of its own, `<run>/lightning_logs/version_<N>` (its steps restart),
/// whose settings are the run folder's.
public enum CheckpointLayout {
    /// How a checkpoint sits in its run folder.
    public enum Form: Sendable, Hashable {
        /// `checkpoint-<step>/`.
        case folder
        /// `step-<N>.safetensors`.
        case file
        /// A `torch.save` state dict `<name><N>.pt|.pth|.bin` (`step-500.pt`, `model_500.pth`).
        case stateDictFile
        /// A PyTorch Lightning checkpoint `<name>.ckpt`; its step is the file's `global_step`.
        case lightning
        /// An Accelerate `save_state` folder `checkpoint_<n>/` (`n` counts saves, not steps).
        case accelerateFolder

        /// Whether the checkpoint is a folder of files (else a single file).
        public var isFolder: Bool { self == .folder || self == .accelerateFolder }
    }

    static let folderPrefix = "checkpoint-"
    static let filePrefix = "step-"
    static let fileSuffix = ".safetensors"
    static let accelerateFolderPrefix = "checkpoint_"
    static let stateDictSuffixes = [".pt", ".pth", ".bin"]
    static let lightningSuffix = ".ckpt"

    /// Weight files, in the order a reader prefers them when a folder holds several.
    public static let weightFileNames = [
        "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json",
    ]
    /// Index files whose `weight_map` names the shards.
    public static let indexFileNames: Set<String> = ["model.safetensors.index.json", "pytorch_model.bin.index.json"]
    public static let optimizerFileName = "optimizer.pt"
    /// Accelerate's `save_state` name for (the first) optimizer's `state_dict`.
    public static let accelerateOptimizerFileName = "optimizer.bin"
    public static let configFileName = "config.json"
    /// A vision model's image preprocessing (HF image processors' `save_pretrained`).
    public static let preprocessorConfigFileName = "preprocessor_config.json"
    /// Stems (the name before its number and suffix) of the files that training tools write
    /// beside checkpoints and that are not state dicts of the model: HF Trainer's
    /// `rng_state_0.pth`, Accelerate's `optimizer_1.bin`, `scheduler_1.bin`, `sampler_1.bin`,
    /// `random_states_0.pkl`, `custom_checkpoint_0.pkl`, `dl_state_dict_1.bin`, `scaler.pt`.
    static let nonModelStems: Set<String> = [
        "rng_state", "random_states", "optimizer", "scheduler", "sampler", "scaler", "training_args",
        "custom_checkpoint", "dl_state_dict",
    ]

    /// A folder inside a run folder that holds checkpoints.
    public enum NestedFolder: Sendable, Hashable {
        /// `<run>/checkpoints/`: `.ckpt` files and `checkpoint_<n>/` folders of the run.
        case checkpoints
        /// `<run>/lightning_logs/version_<N>/checkpoints/`: `.ckpt` files of the run
        /// `<run>/lightning_logs/version_<N>`.
        case lightningVersion

        /// Whether a checkpoint of `form` in this folder belongs to it. An HF `checkpoint-<N>/`
        /// or `step-<N>.safetensors` in a folder named `checkpoints` is a run folder's own
        /// checkpoint (`output_dir="checkpoints"` with the watch root above it), so it is not.
        public func holds(_ form: Form) -> Bool {
            switch self {
            case .checkpoints: form == .lightning || form == .accelerateFolder
            case .lightningVersion: form == .lightning
            }
        }
    }

    public static let checkpointsFolderName = "checkpoints"
    public static let lightningLogsFolderName = "lightning_logs"
    static let lightningVersionPrefix = "version_"

    /// `version_<N>`, the folder of one Lightning logger version.
    public static func isLightningVersionName(_ name: String) -> Bool {
        digits(after: lightningVersionPrefix, in: name) != nil
    }

    // MARK: Checkpoints in a run folder

    /// What the run-folder entry `name` would be as a checkpoint, judged by its name only; nil
    /// for everything else (`tmp-checkpoint-*`, `trainer_state.json`, hidden files, …).
    public static func form(ofEntryNamed name: String) -> Form? {
        guard !name.hasPrefix(".") else { return nil }
        if name.hasPrefix(folderPrefix), name.count > folderPrefix.count { return .folder }
        if name.hasPrefix(filePrefix), name.hasSuffix(fileSuffix), name.count > filePrefix.count + fileSuffix.count {
            return .file
        }
        if name.hasPrefix(accelerateFolderPrefix) {
            return digits(after: accelerateFolderPrefix, in: name) != nil ? .accelerateFolder : nil
        }
        if name.hasSuffix(lightningSuffix), name.count > lightningSuffix.count {
            let stem = name.dropLast(lightningSuffix.count)
            // `last.ckpt`, `last-v1.ckpt`: Lightning's copy of the newest checkpoint.
            return stem == "last" || stem.hasPrefix("last-v") ? nil : .lightning
        }
        if let suffix = stateDictSuffixes.first(where: name.hasSuffix),
           trailingNumber(name.utf8.dropLast(suffix.utf8.count)) != nil,
           !isShardFileName(name), !nonModelStems.contains(stateDictStem(name.dropLast(suffix.count))) {
            return .stateDictFile
        }
        return nil
    }

    /// `stem` without its trailing number and the separators before it (`rng_state_0` →
    /// `rng_state`, `step-500` → `step`).
    private static func stateDictStem(_ stem: Substring) -> String {
        var rest = stem.utf8.dropLast(stem.utf8.reversed().prefix(while: isDigit).count)
        while let last = rest.last, last == UInt8(ascii: "_") || last == UInt8(ascii: "-") || last == UInt8(ascii: ".") {
            rest = rest.dropLast()
        }
        return String(decoding: rest, as: UTF8.self)
    }

    /// The training step in a checkpoint's name: `N` of `checkpoint-N` or `step-N` (of a file,
    /// after dropping `.safetensors`); nil for any other name. Decimal digits only, so
    /// `checkpoint--5` and `checkpoint-+5` carry no step; nil when the number overflows.
    public static func step(fromName name: String, form: Form) -> Int? {
        switch form {
        case .lightning:
            return nil
        case .stateDictFile:
            guard let suffix = stateDictSuffixes.first(where: name.hasSuffix) else { return nil }
            return trailingNumber(name.utf8.dropLast(suffix.utf8.count))
        case .accelerateFolder:
            return digits(after: accelerateFolderPrefix, in: name).flatMap(trailingNumber)
        case .folder, .file:
            break
        }
        var stem = Substring(name)
        if form == .file {
            guard stem.hasSuffix(fileSuffix) else { return nil }
            stem = stem.dropLast(fileSuffix.count)
        }
        for prefix in [folderPrefix, filePrefix] where stem.hasPrefix(prefix) {
            let digits = stem.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.utf8.allSatisfy(isDigit) else { return nil }
            return Int(digits)
        }
        return nil
    }

    // MARK: Content files

    /// Whether a file of a checkpoint folder named `name` is content by its name: a weights or
    /// index file, an HF shard (`model-00001-of-00003.safetensors`,
    /// `pytorch_model-00001-of-00003.bin`), `optimizer.pt`, `config.json` or
    /// `preprocessor_config.json`. Shards with other names are content when an index lists them.
    public static func isContentFileName(_ name: String) -> Bool {
        isContentFileName(name, form: .folder)
    }

    /// `isContentFileName` for a checkpoint folder of `form`: an Accelerate folder's optimizer
    /// is `optimizer.bin` (not `optimizer.pt`); its scheduler, sampler and RNG states are not
    /// content. Other forms as `isContentFileName(_:)`.
    public static func isContentFileName(_ name: String, form: Form) -> Bool {
        weightFileNames.contains(name) || name == optimizerFileName(for: form) || name == configFileName
            || name == preprocessorConfigFileName || isShardFileName(name)
    }

    /// The optimizer file a checkpoint folder of `form` keeps its optimizer's `state_dict` in.
    public static func optimizerFileName(for form: Form) -> String {
        form == .accelerateFolder ? accelerateOptimizerFileName : optimizerFileName
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
        func isNumber(_ part: Substring) -> Bool { !part.isEmpty && part.utf8.allSatisfy(isDigit) }
        return parts.count == 3 && isNumber(parts[0]) && parts[1] == "of" && isNumber(parts[2])
    }

    /// The names in a checkpoint folder's `listing` that are or may become content: every
    /// content file name and every shard an index in the listing lists. A superset of what
    /// `CheckpointFolder` reads, read with one small file per index: the watcher watches these
    /// to notice that a checkpoint changed. An index that is unreadable, still being written or
    /// malformed lists nothing here; the job that reads it reports the error.
    public static func candidateContentFileNames(in folder: String, listing: Set<String>) -> Set<String> {
        candidateContentFileNames(in: folder, listing: listing, form: .folder)
    }

    /// `candidateContentFileNames(in:listing:)` for a checkpoint folder of `form`.
    public static func candidateContentFileNames(in folder: String, listing: Set<String>, form: Form) -> Set<String> {
        var names = listing.filter { isContentFileName($0, form: form) }
        for index in indexFileNames where listing.contains(index) {
            guard let weightMap = try? weightMap(ofIndex: folder + "/" + index) else { continue }
            for (_, shard) in weightMap where isPlainFileName(shard) && listing.contains(shard) {
                names.insert(shard)
            }
        }
        return names
    }

    /// Whether the folder's content includes weights, so that it is complete enough to read.
    public static func hasWeights(_ names: some Sequence<String>) -> Bool {
        names.contains { weightFileNames.contains($0) }
    }

    // MARK: Shard indexes

    /// The `weight_map` of a shard index: (tensor, shard file name) in the file's order.
    static func weightMap(ofIndex path: String) throws(CheckpointError) -> [(tensor: String, shard: String)] {
        func fail(_ detail: String) -> CheckpointError { CheckpointError("checkpoint.bad_index", file: path, detail) }
        let json = try FileSystem.readJSON(path, limit: 100 << 20, code: "checkpoint.bad_index")
        guard let map = json["weight_map"]?.objectValue else { throw fail("index has no 'weight_map' object") }
        var entries: [(tensor: String, shard: String)] = []
        for (tensor, value) in map.entries {
            guard let shard = value.stringValue else {
                throw fail("weight_map entry for '\(tensor)' is not a file name")
            }
            entries.append((tensor, shard))
        }
        return entries
    }

    /// A name that stays inside its folder: not empty, not `.` or `..`, without `/` or NUL.
    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }

    /// The decimal digits that follow `prefix` to the end of `name`; nil when `name` does not
    /// start with `prefix` or anything else follows it (`checkpoint_12` → `12`).
    private static func digits(after prefix: String, in name: String) -> Substring.UTF8View? {
        guard name.hasPrefix(prefix) else { return nil }
        let digits = Substring(name).utf8.dropFirst(prefix.utf8.count)
        return !digits.isEmpty && digits.allSatisfy(isDigit) ? digits : nil
    }

    /// The decimal number that ends `stem` (`step-500` → 500); nil when it ends in no digit or
    /// the number overflows.
    private static func trailingNumber(_ stem: Substring.UTF8View) -> Int? {
        let digits = stem.reversed().prefix(while: isDigit)
        guard !digits.isEmpty else { return nil }
        return Int(String(decoding: digits.reversed(), as: UTF8.self))
    }

    /// The folder that holds a checkpoint's run settings (`volume.toml`, eval data, a run-level
    /// `config.json`): the parent of `path`, or for nested layouts (Lightning's
    /// `<run>/lightning_logs/version_<N>/checkpoints/`, Accelerate's `<run>/checkpoints/`) the
    /// folder above them. Judged by the names alone (`NestedFolder.holds`).
    public static func runFolder(ofCheckpoint path: String) -> String {
        let (parent, name) = FileSystem.split(path)
        guard let form = form(ofEntryNamed: name) else { return parent }
        let (aboveParent, parentName) = FileSystem.split(parent)
        guard parentName == checkpointsFolderName else { return parent }
        let (logs, versionName) = FileSystem.split(aboveParent)
        let (run, logsName) = FileSystem.split(logs)
        if NestedFolder.lightningVersion.holds(form), isLightningVersionName(versionName), logsName == lightningLogsFolderName {
            return run
        }
        return NestedFolder.checkpoints.holds(form) ? aboveParent : parent
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
