/// Held-out text as researchers keep it: a text file (one document: the whole file) or a
/// `.jsonl` file with a string `text` field on every line (one document per line).
public enum TextDocuments {
    /// The documents of `path`, in file order. `documents` keeps only that range of them
    /// (document indices, for `.jsonl`); an empty result is an error.
    public static func read(_ path: String, documents: Range<Int>? = nil) throws(CheckpointError) -> [String] {
        throw CheckpointError("text.unsupported", file: path, "not implemented yet")
    }
}
