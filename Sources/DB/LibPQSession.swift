import Base
import CLibPQ
import Foundation
import Logging
import SystemPackage

/// One libpq connection (`PGconn *`), closed with `PQfinish` when released.
///
/// Every method blocks. Instances are confined to their `Connection`'s thread; nothing else
/// holds one.
final class LibPQSession {
    private let handle: OpaquePointer
    private let secrets: [String]
    /// Receives the server's notices and warnings; lives as long as the connection.
    private let noticeLog: NoticeLog

    private init(handle: OpaquePointer, secrets: [String], logger: Logger) {
        self.handle = handle
        self.secrets = secrets
        noticeLog = NoticeLog(logger: logger, secrets: secrets)
        // libpq's default prints notices to stderr; send them to the log instead.
        PQsetNoticeReceiver(handle, { context, result in
            guard let context, let result else { return }
            Unmanaged<NoticeLog>.fromOpaque(context).takeUnretainedValue().receive(result)
        }, Unmanaged.passUnretained(noticeLog).toOpaque())
    }

    deinit {
        PQfinish(handle)
    }

    /// Connects with `PQconnectdbParams`; `connectionString` may be `key=value` pairs or a
    /// `postgresql://` URL (an empty URL leaves everything to libpq's `PG*` variables).
    static func connect(_ parameters: ConnectionParameters, logger: Logger) throws(DatabaseError) -> LibPQSession {
        let handle = parameters.withCParameters { keywords, values in
            PQconnectdbParams(keywords, values, 1)
        }
        guard let handle else {
            throw DatabaseError(code: "db.connect", message: "libpq could not allocate a connection")
        }
        let session = LibPQSession(handle: handle, secrets: parameters.secrets, logger: logger)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw DatabaseError(code: "db.connect", message: session.lastErrorMessage)
        }
        return session
    }

    /// Asks the server whether it would accept a connection, without authenticating.
    static func ping(_ parameters: ConnectionParameters) -> PGPing {
        parameters.withCParameters { keywords, values in
            PQpingParams(keywords, values, 1)
        }
    }

    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    /// Reads anything the server sent while the connection was idle (such as the notice of a
    /// server shutdown) without blocking; true if the connection turned out to be closed.
    /// Checking before a statement is sent lets a dead idle connection be replaced safely.
    func closedWhileIdle() -> Bool {
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        if descriptor.fd < 0 { return true }
        // A shutdown notice arrives as an error message followed by end-of-file, which libpq
        // notices only on a read after the message: keep reading while there is input (a
        // handful of rounds; notifications also arrive this way).
        for _ in 0..<8 {
            descriptor.revents = 0
            guard poll(&descriptor, 1, 0) > 0 else { break }
            if PQconsumeInput(handle) == 0 { return true }
        }
        return isBroken
    }

    var backendProcessID: Int32 { PQbackendPID(handle) }

    /// Runs one statement with `$1…$n` parameters sent separately (text format).
    func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws(DatabaseError) -> QueryResult {
        var texts: [String?] = []
        texts.reserveCapacity(parameters.count)
        for (index, parameter) in parameters.enumerated() {
            let text = parameter.postgresText
            if let text, text.utf8.contains(0) {
                throw DatabaseError(
                    code: "db.parameter",
                    message: "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot store"
                )
            }
            texts.append(text)
        }
        let cStrings = texts.map { $0.map { strdup($0) } ?? nil }
        defer { cStrings.forEach { free($0) } }
        let result = cStrings.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
            PQexecParams(handle, sql, Int32(values.count), nil, values.baseAddress, nil, nil, 0)
        }
        return try consume(result)
    }

    /// Runs a script of several statements (`PQexec`, no parameters): migrations.
    func executeScript(_ sql: String) throws(DatabaseError) {
        _ = try consume(PQexec(handle, sql))
    }

    private func consume(_ result: OpaquePointer?) throws(DatabaseError) -> QueryResult {
        guard let result else {
            throw connectionLost("no result from the server: \(lastErrorMessage)")
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return QueryResult(copying: result)
        default:
            throw error(from: result)
        }
    }

    private func error(from result: OpaquePointer) -> DatabaseError {
        func field(_ code: Character) -> String? {
            guard let ascii = code.asciiValue, let value = PQresultErrorField(result, Int32(ascii)) else { return nil }
            return String(cString: value)
        }
        let sqlState = field("C")
        var message = field("M") ?? lastErrorMessage
        if let detail = field("D") { message += " — \(detail)" }
        if let hint = field("H") { message += " (hint: \(hint))" }
        message = Redaction.scrub(message, secrets: secrets)
        if sqlState.map(DatabaseError.isConnectionLossState) ?? false {
            return DatabaseError(code: "db.connection_lost", message: message, sqlState: sqlState)
        }
        if sqlState == nil, isBroken {
            return connectionLost(message)
        }
        return DatabaseError(code: "db.query", message: message, sqlState: sqlState)
    }

    private func connectionLost(_ message: String) -> DatabaseError {
        DatabaseError(code: "db.connection_lost", message: Redaction.scrub(message, secrets: secrets))
    }

    /// libpq's last error, one line, scrubbed of secrets.
    var lastErrorMessage: String {
        guard let raw = PQerrorMessage(handle) else { return "unknown libpq error" }
        let text = String(cString: raw)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
        return Redaction.scrub(text.isEmpty ? "unknown libpq error" : text, secrets: secrets)
    }

    /// Returns the next notification, waiting (with `poll` on the connection's socket) until
    /// `deadline`; nil when none arrived in time. Throws `CancellationError` if the task is
    /// cancelled while waiting.
    func nextNotification(until deadline: ContinuousClock.Instant) throws -> Notification? {
        let clock = ContinuousClock()
        while true {
            if let notification = dequeueNotification() { return notification }
            let remaining = deadline - clock.now
            if remaining <= .zero { return nil }
            try Task.checkCancellation()
            let socket = PQsocket(handle)
            guard socket >= 0 else { throw connectionLost("the connection has no socket") }
            // Short slices keep cancellation responsive without busy-waiting.
            let slice = min(remaining, .milliseconds(250))
            let milliseconds = Int32(max(1, slice.components.seconds * 1000 + slice.components.attoseconds / 1_000_000_000_000_000))
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw DatabaseError(code: "db.notification", message: "poll on the connection failed: \(Errno.current)")
            }
            if ready == 0 { continue }
            if PQconsumeInput(handle) == 0 || isBroken {
                throw connectionLost(lastErrorMessage)
            }
        }
    }

    private func dequeueNotification() -> Notification? {
        guard let raw = PQnotifies(handle) else { return nil }
        defer { PQfreemem(raw) }
        let notice = raw.pointee
        return Notification(
            channel: notice.relname.map { String(cString: $0) } ?? "",
            payload: notice.extra.map { String(cString: $0) } ?? "",
            processID: notice.be_pid
        )
    }
}

