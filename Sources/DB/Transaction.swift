/// The statements of one transaction, handed to the body of `Connection.transaction`.
/// Valid only inside that body.
public struct Transaction {
    let session: LibPQSession

    /// Runs one statement with `$1…$n` parameters and returns its rows.
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws(DatabaseError) -> [Row] {
        try session.execute(sql, parameters).rows
    }

    /// Runs one statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws(DatabaseError) -> Int {
        try session.execute(sql, parameters).affectedRows
    }
}
