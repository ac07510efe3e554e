import Base

/// A Hugging Face `tokenizers` pipeline as a `tokenizer.json` describes it: added and special
/// tokens split out first, then the normalizer, the pre-tokenizer, the BPE model and the
/// post-processor. `encode` gives exactly the ids `tokenizers`' `Tokenizer.encode(text).ids`
/// gives. A component this reader does not implement is an error naming it
/// (`tokenizer.unsupported`), never a silent approximation.
///
/// The file's `truncation` and `padding` are ignored, as `transformers` ignores them when a
/// tokenizer is called without those options; the `decoder` is not needed for encoding.
public struct Tokenizer: Sendable {
    /// The file, for errors.
    public let source: String
    private let addedTokens: AddedTokens
    private let normalizer: TextNormalizer?
    private let preTokenizer: PreTokenizer?
    private let model: BPEModel
    private let postProcessor: PostProcessor?

    public init(path: String) throws(CheckpointError) {
        let bytes = try FileSystem.read(path, limit: TokenizerFile.Limits.fileBytes)
        try self.init(json: bytes, source: path)
    }

    /// Parses the `tokenizer.json` bytes; `source` names the file in errors.
    public init(json bytes: [UInt8], source: String) throws(CheckpointError) {
        self.source = source
        guard bytes.count <= TokenizerFile.Limits.fileBytes else {
            throw CheckpointError("tokenizer.too_large", file: source, "\(bytes.count) bytes, more than \(TokenizerFile.Limits.fileBytes)")
        }
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes)
        } catch {
            throw CheckpointError("tokenizer.malformed", file: source, error.description)
        }
        let file = TokenizerFile(source: source)
        let o = try file.object(root, "tokenizer.json")
        if let version = o["version"], !version.isNull {
            let v = try file.string(version, "version")
            guard v == "1.0" else { throw file.unsupported("version", "tokenizer.json version \(v) (supported: 1.0)") }
        }
        normalizer = try file.normalizer(o["normalizer"] ?? .null, "normalizer")
        preTokenizer = try file.preTokenizer(o["pre_tokenizer"] ?? .null, "pre_tokenizer")
        guard let modelValue = o["model"] else { throw file.malformed("model", "missing") }
        model = try file.model(modelValue, "model")
        addedTokens = try AddedTokens(file.addedTokens(o["added_tokens"], "added_tokens"), vocab: model.vocab,
                                      normalizer: normalizer, source: source)
        let vocab = model.vocab, added = addedTokens
        postProcessor = try file.postProcessor(o["post_processor"] ?? .null, "post_processor") { added.ids[$0] ?? vocab[$0] }
    }

    /// The ids of `text`, with the post-processor's special tokens when `addSpecialTokens`
    /// (as `tokenizers`' `encode(text, add_special_tokens=...)`).
    public func encode(_ text: String, addSpecialTokens: Bool = true) throws(CheckpointError) -> [Int32] {
        var pieces = try addedTokens.extract(text, normalizer: normalizer, source: source)
        if let preTokenizer { pieces = try preTokenizer.preTokenize(pieces, source: source) }
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3)
        for piece in pieces {
            if let token = piece.token {
                ids.append(token)
            } else {
                model.tokenize(piece.scalars, into: &ids)
            }
        }
        guard let postProcessor else { return ids }
        return postProcessor.process(ids, addSpecialTokens: addSpecialTokens)
    }

    /// The id of `token` (a vocabulary entry or an added token), as `token_to_id`.
    public func id(of token: String) -> Int32? {
        addedTokens.ids[token] ?? model.vocab[token]
    }
}
