/// Token ids as a file already holds them, before packing.
public enum TokenSource: Sendable {
    /// Rows of equal length, used as they are: a rank-2 `.npy` `[N, T]`.
    case rows(Tensor<Int32>)
    /// One stream of ids, cut into rows by `TokenPacking`: a flat `.npy`.
    case stream([Int32])
    /// Documents, joined and cut by `TokenPacking`: `.jsonl` lines with `input_ids`, or the
    /// documents of a GPT-NeoX/Megatron indexed dataset.
    case documents([[Int32]])
}

/// Token files (`[data] tokens`): `.npy` (int32, int64 or uint16), `.jsonl` with an
/// `input_ids` list per line, or a GPT-NeoX/Megatron indexed dataset named by the path prefix
/// of its `.bin` and `.idx`.
public enum TokenFile {
    /// The token ids in `path`. `documents` keeps only that range of documents (`.jsonl` and
    /// indexed datasets; an error for `.npy`).
    public static func read(_ path: String, documents: Range<Int>? = nil) throws(CheckpointError) -> TokenSource {
        throw CheckpointError("tokens.unsupported", file: path, "not implemented yet")
    }

    /// The files whose bytes make up the data named by `path`: `[path]`, or `[prefix.bin,
    /// prefix.idx]` for an indexed dataset; nil when `path` names none of the forms.
    public static func files(_ path: String) -> [String]? {
        nil
    }
}
