import Base

/// An error from the database layer: a stable `code`, the server's SQLSTATE when there is one,
/// and a message a user can act on. Messages pass through `Redaction` so they never contain a
/// password or a full connection string.
///
/// Codes:
/// - `db.connect`: could not connect (bad address, authentication, missing database).
/// - `db.connection_lost`: the server went away and the operation could not be retried safely
///   (or reconnecting gave up).
/// - `db.query`: the server rejected a statement (see `sqlState`).
/// - `db.parameter`: a parameter cannot be sent (e.g. text with a NUL byte).
/// - `db.decode`: a column could not be decoded as the requested type.
/// - `db.notification`: waiting for notifications failed.
/// - `db.migration`: a migration failed to apply (the message names the file).
/// - `db.migration_checksum`: an applied migration's text changed (names the file).
/// - `db.migration_unknown`: the database has a migration this binary does not know.
/// - `db.lease_lost`: a job's lease is no longer held by the caller.
/// - `db.not_found`: a row the caller named does not exist.
/// - `db.embedded`: the embedded cluster could not be created, started or stopped.
public struct DatabaseError: CodedError, Equatable {
    /// Stable identifier such as `db.query`; recorded on failed jobs.
    public let code: String
    /// The five-character SQLSTATE reported by the server, when there is one.
    public let sqlState: String?
    /// What went wrong, scrubbed of secrets.
    public let message: String
    /// What was being done, e.g. `migration 0002_views.sql` or `claiming a job`.
    public let context: String?

    public init(code: String, message: String, sqlState: String? = nil, context: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.message = Redaction.scrub(message)
        self.context = context.map(Redaction.scrub)
    }

    public var description: String {
        var text = "\(code): "
        if let context { text += "\(context): " }
        text += message
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        return text
    }

    /// True for SQLSTATE class 08 (connection exception) and the shutdown states 57P01–57P03:
    /// the session is gone, and reconnecting may help.
    var isConnectionLoss: Bool {
        code == "db.connection_lost" || sqlState.map(Self.isConnectionLossState) ?? false
    }

    static func isConnectionLossState(_ state: String) -> Bool {
        state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
    }

    /// The same error with `context` set (kept if already set: the innermost context is the
    /// most specific).
    func adding(context newContext: String) -> DatabaseError {
        if context != nil { return self }
        return DatabaseError(code: code, message: message, sqlState: sqlState, context: newContext)
    }

    static func query(_ message: String, sqlState: String? = nil) -> DatabaseError {
        DatabaseError(code: "db.query", message: message, sqlState: sqlState)
    }

    static func leaseLost(job: Int64, owner: String, _ detail: String) -> DatabaseError {
        DatabaseError(code: "db.lease_lost", message: "job \(job) is no longer leased to \(owner): \(detail)")
    }
}
