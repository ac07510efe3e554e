/// One result row, copied out of libpq's result (text format), with typed decoding:
/// `try row.decode(Int64.self, column: "id")`, `try row.decode(Double?.self, column: "ess")`.
public struct Row: Sendable {
    /// The result's column names, shared by all its rows.
    public let columns: Columns
    let values: [String?]

    public final class Columns: Sendable {
        public let names: [String]
        private let indices: [String: Int]

        init(names: [String]) {
            self.names = names
            var indices: [String: Int] = [:]
            // The first of duplicate names wins, as in libpq's PQfnumber.
            for (index, name) in names.enumerated() where indices[name] == nil {
                indices[name] = index
            }
            self.indices = indices
        }

        public func index(of name: String) -> Int? { indices[name] }
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type, column: String) throws(DatabaseError) -> T {
        guard let index = columns.index(of: column) else {
            throw DatabaseError(
                code: "db.decode",
                message: "no column \"\(column)\" in the result (columns: \(columns.names.joined(separator: ", ")))"
            )
        }
        return try decode(type, at: index)
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws(DatabaseError) -> T {
        guard values.indices.contains(index) else {
            throw DatabaseError(code: "db.decode", message: "column index \(index) is out of range (\(values.count) columns)")
        }
        do {
            return try T.decode(postgresText: values[index])
        } catch {
            let name = columns.names[index]
            switch error {
            case .unexpectedNull:
                throw DatabaseError(code: "db.decode", message: "column \"\(name)\" is NULL; expected \(T.self)")
            case .invalid(let text):
                let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
                throw DatabaseError(code: "db.decode", message: "column \"\(name)\" holds \"\(shown)\", which is not a valid \(T.self)")
            }
        }
    }

    /// True when the column is SQL NULL (or absent).
    public func isNull(column: String) -> Bool {
        guard let index = columns.index(of: column) else { return true }
        return values[index] == nil
    }
}
