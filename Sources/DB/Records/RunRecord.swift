import Foundation

/// A row of `runs`: one training run (a folder under the watched root).
public struct RunRecord: Sendable, Equatable {
    public let id: Int64
    public let name: String
    /// Unique: the run's folder.
    public let path: String
    public let createdAt: Date

    public init(id: Int64, name: String, path: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.path = path
        self.createdAt = createdAt
    }

    init(row: Row, prefix: String = "") throws {
        id = try row.decode(Int64.self, column: prefix + "id")
        name = try row.decode(String.self, column: prefix + "name")
        path = try row.decode(String.self, column: prefix + "path")
        createdAt = try row.decode(Date.self, column: prefix + "created_at")
    }

    static let columnNames = ["id", "name", "path", "created_at"]

    /// `table.column AS prefix + column, …` for selecting this record out of a join.
    static func selectList(from table: String, prefix: String) -> String {
        columnNames.map { "\(table).\($0) AS \(prefix)\($0)" }.joined(separator: ", ")
    }
}
