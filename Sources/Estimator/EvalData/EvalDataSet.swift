import Base
import Hashing

/// The eval data of one checkpoint's estimate, loaded as the rows the KL cost is measured on,
/// with the provenance that identifies it in the estimate's key.
///
/// Safetensors eval files are used as they are and identified by their bytes. Text is tokenized
/// with the checkpoint's `tokenizer.json` (else the run folder's); text and token files are
/// packed by `TokenPacking` with the EOS token from `tokenizer_config.json` (else
/// `config.json`'s `eos_token_id`). Their fingerprint covers every file that decides the rows
/// (data, tokenizer, tokenizer config, model config) and the packing settings, so the same
/// text packed two ways, or tokenized by another tokenizer, is other eval data.
public struct EvalDataSet: Sendable {
    public let spec: EvalDataSpec
    /// The data file (for an indexed dataset, its path prefix).
    public let path: String
    public let data: EvalData
    /// The safetensors file's `labels` (one class per row); nil for packed tokens and files without.
    public let labels: [Int]?
    public let provenance: EvalProvenance
    /// What identifies the eval data in every estimate's key.
    public var fingerprint: String { provenance.fingerprint }

    public static let tokenizerFileName = "tokenizer.json"
    public static let tokenizerConfigFileName = "tokenizer_config.json"

    /// Loads the data `spec` names for the checkpoint `checkpoint` of the run in `runFolder`.
    public init(spec: EvalDataSpec, runFolder: String, checkpoint: CheckpointFolder?) throws(CheckpointError) {
        self.spec = spec
        path = spec.path(runFolder: runFolder)
        let sources = try EvalSources(spec: spec, runFolder: runFolder, checkpoint: checkpoint)
        guard spec.isPacked else {
            let file = try EvalDataFile(path: path)
            data = file.data
            labels = file.labels
            provenance = EvalProvenance(spec: spec, fingerprint: file.fingerprint, dataHashes: [file.fingerprint], tokenizer: nil, eos: nil, data: file.data)
            return
        }
        // Token files need the tokenizer only to look up an EOS token named in tokenizer_config.json.
        var loaded: Tokenizer?
        func tokenizer() throws(CheckpointError) -> Tokenizer? {
            if loaded == nil, let path = sources.tokenizer { loaded = try Tokenizer(path: path) }
            return loaded
        }
        let eos = try Self.eos(tokenizer: tokenizer, sources: sources, config: checkpoint?.config)
        let packing = spec.packing(eos: eos)
        let rows: Tensor<Int32>
        switch spec.form {
        case .text:
            guard let tokenizer = try tokenizer() else {
                throw CheckpointError("eval.no_tokenizer", file: path,
                                      "text eval data needs the run's \(Self.tokenizerFileName), in the checkpoint folder or the run folder; neither has one")
            }
            // Tokenized only as far as packing needs: each document adds at least its ids.
            var documents: [[Int32]] = []
            var count = 0
            for text in try TextDocuments.read(path, documents: spec.documents) where count < packing.tokensNeeded {
                documents.append(try tokenizer.encode(text))
                count += documents[documents.count - 1].count
            }
            rows = try packing.pack(documents: documents, source: path)
        case .tokens:
            switch try TokenFile.read(path, documents: spec.documents, tokenLimit: packing.tokensNeeded) {
            case .rows(let given): rows = given
            case .stream(let ids): rows = try packing.pack(stream: ids, source: path)
            case .documents(let documents): rows = try packing.pack(documents: documents, source: path)
            }
        case .tensors:
            preconditionFailure("tensors are not packed")
        }
        data = .tokens(ids: rows, mask: nil)
        labels = nil
        let (fingerprint, hashes) = try sources.fingerprint(spec: spec)
        let tokenizerHash = hashes.first { $0.role == "tokenizer" }?.hash
        provenance = EvalProvenance(spec: spec, fingerprint: fingerprint, dataHashes: hashes.filter { $0.role == "data" }.compactMap(\.hash),
                                    tokenizer: sources.tokenizer.flatMap { path in tokenizerHash.map { (Self.relative(path, to: runFolder), $0) } },
                                    eos: eos, data: data)
    }

    /// The fingerprint the data of `spec` would have, from the files' bytes without parsing
    /// them (what the daemon keys a job by when it schedules it). `hash` gives a file's hex
    /// SHA-256 (a cache may answer).
    public static func fingerprint(
        spec: EvalDataSpec, runFolder: String, checkpoint: CheckpointFolder?,
        hash: (String) throws(CheckpointError) -> String = EvalDataFile.fingerprint(ofFile:)
    ) throws(CheckpointError) -> String {
        let sources = try EvalSources(spec: spec, runFolder: runFolder, checkpoint: checkpoint)
        guard spec.isPacked else { return try hash(sources.data[0]) }
        return try sources.fingerprint(spec: spec, hash: hash).fingerprint
    }

