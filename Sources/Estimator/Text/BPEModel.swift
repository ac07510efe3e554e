import Synchronization

/// The `BPE` model of `tokenizer.json`: each piece starts as one symbol per character (with
/// `continuing_subword_prefix` / `end_of_word_suffix`, byte fallback and the unknown token),
/// then the lowest-ranked merge applies first, leftmost among equals, until none applies
/// (the library's `Word::merge_all`). With `ignore_merges`, a piece that is a vocabulary entry
/// is that entry. Results are cached per piece.
struct BPEModel: Sendable {
    let vocab: [String: Int32]
    /// Merge rank and the merged id, by the pair of ids (first << 32 | second).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    let unknown: Int32?
    let fuseUnknown: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: String?
    let endOfWordSuffix: String?
    /// Ids of single characters, when no prefix or suffix changes them.
    private let characterIds: [UInt32: Int32]
    /// Ids of `<0x00>` … `<0xFF>`, for byte fallback.
    private let byteIds: [Int32?]
    private let cache = Cache()

    /// Pieces longer than this are not cached (the library uses 256 bytes).
    static let cachedLength = 256

    final class Cache: Sendable {
        static let capacity = 200_000
        let entries = Mutex<[[UInt32]: [Int32]]>([:])
    }

    init(vocab: [String: Int32], merges: [UInt64: (rank: Int32, id: Int32)], unknown: Int32?, fuseUnknown: Bool,
         byteFallback: Bool, ignoreMerges: Bool, continuingSubwordPrefix: String?, endOfWordSuffix: String?) {
        self.vocab = vocab
        self.merges = merges
        self.unknown = unknown
        self.fuseUnknown = fuseUnknown
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.endOfWordSuffix = endOfWordSuffix
        var characterIds: [UInt32: Int32] = [:]
        for (token, id) in vocab {
            var scalars = token.unicodeScalars.makeIterator()
            if let first = scalars.next(), scalars.next() == nil { characterIds[first.value] = id }
        }
        self.characterIds = characterIds
        byteIds = (0..<256).map { vocab["<0x\(hex2($0))>"] }
    }

    /// Appends the ids of `piece` to `ids`.
    func tokenize(_ piece: [UInt32], into ids: inout [Int32]) {
        guard !piece.isEmpty else { return }
        if ignoreMerges, let id = vocab[String(scalars: piece)] {
            ids.append(id)
            return
        }
        let cacheable = piece.count < Self.cachedLength
        if cacheable, let hit = cache.entries.withLock({ $0[piece] }) {
            ids += hit
            return
        }
        let result = merge(piece)
        if cacheable {
            cache.entries.withLock { entries in
                if entries.count < Cache.capacity { entries[piece] = result }
            }
        }
        ids += result
    }

    private struct Symbol {
        var id: Int32
        var previous: Int
        var next: Int
        var length: Int
    }

    private func initialId(_ piece: [UInt32], at i: Int) -> Int32? {
        let isFirst = i == 0, isLast = i == piece.count - 1
        let prefix = isFirst ? nil : continuingSubwordPrefix
        let suffix = isLast ? endOfWordSuffix : nil
        if (prefix ?? "").isEmpty && (suffix ?? "").isEmpty { return characterIds[piece[i]] }
        return vocab[(prefix ?? "") + String(scalars: [piece[i]]) + (suffix ?? "")]
    }

    private func merge(_ piece: [UInt32]) -> [Int32] {
        var symbols: [Symbol] = []
        symbols.reserveCapacity(piece.count)
        func add(_ id: Int32, _ length: Int) {
            let index = symbols.count
            if index > 0 { symbols[index - 1].next = index }
            symbols.append(Symbol(id: id, previous: index - 1, next: -1, length: length))
        }
        var pendingUnknown: (id: Int32, length: Int)?
        for i in piece.indices {
            let length = utf8Length(piece[i])
            if let id = initialId(piece, at: i) {
                if let u = pendingUnknown { add(u.id, u.length); pendingUnknown = nil }
                add(id, length)
                continue
            }
            if byteFallback {
                let bytes = Array(bytesOf(piece, at: i))
                let fallback = bytes.compactMap { byteIds[Int($0)] }
                if fallback.count == bytes.count {
                    // As the library: a pending unknown token is not flushed here.
                    for id in fallback { add(id, 1) }
                    continue
                }
            }
            if let unknown {
                if let u = pendingUnknown {
                    if fuseUnknown {
                        pendingUnknown = (u.id, u.length + length)
                    } else {
                        add(u.id, u.length)
                        pendingUnknown = (unknown, length)
                    }
                } else {
                    pendingUnknown = (unknown, length)
                }
            }
        }
        if let u = pendingUnknown { add(u.id, u.length) }
        guard symbols.count > 1 else { return symbols.map(\.id) }

        var queue = MergeQueue()
        for i in 0..<(symbols.count - 1) {
            if let m = merges[pairKey(symbols[i].id, symbols[i + 1].id)] { queue.push(rank: m.rank, position: i, id: m.id) }
        }
        while let top = queue.pop() {
            let p = top.position
            guard symbols[p].length != 0, symbols[p].next != -1 else { continue }
            let nextPosition = symbols[p].next
            let right = symbols[nextPosition]
            guard let m = merges[pairKey(symbols[p].id, right.id)], m.id == top.id else { continue }
            symbols[p].id = top.id
            symbols[p].length += right.length
            symbols[p].next = right.next
            symbols[nextPosition].length = 0
            if right.next > -1 && right.next < symbols.count { symbols[right.next].previous = p }
            let current = symbols[p]
            if current.previous >= 0, let m = merges[pairKey(symbols[current.previous].id, current.id)] {
                queue.push(rank: m.rank, position: current.previous, id: m.id)
            }
            if current.next >= 0 && current.next < symbols.count, let m = merges[pairKey(current.id, symbols[current.next].id)] {
                queue.push(rank: m.rank, position: p, id: m.id)
            }
        }
        return symbols.filter { $0.length != 0 }.map(\.id)
    }

    /// The bytes byte fallback looks up: the character with the prefix and suffix it has there.
    private func bytesOf(_ piece: [UInt32], at i: Int) -> String.UTF8View {
        let isFirst = i == 0, isLast = i == piece.count - 1
        return ((isFirst ? "" : continuingSubwordPrefix ?? "") + String(scalars: [piece[i]]) + (isLast ? endOfWordSuffix ?? "" : "")).utf8
    }
}

@inline(__always)
func pairKey(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

private func utf8Length(_ scalar: UInt32) -> Int {
    scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : scalar < 0x10000 ? 3 : 4
}

private func hex2(_ value: Int) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[value >> 4], digits[value & 15]])
}

/// A binary min-heap of pending merges: lowest rank first, then leftmost position.
private struct MergeQueue {
    struct Entry { var rank: Int32; var position: Int; var id: Int32 }
    private var heap: [Entry] = []

    private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.position < b.position
    }

    mutating func push(rank: Int32, position: Int, id: Int32) {
        heap.append(Entry(rank: rank, position: position, id: id))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count && Self.less(heap[left], heap[smallest]) { smallest = left }
                if right < heap.count && Self.less(heap[right], heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
