/// A Hugging Face `tokenizers` pipeline as a `tokenizer.json` describes it: added and special
/// tokens split out first, then the normalizer, the pre-tokenizer, the BPE model and the
/// post-processor. `encode` gives exactly the ids `tokenizers`' `Tokenizer.encode(text).ids`
/// gives. A component this reader does not implement is an error naming it
/// (`tokenizer.unsupported`), never a silent approximation.
public struct Tokenizer: Sendable {
    /// The file, for errors.
    public let source: String

    public init(path: String) throws(CheckpointError) {
        throw CheckpointError("tokenizer.unsupported", file: path, "not implemented yet")
    }

    /// Parses the `tokenizer.json` bytes; `source` names the file in errors.
    public init(json bytes: [UInt8], source: String) throws(CheckpointError) {
        throw CheckpointError("tokenizer.unsupported", file: source, "not implemented yet")
    }

    /// The ids of `text`, with the post-processor's special tokens when `addSpecialTokens`
    /// (as `tokenizers`' `encode(text, add_special_tokens=...)`).
    public func encode(_ text: String, addSpecialTokens: Bool = true) throws(CheckpointError) -> [Int32] {
        throw CheckpointError("tokenizer.unsupported", file: source, "not implemented yet")
    }

    /// The id of `token` (a vocabulary entry or an added token), as `token_to_id`.
    public func id(of token: String) -> Int32? { nil }
}
