/// A `pre_tokenizer` of `tokenizer.json`: ByteLevel, Split, Metaspace, Digits, and a Sequence
/// of these. Each one splits the pieces that are not added tokens further; empty pieces are
/// dropped, as the library drops them.
enum PreTokenizer: Sendable {
    /// With GPT-2's pattern when `use_regex` is true.
    case byteLevel(addPrefixSpace: Bool, pattern: TokenizerPattern?)
    case split(TokenizerPattern, behavior: SplitBehavior, invert: Bool)
    case metaspace(replacement: UInt32, prepend: PrependScheme, split: Bool)
    case digits(individual: Bool)
    case sequence([PreTokenizer])

    enum PrependScheme: String, Sendable { case first, never, always }

    func preTokenize(_ pieces: [TextPiece], source: String) throws(CheckpointError) -> [TextPiece] {
        switch self {
        case .sequence(let steps):
            var pieces = pieces
            for step in steps { pieces = try step.preTokenize(pieces, source: source) }
            return pieces
        case .byteLevel(let addPrefixSpace, let pattern):
            let split = try splitEach(pieces) { (piece: TextPiece) throws(CheckpointError) -> [TextPiece] in
                var piece = piece
                if addPrefixSpace && !piece.startsWith(0x20) { piece.prepend([0x20]) }
                guard let pattern else { return [piece] }
                return PieceMatching.split(piece, try pattern.partition(piece, source: source), behavior: .isolated)
            }
            return split.map { $0.token == nil ? ByteLevelAlphabet.map($0) : $0 }
        case .split(let pattern, let behavior, let invert):
            return try splitEach(pieces) { (piece: TextPiece) throws(CheckpointError) -> [TextPiece] in
                var matches = try pattern.partition(piece, source: source)
                if invert { matches = matches.map { ($0.range, !$0.isMatch) } }
                return PieceMatching.split(piece, matches, behavior: behavior)
            }
        case .metaspace(let replacement, let prepend, let split):
            return try splitEach(pieces) { (piece: TextPiece) throws(CheckpointError) -> [TextPiece] in
                var piece = piece
                // Spaces become the replacement, which stands where the space stood.
                for i in piece.scalars.indices where piece.scalars[i] == 0x20 { piece.scalars[i] = replacement }
                switch prepend {
                case .always:
                    if !piece.startsWith(replacement) { piece.prepend([replacement]) }
                case .first:
                    if !piece.startsWith(replacement) && piece.originalStart == 0 { piece.prepend([replacement]) }
                case .never:
                    break
                }
                guard split else { return [piece] }
                let matches = PieceMatching.partition(piece.scalars) { $0 == replacement }
                return PieceMatching.split(piece, matches, behavior: .mergedWithNext)
            }
        case .digits(let individual):
            return try splitEach(pieces) { (piece: TextPiece) throws(CheckpointError) -> [TextPiece] in
                let matches = PieceMatching.partition(piece.scalars, where: UnicodeTables.isNumeric)
                return PieceMatching.split(piece, matches, behavior: individual ? .isolated : .contiguous)
            }
        }
    }

    /// `transform` applied to each piece that is not an added token; empty results dropped.
    private func splitEach(_ pieces: [TextPiece], _ transform: (TextPiece) throws(CheckpointError) -> [TextPiece]) throws(CheckpointError) -> [TextPiece] {
        var result: [TextPiece] = []
        result.reserveCapacity(pieces.count)
        for piece in pieces {
            if piece.token != nil {
                result.append(piece)
                continue
            }
            for part in try transform(piece) where !part.isEmpty { result.append(part) }
        }
        return result
    }
}

/// GPT-2's reversible map from bytes to printable characters, which ByteLevel applies to the
/// UTF-8 bytes of every piece before the model sees it.
enum ByteLevelAlphabet {
    static let characters: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var printable: [Int] = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        for b in printable { table[b] = UInt32(b) }
        var n: UInt32 = 0
        for b in 0..<256 where !printable.contains(b) {
            table[b] = 256 + n
            n += 1
            printable.append(b)
        }
        return table
    }()

    static func map(_ piece: TextPiece) -> TextPiece {
        var scalars: [UInt32] = [], origins: [Int32] = []
        scalars.reserveCapacity(piece.scalars.count)
        origins.reserveCapacity(piece.scalars.count)
        for (s, origin) in zip(piece.scalars, piece.origins) {
            if s < 0x80 {
                scalars.append(characters[Int(s)])
                origins.append(origin)
                continue
            }
            for byte in String(Unicode.Scalar(s)!).utf8 {
                scalars.append(characters[Int(byte)])
                origins.append(origin)
            }
        }
        return TextPiece(scalars: scalars, origins: origins)
    }
}
