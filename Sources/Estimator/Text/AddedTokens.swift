/// The `added_tokens` of `tokenizer.json`, split out of the text before anything else (the
/// library's `AddedVocabulary`): tokens with `normalized: false` are found in the raw text, the
/// others in each remaining piece after the normalizer ran, with their normalized content.
/// Matching is leftmost-longest; `single_word`, `lstrip` and `rstrip` act as in the library.
struct AddedTokens: Sendable {
    struct Token: Sendable, Equatable {
        var content: String
        var singleWord = false
        var lstrip = false
        var rstrip = false
        var normalized = true
        var special = false
    }

    /// Content → id, for `id(of:)`.
    private(set) var ids: [String: Int32] = [:]
    private var tokens: [Int32: Token] = [:]
    private var rawTrie = Trie()
    private var normalizedTrie = Trie()

    /// Adds `list` in order as the library's `add_tokens` does: a token already in the vocabulary
    /// (or already added) keeps that id; a new one gets the next id after the vocabulary.
    init(_ list: [Token], vocab: [String: Int32], normalizer: TextNormalizer?, source: String) throws(CheckpointError) {
        var nextId = Int32(clamping: vocab.count)
        for token in list where !token.content.isEmpty {
            if let id = ids[token.content], tokens[id] == token { continue }
            let id: Int32
            if let known = ids[token.content] ?? vocab[token.content] {
                id = known
            } else {
                id = nextId
                nextId += 1
            }
            ids[token.content] = id
            tokens[id] = token
        }
        for (id, token) in tokens.sorted(by: { $0.key < $1.key }) {
            if token.normalized {
                let pattern = try normalizer?.normalize(token.content, source: source) ?? token.content
                try normalizedTrie.insert(pattern, id: id, source: source)
            } else {
                try rawTrie.insert(token.content, id: id, source: source)
            }
        }
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// The pieces of `text`, added tokens split out and the rest normalized.
    func extract(_ text: String, normalizer: TextNormalizer?, source: String) throws(CheckpointError) -> [TextPiece] {
        let whole = TextPiece(text)
        var pieces: [TextPiece] = []
        for piece in split(whole, with: rawTrie) where !piece.isEmpty {
            if piece.token != nil {
                pieces.append(piece)
                continue
            }
            var normalized = piece
            try normalizer?.normalize(&normalized, source: source)
            for part in split(normalized, with: normalizedTrie) where !part.isEmpty { pieces.append(part) }
        }
        return pieces
    }

    /// The library's `find_matches` + `split_with_indices` on one piece.
    private func split(_ piece: TextPiece, with trie: Trie) -> [TextPiece] {
        guard !trie.isEmpty, !piece.isEmpty else { return [piece] }
        let s = piece.scalars
        var result: [TextPiece] = []
        var startOffset = 0
        for match in trie.leftmostLongestMatches(in: s) {
            var start = match.range.lowerBound
            var stop = match.range.upperBound
            guard let token = tokens[match.id] else { continue }
            if token.singleWord {
                let startSpace = start == 0 || !UnicodeTables.isWordUTS18(s[start - 1])
                let stopSpace = stop == s.count || !UnicodeTables.isWordUTS18(s[stop])
                if !startSpace || !stopSpace { continue }
            }
            if token.lstrip {
                var newStart = start
                while newStart > 0, UnicodeTables.isWhitespace(s[newStart - 1]) { newStart -= 1 }
                start = max(newStart, startOffset)
            }
            if token.rstrip {
                while stop < s.count, UnicodeTables.isWhitespace(s[stop]) { stop += 1 }
            }
            if startOffset < start { result.append(piece.slice(startOffset..<start)) }
            var added = piece.slice(start..<stop)
            added.token = match.id
            result.append(added)
            startOffset = stop
        }
        if startOffset != s.count { result.append(piece.slice(startOffset..<s.count)) }
        return result
    }
}

/// Added-token contents by their scalars, for leftmost-longest search.
private struct Trie: Sendable {
    private var children: [[UInt32: Int32]] = [[:]]
    private var values: [Int32?] = [nil]

    var isEmpty: Bool { children[0].isEmpty }

    mutating func insert(_ content: String, id: Int32, source: String) throws(CheckpointError) {
        guard !content.isEmpty else {
            throw CheckpointError("tokenizer.malformed", file: source, "added token \(id) is empty after normalization")
        }
        var node = 0
        for s in content.unicodeScalars {
            if let next = children[node][s.value] {
                node = Int(next)
            } else {
                children.append([:])
                values.append(nil)
                children[node][s.value] = Int32(children.count - 1)
                node = children.count - 1
            }
        }
        guard values[node] == nil else {
            throw CheckpointError("tokenizer.malformed", file: source, "added tokens \(values[node]!) and \(id) match the same text")
        }
        values[node] = id
    }

    /// Non-overlapping matches, each the longest one starting at the leftmost possible position.
    func leftmostLongestMatches(in s: [UInt32]) -> [(range: Range<Int>, id: Int32)] {
        var matches: [(range: Range<Int>, id: Int32)] = []
        var i = 0
        while i < s.count {
            var node = 0
            var best: (end: Int, id: Int32)?
            var j = i
            while j < s.count, let next = children[node][s[j]] {
                node = Int(next)
                j += 1
                if let id = values[node] { best = (j, id) }
            }
            if let best {
                matches.append((i..<best.end, best.id))
                i = best.end
            } else {
                i += 1
            }
        }
        return matches
    }
}
