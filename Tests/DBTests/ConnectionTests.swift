import Foundation
import Synchronization
import Testing
@testable import DB

struct TestFailure: Error, Equatable {}

/// Counts the runs of a transaction body (which may run more than once).
final class Counter: Sendable {
    private let count = Mutex(0)

    func increment() -> Int { count.withLock { $0 += 1; return $0 } }
    var value: Int { count.withLock { $0 } }
}

extension PostgresTests {
    @Suite struct ConnectionTests {
        @Test func blockingCallsRunOnTheConnectionsOwnThread() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let onOwnThread = try await connection.transaction { _ in connection.isOnConnectionThread }
                #expect(onOwnThread)
                #expect(!connection.isOnConnectionThread)
            }
        }

        @Test func decodesTypedColumns() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let rows = try await connection.query("""
                    SELECT 42::bigint AS big, 'héllo'::text AS text, 0.1::float8 AS tenth,
                           'Infinity'::float8 AS inf, '-Infinity'::float8 AS minus_inf, 'NaN'::float8 AS nan,
                           true AS yes, false AS no, NULL::bigint AS missing,
                           '2024-05-01 12:34:56.25+02'::timestamptz AS stamp,
                           extract(epoch from '2024-05-01 10:34:56.25+00'::timestamptz) AS epoch
                    """)
                let row = try #require(rows.first)
                #expect(try row.decode(Int64.self, column: "big") == 42)
                #expect(try row.decode(Int.self, column: "big") == 42)
                #expect(try row.decode(String.self, column: "text") == "héllo")
                #expect(try row.decode(Double.self, column: "tenth") == 0.1)
                #expect(try row.decode(Double.self, column: "inf") == .infinity)
                #expect(try row.decode(Double.self, column: "minus_inf") == -.infinity)
                #expect(try row.decode(Double.self, column: "nan").isNaN)
                #expect(try row.decode(Bool.self, column: "yes"))
                #expect(try !row.decode(Bool.self, column: "no"))
                #expect(try row.decode(Int64?.self, column: "missing") == nil)
                #expect(row.isNull(column: "missing"))
                #expect(try row.decode(Date.self, column: "stamp") == Date(timeIntervalSince1970: 1_714_559_696.25))
                #expect(try row.decode(Date.self, column: "epoch") == Date(timeIntervalSince1970: 1_714_559_696.25))
            }
        }

        @Test func decodeErrorsNameTheColumn() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let row = try #require(try await connection.query("SELECT 'abc' AS word, NULL::text AS nothing").first)
                let notANumber = #expect(throws: DatabaseError.self) { try row.decode(Int64.self, column: "word") }
                #expect(notANumber?.code == "db.decode")
                #expect(notANumber?.message.contains("\"word\"") == true)
                let null = #expect(throws: DatabaseError.self) { try row.decode(String.self, column: "nothing") }
                #expect(null?.message.contains("\"nothing\" is NULL") == true)
                let absent = #expect(throws: DatabaseError.self) { try row.decode(String.self, column: "absent") }
                #expect(absent?.message.contains("no column \"absent\"") == true)
            }
        }

        @Test func parametersRoundTripVerbatim() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let texts = [
                    "'); DROP TABLE runs; --", #"back\slash "double" 'single'"#, "line\nbreak\ttab",
                    "ünïcödé ✓ 🙂", "", "$1", "NULL",
                ]
                for text in texts {
                    let row = try #require(try await connection.query("SELECT $1::text AS value", [text]).first)
                    #expect(try row.decode(String.self, column: "value") == text)
                }
                let doubles: [Double] = [
                    0.1, 1e-300, -2.5e300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity, 1.0 / 3,
                ]
                for value in doubles {
                    let row = try #require(try await connection.query("SELECT $1::float8 AS value", [value]).first)
                    #expect(try row.decode(Double.self, column: "value") == value)
                }
                let nan = try #require(try await connection.query("SELECT $1::float8 AS value", [Double.nan]).first)
                #expect(try nan.decode(Double.self, column: "value").isNaN)
                let extremes = try #require(try await connection.query(
                    "SELECT $1::bigint AS low, $2::bigint AS high, $3::boolean AS flag, $4::text AS none",
                    [Int64.min, Int64.max, true, String?.none]
                ).first)
                #expect(try extremes.decode(Int64.self, column: "low") == .min)
                #expect(try extremes.decode(Int64.self, column: "high") == .max)
                #expect(try extremes.decode(Bool.self, column: "flag"))
                #expect(try extremes.decode(String?.self, column: "none") == nil)
            }
        }

        @Test func arrayParametersKeepEveryElement() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let texts: [String?] = [#"a"b"#, #"c\d"#, "{e,f}", nil, "NULL", ""]
                let rows = try await connection.query(
                    "SELECT value FROM unnest($1::text[]) WITH ORDINALITY AS t(value, n) ORDER BY n", [texts]
                )
                #expect(try rows.map { try $0.decode(String?.self, column: "value") } == texts)
                let doubles = [1.5, .infinity, -0.25]
                let sums = try await connection.query("SELECT sum(v) AS total, count(*) AS n FROM unnest($1::float8[]) AS t(v)", [doubles])
                #expect(try sums.first?.decode(Double.self, column: "total") == .infinity)
                #expect(try sums.first?.decode(Int.self, column: "n") == 3)
            }
        }

        @Test func rejectsTextWithANulByte() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let error = await #expect(throws: DatabaseError.self) {
                    try await connection.query("SELECT $1::text", ["a\u{0}b"])
                }
                #expect(error?.code == "db.parameter")
                #expect(error?.message.contains("$1") == true)
            }
        }

        @Test func serverErrorsCarryTheSQLState() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let error = await #expect(throws: DatabaseError.self) {
                    try await connection.query("SELECT * FROM no_such_table")
                }
                #expect(error?.code == "db.query")
                #expect(error?.sqlState == "42P01")
                #expect(error?.message.contains("no_such_table") == true)
                // The connection is still usable afterwards.
                #expect(try await connection.query("SELECT 1 AS one").count == 1)
            }
        }

        @Test func transactionCommitsWhatTheBodyDid() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                try await connection.execute("CREATE TABLE items (name text)")
                let inserted = try await connection.transaction { transaction in
                    try transaction.execute("INSERT INTO items VALUES ($1), ($2)", ["a", "b"])
                }
                #expect(inserted == 2)
                #expect(try await connection.query("SELECT name FROM items").count == 2)
            }
        }

        @Test func transactionRollsBackWhenTheBodyThrows() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                try await connection.execute("CREATE TABLE items (name text)")
                await #expect(throws: TestFailure()) {
                    try await connection.transaction { transaction in
                        try transaction.execute("INSERT INTO items VALUES ($1)", ["a"])
                        throw TestFailure()
                    }
                }
                #expect(try await connection.query("SELECT name FROM items").isEmpty)
            }
        }

        @Test func swallowedStatementErrorStillRollsBack() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                try await connection.execute("CREATE TABLE items (name text)")
                let error = await #expect(throws: DatabaseError.self) {
                    try await connection.transaction { transaction in
                        try transaction.execute("INSERT INTO items VALUES ($1)", ["a"])
                        _ = try? transaction.execute("SELECT * FROM no_such_table")
                    }
                }
                #expect(error?.message.contains("rolled back") == true)
                #expect(try await connection.query("SELECT name FROM items").isEmpty)
            }
        }

        @Test func listenReceivesNotificationsAndTimesOut() async throws {
            try await withCluster { cluster in
                let listener = try await cluster.connect()
                let sender = try await cluster.connect()
                try await listener.listen("volumed test channel")
                #expect(try await listener.nextNotification(timeout: .milliseconds(50)) == nil)
                try await sender.notify(channel: "volumed test channel", payload: "it's \"42\"")
                let notification = try await listener.nextNotification(timeout: .seconds(10))
                #expect(notification?.channel == "volumed test channel")
                #expect(notification?.payload == "it's \"42\"")
                // Notifications sent inside a transaction arrive only when it commits.
                try await sender.transaction { transaction in
                    try transaction.execute("SELECT pg_notify($1, $2)", ["volumed test channel", "later"])
                }
                #expect(try await listener.nextNotification(timeout: .seconds(10))?.payload == "later")
            }
        }

        @Test func reconnectsAfterTheServerDropsTheSession() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let admin = try await cluster.connect()
                try await connection.listen("after_reconnect")
                let before = try #require(await connection.backendProcessID)
                _ = try await admin.query("SELECT pg_terminate_backend($1)", [before])

                // An idempotent statement is retried on a new session.
                let row = try #require(try await connection.query("SELECT 7 AS seven", idempotent: true).first)
                #expect(try row.decode(Int.self, column: "seven") == 7)
                let after = try #require(await connection.backendProcessID)
                #expect(after != before)

                // LISTEN was re-issued on the new session.
                try await admin.notify(channel: "after_reconnect", payload: "still here")
                #expect(try await connection.nextNotification(timeout: .seconds(10))?.payload == "still here")
            }
        }

        @Test func idleConnectionClosedByTheServerIsReplacedBeforeTheNextStatement() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let admin = try await cluster.connect()
                try await connection.execute("CREATE TABLE items (name text)")
                let pid = try #require(await connection.backendProcessID)
                // Waits (up to 10 s) until the backend is gone.
                _ = try await admin.query("SELECT pg_terminate_backend($1, 10000)", [pid])
                // Not idempotent, but nothing was sent on the dead session: safe to run.
                try await connection.execute("INSERT INTO items VALUES ($1)", ["once"])
                #expect(try await admin.query("SELECT name FROM items").count == 1)
                #expect(await connection.backendProcessID != pid)
            }
        }

        @Test func transactionIsRetriedWhenTheConnectionDropsBeforeCommit() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                try await connection.execute("CREATE TABLE items (name text)")
                let runs = Counter()
                try await connection.transaction { transaction in
                    try transaction.execute("INSERT INTO items VALUES ($1)", ["once"])
                    if runs.increment() == 1 {
                        // The session dies mid-transaction: the server rolls it back.
                        try transaction.execute("SELECT pg_terminate_backend(pg_backend_pid())")
                    }
                }
                #expect(runs.value == 2)
                #expect(try await connection.query("SELECT name FROM items").count == 1)
            }
        }

        @Test func nonIdempotentStatementOnALostConnectionReportsTheUnknownOutcome() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                try await connection.execute("CREATE TABLE items (name text)")
                let error = await #expect(throws: DatabaseError.self) {
                    try await connection.execute("INSERT INTO items SELECT 'maybe' FROM pg_terminate_backend(pg_backend_pid())")
                }
                #expect(error?.code == "db.connection_lost")
                #expect(error?.message.contains("may or may not") == true)
                // The next call reconnects.
                #expect(try await connection.query("SELECT name FROM items").isEmpty)
            }
        }

        @Test func closedConnectionRefusesWork() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                await connection.close()
                let error = await #expect(throws: DatabaseError.self) {
                    try await connection.query("SELECT 1", idempotent: true)
                }
                #expect(error?.code == "db.connect")
            }
        }

        @Test func invalidConnectionStringsAreReportedWithoutTheirSecrets() async throws {
            let attempts = [
                "host=/nonexistent password=hunter2 hunter2stray",
                "host=/nonexistent password='hunter2' bogus_option=hunter2",
                "postgresql://alice:hunter2@[::1/volumed",
            ]
            for connectionString in attempts {
                let error = await #expect(throws: DatabaseError.self) {
                    try await Connection.connect(to: connectionString)
                }
                #expect(error?.code == "db.connect")
                #expect(error.map { !$0.description.contains("hunter2") } == true, "\(error?.description ?? "")")
            }
        }

        @Test func unreachableServerFailsFastWithoutTheConnectionString() async throws {
            let error = await #expect(throws: DatabaseError.self) {
                try await Connection.connect(to: "host=/nonexistent-socket-dir user=alice password=hunter2")
            }
            #expect(error?.code == "db.connect")
            #expect(error?.message.contains("/nonexistent-socket-dir") == true)
            #expect(error?.description.contains("hunter2") == false)
        }

        @Test func listensOnlyOnItsPrivateSocket() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let row = try #require(try await connection.query(
                    "SELECT current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets"
                ).first)
                #expect(try row.decode(String.self, column: "listen") == "")
                #expect(try row.decode(String.self, column: "sockets") == "\"\(cluster.cluster.layout.socketDirectory)\"")
            }
        }
    }
}
