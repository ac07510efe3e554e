import Base
import CLibPQ
import Foundation
import Logging

/// A connection to PostgreSQL.
///
/// An actor whose executor is a dedicated thread: every libpq call blocks that thread, never
/// Swift's cooperative pool. Calls are serialized; use one `Connection` per concurrent worker
/// (and a separate one for waiting on notifications).
///
/// When the server goes away (connection-loss SQLSTATE 08xxx / 57P01–57P03, or libpq reports
/// the connection broken) the connection reconnects with exponential backoff
/// (`ReconnectPolicy`), re-issues its `LISTEN`s and retries the operation if that is safe:
/// always for a transaction that had not reached `COMMIT`, and for anything the caller marks
/// `idempotent`. Otherwise it throws `db.connection_lost`, because the statement may or may
/// not have been applied.
///
/// Sessions use UTC, ISO dates and exact float output (`extra_float_digits = 3`).
public actor Connection {
    private let thread: DatabaseThread
    private let parameters: ConnectionParameters
    private let options: ConnectionOptions
    private var session: LibPQSession?
    private var channels: [String] = []
    private var isClosed = false

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        thread.asUnownedSerialExecutor()
    }

    /// The connection string without its password.
    public nonisolated var description: String { parameters.target }

    private init(parameters: ConnectionParameters, options: ConnectionOptions) {
        thread = DatabaseThread(name: "volumed-db")
        self.parameters = parameters
        self.options = options
    }

    /// Connects once (no retry: a wrong address or password is reported at once).
    /// `connectionString` is libpq `key=value` pairs or a `postgresql://` URL; `postgresql://`
    /// alone leaves everything to the `PG*` environment variables.
    public static func connect(
        to connectionString: String,
        options: ConnectionOptions = ConnectionOptions()
    ) async throws -> Connection {
        let parameters = try ConnectionParameters(connectionString, applicationName: options.applicationName)
        let connection = Connection(parameters: parameters, options: options)
        try await connection.open()
        return connection
    }

    private func open() throws {
        session = try makeSession()
    }

    /// Closes the connection; later calls fail with `db.connect`.
    public func close() {
        session = nil
        isClosed = true
    }

    // MARK: Statements

    /// Runs one statement outside a transaction and returns its rows. Set `idempotent` for
    /// statements that may safely run twice (reads, upserts) so they are retried after a
    /// reconnect.
    public func query(
        _ sql: String,
        _ parameters: [any PostgresEncodable] = [],
        idempotent: Bool = false
    ) throws -> [Row] {
        try withSession(idempotent: idempotent) { session in
            try session.execute(sql, parameters).rows
        }
    }

    /// Runs one statement outside a transaction and returns the number of rows it affected.
    @discardableResult
    public func execute(
        _ sql: String,
        _ parameters: [any PostgresEncodable] = [],
        idempotent: Bool = false
    ) throws -> Int {
        try withSession(idempotent: idempotent) { session in
            try session.execute(sql, parameters).affectedRows
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// `body` may run more than once (after a reconnect), so it must not have effects outside
    /// the database. With `idempotent`, the transaction is retried even when the connection
    /// was lost during `COMMIT`, when its outcome is unknown.
    @discardableResult
    public func transaction<T: Sendable>(
        idempotent: Bool = false,
        _ body: (Transaction) throws -> T
    ) throws -> T {
        try withSession(idempotent: idempotent) { session in
            try Self.runTransaction(on: session, body)
        }
    }

    /// Runs `body` with the raw session; the unit of retry for multi-transaction operations
    /// (migrations hold a session-level advisory lock across several transactions).
    func withRawSession<T>(idempotent: Bool, _ body: (LibPQSession) throws -> T) throws -> T {
        try withSession(idempotent: idempotent, body)
    }

    static func runTransaction<T>(on session: LibPQSession, _ body: (Transaction) throws -> T) throws -> T {
        do {
            _ = try session.execute("BEGIN")
        } catch where error.isConnectionLoss {
            throw UncommittedConnectionLoss(error: error)
        }
        let value: T
        do {
            value = try body(Transaction(session: session))
        } catch {
            if !session.isBroken { _ = try? session.execute("ROLLBACK") }
            if let failure = error as? DatabaseError, failure.isConnectionLoss {
                throw UncommittedConnectionLoss(error: failure)
            }
            throw error
        }
        // A connection lost here leaves the outcome unknown: `withSession` retries only
        // idempotent work.
        let commit = try session.execute("COMMIT")
        if commit.commandStatus == "ROLLBACK" {
            throw DatabaseError.query("the transaction was rolled back because a statement in it failed")
        }
        return value
    }

    // MARK: Notifications

    /// `LISTEN`s on `channel` (kept across reconnects).
    public func listen(_ channel: String) throws {
        try withSession(idempotent: true) { session in
            _ = try session.execute("LISTEN \(Self.quoteIdentifier(channel))")
        }
        if !channels.contains(channel) { channels.append(channel) }
    }

    public func unlisten(_ channel: String) throws {
        channels.removeAll { $0 == channel }
        try withSession(idempotent: true) { session in
            _ = try session.execute("UNLISTEN \(Self.quoteIdentifier(channel))")
        }
    }

    /// Sends `NOTIFY channel, payload` (delivered when the surrounding transaction commits;
    /// immediately here, outside a transaction).
    public func notify(channel: String, payload: String) throws {
        _ = try query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Waits up to `timeout` for a notification on a channel this connection listens to.
    /// Returns nil on timeout. Notifications sent while the connection was lost are not
    /// replayed: treat a reconnect like a timeout and re-read the tables.
    public func nextNotification(timeout: Duration) throws -> Notification? {
        let deadline = ContinuousClock().now + timeout
        return try withSession(idempotent: true) { session in
            try session.nextNotification(until: deadline)
        }
    }

    // MARK: Sessions and reconnecting

    /// The server process serving this connection (tests terminate it on purpose).
    var backendProcessID: Int32? { session?.backendProcessID }

    /// True when called on this connection's own thread.
    nonisolated var isOnConnectionThread: Bool { thread.isCurrent }

    private func makeSession() throws -> LibPQSession {
        let session = try LibPQSession.connect(parameters, logger: options.logger)
        _ = try session.execute("""
            SELECT set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, YMD', false),
                   set_config('extra_float_digits', '3', false)
            """)
        if let searchPath = options.searchPath {
            _ = try session.execute("SELECT set_config('search_path', $1, false)", [searchPath])
        }
        for channel in channels {
            _ = try session.execute("LISTEN \(Self.quoteIdentifier(channel))")
        }
        return session
    }

    private func currentSession() throws -> LibPQSession {
        if let session {
            if !session.closedWhileIdle() { return session }
            options.logger.info("database connection was closed by the server while idle; reconnecting", metadata: ["database": "\(description)"])
            self.session = nil
        }
        guard !isClosed else {
            throw DatabaseError(code: "db.connect", message: "the connection was closed")
        }
        let fresh = try makeSession()
        session = fresh
        // `open()` made the first session; every one made here replaces a lost one.
        options.onReconnect?()
        return fresh
    }

    private func withSession<T>(idempotent: Bool, _ body: (LibPQSession) throws -> T) throws -> T {
        let clock = ContinuousClock()
        var outageStart: ContinuousClock.Instant?
        var delay = options.reconnect.initialDelay
        // A server that just finished starting answers pings while our connect still saw it
        // starting; a connect failure with the server answering is final only when repeated.
        var refusedWhileAnswering = 0
        while true {
            let lost: DatabaseError
            do {
                let session = try currentSession()
                defer { if session.isBroken { self.session = nil } }
                let value = try body(session)
                if outageStart != nil {
                    options.logger.info("database connection restored", metadata: ["database": "\(description)"])
                }
                return value
            } catch let failure as UncommittedConnectionLoss {
                lost = failure.error
            } catch let error as DatabaseError where error.isConnectionLoss {
                guard idempotent else {
                    session = nil
                    throw DatabaseError(
                        code: "db.connection_lost",
                        message: "\(error.message); the statement may or may not have been applied",
                        sqlState: error.sqlState
                    )
                }
                lost = error
            } catch let error as DatabaseError where error.code == "db.connect" && !isClosed {
                if !serverIsAway() {
                    guard outageStart != nil, refusedWhileAnswering < 2 else { throw error }
                    refusedWhileAnswering += 1
                }
                lost = error
            }
            session = nil
            let start = outageStart ?? clock.now
            outageStart = start
            if clock.now - start >= options.reconnect.giveUpAfter {
                throw DatabaseError(
                    code: "db.connection_lost",
                    message: "gave up reconnecting after \(options.reconnect.giveUpAfter): \(lost.message)",
                    sqlState: lost.sqlState
                )
            }
            options.logger.warning(
                "database connection lost; reconnecting",
                metadata: ["database": "\(description)", "error": "\(lost)", "retry_in": "\(delay)"]
            )
            try Task.checkCancellation()
            Thread.sleep(forTimeInterval: delay.seconds)
            delay = min(delay * 2, options.reconnect.maximumDelay)
        }
    }

    /// True while the server does not answer or refuses connections (down, starting up,
    /// shutting down); false when it would accept one, so a failed connect is not transient
    /// (wrong password, missing database).
    private func serverIsAway() -> Bool {
        switch LibPQSession.ping(parameters) {
        case PQPING_NO_RESPONSE, PQPING_REJECT: true
        default: false
        }
    }

    /// `name` as an SQL identifier (double-quoted, inner quotes doubled), for names that cannot
    /// be bound as parameters: schemas, roles, databases.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }
}

/// The connection was lost before `COMMIT` was sent: the server rolled the transaction back,
/// so running it again is safe.
struct UncommittedConnectionLoss: Error {
    let error: DatabaseError
}
