/// A TOML table: keys in the order the document first gave them, each with its value.
///
/// Equality follows TOML's meaning (the same keys with equal values), not the order.
public struct TOMLTable: Sendable, Equatable {
    public private(set) var entries: [(key: String, value: TOMLValue)] = []
    private var index: [String: Int] = [:]

    public init() {}

    /// A table of `pairs`; a key given twice keeps its first place and its last value.
    public init(_ pairs: some Sequence<(String, TOMLValue)>) {
        for (key, value) in pairs {
            if let position = index[key] {
                entries[position].value = value
            } else {
                index[key] = entries.count
                entries.append((key, value))
            }
        }
    }

    /// A table of distinct keys, `index` mapping each to its place in `entries`.
    init(entries: [(key: String, value: TOMLValue)], index: [String: Int]) {
        self.entries = entries
        self.index = index
    }

    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public subscript(key: String) -> TOMLValue? {
        index[key].map { entries[$0].value }
    }

    public static func == (a: TOMLTable, b: TOMLTable) -> Bool {
        a.count == b.count && a.entries.allSatisfy { b[$0.key] == $0.value }
    }
}

extension TOMLTable: Sequence {
    public func makeIterator() -> IndexingIterator<[(key: String, value: TOMLValue)]> {
        entries.makeIterator()
    }
}

extension TOMLTable: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, TOMLValue)...) {
        self.init(elements)
    }
}

extension TOMLTable: CustomStringConvertible {
    /// The table as a TOML inline table: `{ name = "x", size = 3 }`.
    public var description: String {
        entries.isEmpty ? "{}" : "{ " + entries.map { "\(TOMLKey.written($0.key)) = \($0.value)" }.joined(separator: ", ") + " }"
    }
}