    /// `path` inside `folder` as a relative path; other paths as they are.
    private static func relative(_ path: String, to folder: String) -> String {
        path.hasPrefix(folder + "/") ? String(path.dropFirst(folder.count + 1)) : path
    }

    /// The id put between documents: `tokenizer_config.json`'s `eos_token` (a string or
    /// `{"content": …}`) looked up in the tokenizer, else `config.json`'s `eos_token_id` (the
    /// first, when it is a list), else none.
    static func eos(tokenizer: () throws(CheckpointError) -> Tokenizer?, sources: EvalSources, config: JSONValue?) throws(CheckpointError) -> Int32? {
        if let configPath = sources.tokenizerConfig {
            let json = try FileSystem.readJSON(configPath, limit: 16 << 20, code: "eval.bad_tokenizer_config")
            let eos = json["eos_token"]
            if let name = eos?.stringValue ?? eos?["content"]?.stringValue {
                guard let tokenizer = try tokenizer() else {
                    throw CheckpointError("eval.bad_tokenizer_config", file: configPath,
                                          "eos_token '\(name)' needs \(tokenizerFileName) beside it to become an id")
                }
                guard let id = tokenizer.id(of: name) else {
                    throw CheckpointError("eval.bad_tokenizer_config", file: configPath,
                                          "eos_token '\(name)' is not a token of \(tokenizer.source)")
                }
                return id
            }
        }
        guard let value = config?["eos_token_id"], !value.isNull else { return nil }
        guard let id = value.intValue ?? value.arrayValue?.first?.intValue, id >= 0, id <= Int(Int32.max) else {
            throw CheckpointError("eval.bad_eos", file: sources.config, "config.json eos_token_id is not a token id")
        }
        return Int32(id)
    }
}

/// The files that decide a checkpoint's eval rows.
struct EvalSources: Sendable {
    /// The data file, or an indexed dataset's `.bin` and `.idx`.
    var data: [String]
    var tokenizer: String?
    var tokenizerConfig: String?
    /// The model's `config.json` (its `eos_token_id`).
    var config: String?

    init(spec: EvalDataSpec, runFolder: String, checkpoint: CheckpointFolder?) throws(CheckpointError) {
        let path = spec.path(runFolder: runFolder)
        guard let files = spec.files(runFolder: runFolder), !files.isEmpty else {
            throw CheckpointError("tokens.unknown_form", file: path, "not a token file: use .npy, .jsonl, or the path prefix of an indexed dataset's .bin and .idx")
        }
        for file in files where FileSystem.kind(file) != .regular {
            throw CheckpointError(CheckpointError.Code.missingEvalData, file: file, "the eval data file is not there")
        }
        data = files
        guard spec.isPacked else { return }
        // The checkpoint's own tokenizer first (HF Trainer saves one into every checkpoint).
        var folders: [String] = []
        if let checkpoint, FileSystem.kind(checkpoint.path) == .directory { folders.append(checkpoint.path) }
        folders.append(runFolder)
        func find(_ name: String) -> String? {
            folders.lazy.map { $0 + "/" + name }.first { FileSystem.kind($0) == .regular }
        }
        tokenizer = find(EvalDataSet.tokenizerFileName)
        tokenizerConfig = find(EvalDataSet.tokenizerConfigFileName)
        config = checkpoint?.configPath
    }

    /// The hash of every source file by role (`data` once per data file), and the SHA-256 over
    /// the form, those hashes and the packing settings.
    func fingerprint(spec: EvalDataSpec, hash: (String) throws(CheckpointError) -> String = EvalDataFile.fingerprint(ofFile:))
        throws(CheckpointError) -> (fingerprint: String, hashes: [(role: String, hash: String?)]) {
        var hashes: [(role: String, hash: String?)] = []
        for file in data { hashes.append(("data", try hash(file))) }
        for (role, file) in [("tokenizer", tokenizer), ("tokenizer_config", tokenizerConfig), ("config", config)] {
            hashes.append((role, try file.map { (file) throws(CheckpointError) in try hash(file) }))
        }
        var lines = ["volumed eval data 1", "form \(spec.form.rawValue)"]
        lines += hashes.map { "\($0.role) \($0.hash ?? "none")" }
        let packing = spec.packing(eos: nil)
        lines.append("sequence_length \(packing.sequenceLength)")
        lines.append("sequences \(packing.sequences)")
        lines.append("documents \(spec.documents.map(EvalDataSpec.documentsText) ?? "all")")
        var hasher = SHA256()
        hasher.update(Array(lines.joined(separator: "\n").utf8))
        return (hasher.hexDigest(), hashes)
    }
}
