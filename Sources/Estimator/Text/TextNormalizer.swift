@_spi(_Unicode) import Swift

/// A `normalizer` of `tokenizer.json`: NFC, NFD, Lowercase, Replace, Prepend, Strip, and a
/// Sequence of these. Each piece of text between added tokens is normalized on its own, as the
/// library does.
///
/// NFC and NFD use the standard library's normalization (Unicode 17 data). The library's Rust
/// crate has older data: the two differ only on the few canonical decompositions added since
/// Unicode 13 (Dives Akuru, Vithkuqi, Tulu-Tigalari, Gurung Khema, Kirat Rai).
enum TextNormalizer: Sendable {
    case nfc
    case nfd
    case lowercase
    case replace(TokenizerPattern, content: [UInt32])
    case prepend([UInt32])
    case strip(left: Bool, right: Bool)
    case sequence([TextNormalizer])

    func normalize(_ piece: inout TextPiece, source: String) throws(CheckpointError) {
        switch self {
        case .nfc:
            // Nothing below U+0300 composes with what precedes it.
            guard piece.scalars.contains(where: { $0 >= 0x300 }) else { return }
            replaceScalars(of: &piece, with: String(scalars: piece.scalars)._nfc)
        case .nfd:
            guard piece.scalars.contains(where: { $0 >= 0xC0 }) else { return }
            replaceScalars(of: &piece, with: String(scalars: piece.scalars)._nfd)
        case .lowercase:
            var scalars: [UInt32] = [], origins: [Int32] = []
            scalars.reserveCapacity(piece.scalars.count)
            origins.reserveCapacity(piece.scalars.count)
            for (s, origin) in zip(piece.scalars, piece.origins) {
                if s < 0x80 {
                    scalars.append(s >= 0x41 && s <= 0x5A ? s + 32 : s)
                    origins.append(origin)
                    continue
                }
                for l in UnicodeTables.lowercase(Unicode.Scalar(s)!) {
                    scalars.append(l.value)
                    origins.append(origin)
                }
            }
            piece.scalars = scalars
            piece.origins = origins
        case .replace(let pattern, let content):
            let matches = try pattern.matchRanges(in: piece.scalars, source: source)
            guard !matches.isEmpty else { return }
            var scalars: [UInt32] = [], origins: [Int32] = []
            var last = 0
            for m in matches {
                scalars += piece.scalars[last..<m.lowerBound]
                origins += piece.origins[last..<m.lowerBound]
                // Inserted text takes the place of the match's last scalar (the library's alignment).
                let origin = m.upperBound > 0 ? piece.origins[m.upperBound - 1] : piece.originalStart
                scalars += content
                origins += repeatElement(origin, count: content.count)
                last = m.upperBound
            }
            scalars += piece.scalars[last...]
            origins += piece.origins[last...]
            piece.scalars = scalars
            piece.origins = origins
        case .prepend(let text):
            piece.prepend(text)
        case .strip(let left, let right):
            var start = 0, end = piece.scalars.count
            if left { while start < end, UnicodeTables.isWhitespace(piece.scalars[start]) { start += 1 } }
            if right { while end > start, UnicodeTables.isWhitespace(piece.scalars[end - 1]) { end -= 1 } }
            guard start > 0 || end < piece.scalars.count else { return }
            piece = TextPiece(scalars: Array(piece.scalars[start..<end]), origins: Array(piece.origins[start..<end]))
        case .sequence(let normalizers):
            for normalizer in normalizers { try normalizer.normalize(&piece, source: source) }
        }
    }

    /// The normalized form of an added token's content (the library's `normalized_cache`).
    func normalize(_ text: String, source: String) throws(CheckpointError) -> String {
        var piece = TextPiece(text)
        try normalize(&piece, source: source)
        return String(scalars: piece.scalars)
    }

    private func replaceScalars(of piece: inout TextPiece, with normalized: some Sequence<Unicode.Scalar>) {
        let scalars = normalized.map(\.value)
        if scalars == piece.scalars { return }
        // Each result scalar is attributed to the input scalar at the same index (or the last):
        // exact for the first scalar, which is all Metaspace's "first" scheme looks at.
        let origins = scalars.indices.map { piece.origins[min($0, piece.origins.count - 1)] }
        piece.scalars = scalars
        piece.origins = origins
    }
}

extension String {
    init(scalars: some Sequence<UInt32>) {
        var view = String.UnicodeScalarView()
        for s in scalars { view.append(Unicode.Scalar(s) ?? "\u{FFFD}") }
        self = String(view)
    }
}
