/// A `Split` or `Replace` pattern as `tokenizer.json` writes it: `{"Regex": "…"}` (Oniguruma
/// syntax) or `{"String": "…"}` (matched literally).
struct TokenizerPattern: Sendable {
    let description: String
    private let matcher: PatternMatcher

    init(regex: String) throws(PatternError) {
        matcher = try PatternMatcher(PatternParser.parse(regex))
        description = "Regex \(regex)"
    }

    init(literal: String) throws(PatternError) {
        matcher = try PatternMatcher(PatternParser.literal(literal))
        description = "String \(literal)"
    }

    /// The matches in `scalars`, in order.
    func matchRanges(in scalars: [UInt32], source: String) throws(CheckpointError) -> [Range<Int>] {
        do {
            return try matcher.matchRanges(in: scalars)
        } catch {
            throw CheckpointError("tokenizer.pattern_too_complex", file: source,
                                  "pattern \(description) needs too many steps on a piece of \(scalars.count) characters")
        }
    }

    func partition(_ piece: TextPiece, source: String) throws(CheckpointError) -> PieceMatches {
        PieceMatching.partition(try matchRanges(in: piece.scalars, source: source), count: piece.scalars.count)
    }

    /// The GPT-2 pattern the ByteLevel pre-tokenizer uses when `use_regex` is true (compiled
    /// per tokenizer rather than once: a global would hold it for the process's lifetime).
    static func byteLevel() -> TokenizerPattern {
        do {
            return try TokenizerPattern(regex: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#)
        } catch {
            fatalError("the GPT-2 pattern does not compile: \(error.message)")
        }
    }
}
