/// One table of a document while it is parsed, with what TOML 1.0 needs to refuse
/// redefinitions: a table is defined once, by a `[header]`, by dotted keys within one section,
/// or as an inline table, and can afterwards only gain sub-tables the spec allows.
///
/// A class, so that `[a.b]` can find and extend a table that `[a.b.c]` created earlier.
final class TOMLTableBuilder {
    /// How the table came to exist.
    enum Origin: Equatable {
        /// Created on the way to a deeper header (`a` for `[a.b]`); a later `[a]` may still define it.
        case implicit
        /// Defined by a `[header]`, as an element of an array of tables, or the document or
        /// inline table itself.
        case header
        /// Created by dotted keys (`a.b = 1`) in the section with this number; only that section's
        /// dotted keys may add to it, and no header may define it.
        case dotted(section: Int)
    }

    /// Why a header or key cannot be placed: `part` is the index of the key part at fault.
    struct Conflict: Error {
        let part: Int
        let message: String
    }

    /// An array of tables (`[[a]]`), a class so that appending does not copy it.
    private final class TableList {
        private(set) var tables: [TOMLTableBuilder]
        /// The table that sub-tables and key/value pairs after `[[a]]` go into.
        private(set) var last: TOMLTableBuilder

        init(_ first: TOMLTableBuilder) {
            tables = [first]
            last = first
        }

        func append(_ table: TOMLTableBuilder) {
            tables.append(table)
            last = table
        }
    }

    private enum Entry {
        case table(TOMLTableBuilder)
        case tables(TableList)
        /// A value of a key/value pair, inline tables and arrays included: none can be extended.
        case value(TOMLValue)
    }

    private var origin: Origin
    private var keys: [String] = []
    private var values: [Entry] = []
    /// Where each key is in `keys` and `values`; the finished table reuses it.
    private var index: [String: Int] = [:]

    init(origin: Origin = .header) {
        self.origin = origin
    }

    /// The finished table, keys in the order they were first given.
    var table: TOMLTable {
        TOMLTable(entries: zip(keys, values).map { key, entry in
            switch entry {
            case .table(let table): (key, .table(table.table))
            case .tables(let list): (key, .array(list.tables.map { .table($0.table) }))
            case .value(let value): (key, value)
            }
        }, index: index)
    }

    private func entry(_ key: String) -> Entry? {
        index[key].map { values[$0] }
    }

    private func add(_ key: String, _ entry: Entry) {
        index[key] = keys.count
        keys.append(key)
        values.append(entry)
    }

    // MARK: Headers

    /// `[a.b.c]` on the document: the table that the following key/value pairs go into.
    func defineTable(_ key: [String]) throws(Conflict) -> TOMLTableBuilder {
        let (parent, name) = try headerParent(key)
        let path = TOMLKey.path(key)
        switch parent.entry(name) {
        case nil:
            let table = TOMLTableBuilder()
            parent.add(name, .table(table))
            return table
        case .table(let table):
            switch table.origin {
            case .implicit:
                table.origin = .header
                return table
            case .header:
                throw Conflict(part: key.count - 1, message: "the table [\(path)] is defined twice")
            case .dotted:
                throw Conflict(part: key.count - 1, message: "the table [\(path)] is already defined by dotted keys")
            }
        case .tables:
            throw Conflict(part: key.count - 1, message: "'\(path)' is an array of tables; [[\(path)]] adds a table to it")
        case .value(let value):
            throw Conflict(part: key.count - 1, message: Self.notExtensible(path, value))
        }
    }

    /// `[[a.b.c]]` on the document: a new table at the end of the array of tables.
    func appendTable(_ key: [String]) throws(Conflict) -> TOMLTableBuilder {
        let (parent, name) = try headerParent(key)
        let path = TOMLKey.path(key)
        let table = TOMLTableBuilder()
        switch parent.entry(name) {
        case nil:
            parent.add(name, .tables(TableList(table)))
        case .tables(let list):
            list.append(table)
        case .table:
            throw Conflict(part: key.count - 1, message: "'\(path)' is a table, not an array of tables")
        case .value(let value):
            throw Conflict(part: key.count - 1, message: Self.notExtensible(path, value, wanted: "an array of tables"))
        }
        return table
    }

    /// The table that holds a header's last key part, creating the ones on the way. A header
    /// may pass through tables of any origin; through an array of tables it goes to the last one.
    private func headerParent(_ key: [String]) throws(Conflict) -> (TOMLTableBuilder, String) {
        var table = self
        for (part, name) in key.enumerated().dropLast() {
            switch table.entry(name) {
            case nil:
                let next = TOMLTableBuilder(origin: .implicit)
                table.add(name, .table(next))
                table = next
            case .table(let next):
                table = next
            case .tables(let list):
                table = list.last
            case .value(let value):
                throw Conflict(part: part, message: Self.notExtensible(TOMLKey.path(key[...part]), value))
            }
        }
        return (table, key[key.count - 1])
    }

    // MARK: Key/value pairs

    /// `a.b.c = value` in this table, a line of the section numbered `section`; `base` is this
    /// table's own key in the document, for messages.
    func insert(_ value: TOMLValue, at key: [String], base: [String], section: Int) throws(Conflict) {
        var table = self
        for (part, name) in key.enumerated().dropLast() {
            let path = TOMLKey.path(base + key[...part])
            switch table.entry(name) {
            case nil:
                let next = TOMLTableBuilder(origin: .dotted(section: section))
                table.add(name, .table(next))
                table = next
            case .table(let next):
                switch next.origin {
                case .implicit:
                    next.origin = .dotted(section: section)
                case .dotted(let other) where other == section:
                    break
                case .header:
                    throw Conflict(part: part, message: "the table [\(path)] is defined by its header; dotted keys elsewhere cannot add to it")
                case .dotted:
                    throw Conflict(part: part, message: "the table '\(path)' was defined by dotted keys in another section; it cannot be extended here")
                }
                table = next
            case .tables:
                throw Conflict(part: part, message: "'\(path)' is an array of tables; dotted keys cannot add to it")
            case .value(let value):
                throw Conflict(part: part, message: Self.notExtensible(path, value))
            }
        }
        let name = key[key.count - 1]
        guard let existing = table.entry(name) else {
            table.add(name, .value(value))
            return
        }
        let path = TOMLKey.path(base + key)
        switch existing {
        case .value: throw Conflict(part: key.count - 1, message: "'\(path)' is defined twice")
        case .table: throw Conflict(part: key.count - 1, message: "'\(path)' is already defined as a table")
        case .tables: throw Conflict(part: key.count - 1, message: "'\(path)' is already defined as an array of tables")
        }
    }

    /// Why the value of a key/value pair cannot be, or hold, a table of a header or dotted key.
    private static func notExtensible(_ path: String, _ value: TOMLValue, wanted: String = "a table") -> String {
        switch value {
        case .table: "'\(path)' is an inline table, which cannot be extended"
        case .array: "'\(path)' is an array value, which cannot be extended (arrays of tables are written [[\(path)]])"
        default: "'\(path)' is already defined as \(value.kind), not \(wanted)"
        }
    }
}