/// Logs the server's NOTICE/WARNING messages (WARNING at warning level, the rest at debug).
private final class NoticeLog {
    let logger: Logger
    let secrets: [String]

    init(logger: Logger, secrets: [String]) {
        self.logger = logger
        self.secrets = secrets
    }

    func receive(_ result: OpaquePointer) {
        func field(_ code: Character) -> String? {
            guard let ascii = code.asciiValue, let value = PQresultErrorField(result, Int32(ascii)) else { return nil }
            return String(cString: value)
        }
        let message = Redaction.scrub(field("M") ?? "", secrets: secrets)
        let severity = field("V") ?? "NOTICE"
        logger.log(level: severity == "WARNING" ? .warning : .debug, "PostgreSQL \(severity.lowercased()): \(message)")
    }
}

/// The rows of a statement's result, copied out of the `PGresult`, and the number of rows a
/// command affected.
struct QueryResult {
    let rows: [Row]
    let affectedRows: Int
    let commandStatus: String

    init(copying result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = Row.Columns(names: (0..<columnCount).map { column in
            PQfname(result, Int32(column)).map { String(cString: $0) } ?? ""
        })
        var rows: [Row] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(Row(columns: columns, values: values))
        }
        self.rows = rows
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
        commandStatus = String(cString: PQcmdStatus(result))
    }
}
