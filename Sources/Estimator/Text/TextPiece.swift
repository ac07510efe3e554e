/// A piece of the text on its way through the pipeline (the library's `NormalizedString` inside
/// a `PreTokenizedString` split): its scalars as normalized so far, and where each one came from.
struct TextPiece: Sendable {
    var scalars: [UInt32]
    /// For each scalar, the scalar offset in the input text of the character it derives from.
    /// Only Metaspace's `prepend_scheme: "first"` looks at it (a piece starting at offset 0).
    var origins: [Int32]
    /// The id, when the piece is an added token (the rest of the pipeline leaves it alone).
    var token: Int32?

    init(scalars: [UInt32], origins: [Int32], token: Int32? = nil) {
        self.scalars = scalars
        self.origins = origins
        self.token = token
    }

    init(_ text: String) {
        scalars = text.unicodeScalars.map(\.value)
        origins = (0..<Int32(scalars.count)).map { $0 }
    }

    var isEmpty: Bool { scalars.isEmpty }

    /// Where the piece starts in the input text (the library's `offsets_original().0`).
    var originalStart: Int32 { origins.first ?? 0 }

    func slice(_ range: Range<Int>) -> TextPiece {
        TextPiece(scalars: Array(scalars[range]), origins: Array(origins[range]))
    }

    func startsWith(_ scalar: UInt32) -> Bool { scalars.first == scalar }

    /// `text` put in front, its scalars attributed to the first scalar (the library's `prepend`,
    /// which does nothing to an empty piece).
    mutating func prepend(_ text: [UInt32]) {
        guard let origin = origins.first else { return }
        scalars.insert(contentsOf: text, at: 0)
        origins.insert(contentsOf: repeatElement(origin, count: text.count), at: 0)
    }
}

/// How `split` treats the delimiters it finds (the library's `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"
}

/// A partition of a piece into delimiter matches and the stretches between them.
typealias PieceMatches = [(range: Range<Int>, isMatch: Bool)]

enum PieceMatching {
    /// The partition a regex's matches make (the library's `Pattern for &SysRegex`).
    static func partition(_ matches: [Range<Int>], count: Int) -> PieceMatches {
        if count == 0 { return [(0..<0, false)] }
        var parts: PieceMatches = []
        parts.reserveCapacity(matches.count * 2 + 1)
        var previous = 0
        for m in matches {
            if previous != m.lowerBound { parts.append((previous..<m.lowerBound, false)) }
            parts.append((m, true))
            previous = m.upperBound
        }
        if previous != count { parts.append((previous..<count, false)) }
        return parts
    }

    /// The partition by a scalar predicate: each matching scalar on its own (the library's
    /// `Pattern for Fn(char) -> bool`).
    static func partition(_ scalars: [UInt32], where isMatch: (UInt32) -> Bool) -> PieceMatches {
        if scalars.isEmpty { return [(0..<0, false)] }
        var parts: PieceMatches = []
        var last = 0
        for (i, s) in scalars.enumerated() where isMatch(s) {
            if last < i { parts.append((last..<i, false)) }
            parts.append((i..<(i + 1), true))
            last = i + 1
        }
        if scalars.count > last { parts.append((last..<scalars.count, false)) }
        return parts
    }

    /// The pieces `matches` cut `piece` into under `behavior` (the library's `NormalizedString::split`),
    /// empty ones included (the caller drops them).
    static func split(_ piece: TextPiece, _ matches: PieceMatches, behavior: SplitBehavior) -> [TextPiece] {
        var ranges: [Range<Int>] = []
        switch behavior {
        case .isolated:
            ranges = matches.map(\.range)
        case .removed:
            ranges = matches.filter { !$0.isMatch }.map(\.range)
        case .contiguous:
            var previousMatch = false
            for (range, isMatch) in matches {
                if isMatch == previousMatch, let last = ranges.last {
                    ranges[ranges.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    ranges.append(range)
                }
                previousMatch = isMatch
            }
        case .mergedWithPrevious:
            var previousMatch = false
            for (range, isMatch) in matches {
                if isMatch && !previousMatch, let last = ranges.last {
                    ranges[ranges.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    ranges.append(range)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (range, isMatch) in matches.reversed() {
                if isMatch && !previousMatch, let last = ranges.last {
                    ranges[ranges.count - 1] = range.lowerBound..<last.upperBound
                } else {
                    ranges.append(range)
                }
                previousMatch = isMatch
            }
            ranges.reverse()
        }
        return ranges.map { piece.slice($0) }
    }
}
