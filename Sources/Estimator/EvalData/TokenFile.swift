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
    /// indexed datasets; an error for `.npy`). An indexed dataset's documents stop once they
    /// hold `tokenLimit` ids.
    public static func read(_ path: String, documents: Range<Int>? = nil, tokenLimit: Int? = nil) throws(CheckpointError) -> TokenSource {
        guard let files = files(path) else {
            throw CheckpointError("tokens.unsupported", file: path,
                                  "not a token file: token ids are read from .npy, .jsonl (input_ids), or an indexed dataset named by its prefix (or its .bin or .idx)")
        }
        if files.count == 2 {
            return .documents(try IndexedDataset(prefix: String(files[0].dropLast(4))).documents(documents, tokenLimit: tokenLimit))
        }
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw CheckpointError(error) }
        if Self.hasSuffix(path, ".jsonl") {
            return .documents(try TokenJSONLines.documents(in: file, selecting: documents))
        }
        if let documents {
            throw CheckpointError("tokens.documents_unsupported", file: path,
                                  "documents \(EvalDataSpec.documentsText(documents)) cannot be picked from a .npy file, which holds rows or one stream, not documents")
        }
        return try NumpyArray(file: file).tokenSource()
    }

    /// The files whose bytes make up the data named by `path`: `[path]`, or `[prefix.bin,
    /// prefix.idx]` for an indexed dataset; nil when `path` names none of the forms.
    ///
    /// An indexed dataset is named by its prefix (`data/pile_text_document`) or either file
    /// spelled out; a name with another extension (`eval.txt`, a prefix such as `pile.val`)
    /// is none of the forms: write a dotted prefix with its `.idx`.
    public static func files(_ path: String) -> [String]? {
        if hasSuffix(path, ".npy") || hasSuffix(path, ".jsonl") {
            return name(of: path).count > (hasSuffix(path, ".npy") ? 4 : 6) ? [path] : nil
        }
        var prefix = Substring(path)
        if hasSuffix(path, ".bin") || hasSuffix(path, ".idx") {
            prefix = prefix.dropLast(4)
        } else if hasExtension(name(of: path)) {
            return nil
        }
        guard !name(of: prefix).isEmpty else { return nil }
        return [prefix + ".bin", prefix + ".idx"]
    }

    private static func hasSuffix(_ path: String, _ suffix: String) -> Bool {
        path.lowercased().hasSuffix(suffix)
    }

    /// The last path component.
    private static func name(of path: some StringProtocol) -> Substring {
        let text = Substring(path)
        guard let slash = text.lastIndex(of: "/") else { return text }
        return text[text.index(after: slash)...]
    }

    /// A short alphanumeric extension such as `.txt` or `.safetensors`; `_text_document`
    /// after a dot is part of a Megatron prefix, not an extension.
    private static func hasExtension(_ name: Substring) -> Bool {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        let ext = name[name.index(after: dot)...]
        return !ext.isEmpty && ext.count <= 12 && ext.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }
}
