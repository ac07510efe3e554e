/// One column of a record's table: its name, and the record's property it holds, which is both
/// sent as a query parameter and decoded from a result row. A record lists its columns once;
/// INSERT and SELECT lists, parameters and decoding are generated from that list, so a new
/// column is one line there (and a migration).
struct RecordColumn<Record>: Sendable {
    let name: String
    let value: @Sendable (Record) -> any PostgresEncodable
    let read: @Sendable (inout Record, Row) throws -> Void

    init<Value: PostgresEncodable & PostgresDecodable>(_ name: String, _ property: WritableKeyPath<Record, Value> & Sendable) {
        self.name = name
        value = { $0[keyPath: property] }
        read = { record, row in record[keyPath: property] = try row.decode(Value.self, column: name) }
    }
}

extension Array {
    /// The column names, comma-separated, for an INSERT or SELECT list.
    func columnList<Record>() -> String where Element == RecordColumn<Record> {
        map(\.name).joined(separator: ", ")
    }

    /// `record`'s values in column order, as query parameters.
    func values<Record>(of record: Record) -> [any PostgresEncodable] where Element == RecordColumn<Record> {
        map { $0.value(record) }
    }

    /// `record` with every column read from `row`.
    func read<Record>(_ row: Row, into record: Record) throws -> Record where Element == RecordColumn<Record> {
        var record = record
        for column in self { try column.read(&record, row) }
        return record
    }
}
