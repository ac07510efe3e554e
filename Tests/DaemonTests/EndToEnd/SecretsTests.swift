import DB
import Foundation
import Glibc
import Testing

extension ServeEndToEnd {
    /// A database password given to `volumed` (in the configuration file, `$VOLUMED_DATABASE_URL`,
    /// `--database-url` or libpq's `$PGPASSWORD`) never appears in anything it prints: stdout,
    /// stderr, or the daemon's log, on success and on every failure path. Each test also checks
    /// that the commands really used the password-protected server and printed the expected
    /// error, so that a command that failed early, or used another database, cannot pass.
    @Suite struct Secrets {
        @Test func passwordInConfigEnvironmentOrFlagNeverReachesTheOutput() async throws {
            try await PasswordProtectedServer.with { server in
                let password = server.password
                let withURL = try server.writeConfig("with-url.toml", databaseURL: server.connectionString(password: password))
                let plain = try server.writeConfig("plain.toml")

                let migrate = try await server.run(["migrate", "--config", withURL])
                #expect(migrate.termination == .exited(0), "\(migrate.output)")
                #expect(migrate.output.contains("applied \(Migration.bundled.count) migration(s)"), "\(migrate.output)")

                let status = try await server.run(["status", "--config", plain], environment: ["VOLUMED_DATABASE_URL": server.url(password: password)])
                #expect(status.termination == .exited(0), "\(status.output)")
                #expect(status.output.contains("database  host=\(server.socketDirectory) port=5432 dbname=volumed\n"), "\(status.output)")
                #expect(status.output.contains("jobs      0 queued, 0 running, 0 done, 0 failed"), "\(status.output)")

                let flag = try await server.run(["status", "--config", plain, "--database-url", server.url(password: password)])
                #expect(flag.termination == .exited(0), "\(flag.output)")
                #expect(flag.output.contains("jobs      0 queued"), "\(flag.output)")

                let url = try await server.run(["db", "url", "--config", withURL])
                #expect(url.termination == .exited(0), "\(url.output)")
                #expect(url.output.contains("psql 'host=\(server.socketDirectory) port=5432 dbname=volumed user=postgres'"), "\(url.output)")

                // The daemon at debug level, started, then stopped.
                let serve = try await server.serve(["--config", withURL]) { daemon in
                    try await server.waitUntil("the scan to finish", daemon) { daemon.log.contains("scan finished") }
                    return daemon.log
                }
                #expect(serve.termination == .exited(0), "\(serve.result)")
                #expect(serve.result.contains("database=\"host=\(server.socketDirectory) port=5432 dbname=volumed (from [database] url)"), "\(serve.result)")

                // What the commands did happened in the password-protected server.
                let connection = try await server.connect()
                let versions = try await connection.query("SELECT version FROM schema_migrations")
                await connection.close()
                #expect(versions.count == Migration.bundled.count)

                #expect(server.transcript.count == 5)
                let leaks = server.leaks(of: password)
                #expect(leaks.isEmpty, "the password appears in:\n\(leaks.joined(separator: "\n\n"))")
            }
        }

        @Test func wrongPasswordsFailVisiblyWithoutBeingEchoed() async throws {
            try await PasswordProtectedServer.with { server in
                let wrong = "wrong-secret-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
                let withWrongURL = try server.writeConfig("wrong.toml", databaseURL: server.connectionString(password: wrong))
                let plain = try server.writeConfig("plain.toml")
                let libpqEnvironment = [
                    "VOLUMED_DATABASE_URL": "postgresql://", "PGHOST": server.socketDirectory, "PGPORT": "5432",
                    "PGUSER": "postgres", "PGDATABASE": "volumed", "PGPASSWORD": wrong,
                ]
                let refused: [(arguments: [String], environment: [String: String])] = [
                    (["migrate", "--config", withWrongURL], [:]),
                    (["status", "--config", plain], ["VOLUMED_DATABASE_URL": server.url(password: wrong)]),
                    (["status", "--config", plain, "--database-url", server.url(password: wrong)], [:]),
                    (["migrate", "--config", plain], libpqEnvironment),
                    (["serve", "--config", plain, "--watch", server.workspace.watchRoot], ["VOLUMED_DATABASE_URL": server.url(password: wrong)]),
                ]
                for (arguments, environment) in refused {
                    let outcome = try await server.run(arguments, environment: environment)
                    #expect(outcome.termination == .exited(1), "volumed \(arguments.joined(separator: " ")): \(outcome.output)")
                    #expect(outcome.output.contains("password authentication failed for user \"postgres\""),
                            "volumed \(arguments.joined(separator: " ")): \(outcome.output)")
                }

                // Connection strings libpq cannot parse: its messages quote the offending part.
                let malformed = [
                    // `missing "=" after "…"`: the stray word is the password.
                    server.connectionString(password: "x") + " " + wrong,
                    // `invalid percent-encoded token: "…"`: the password with a bad escape.
                    "postgresql://postgres:\(wrong)%zz@/volumed?host=\(server.socketDirectory)",
                ]
                for connectionString in malformed {
                    let config = try server.writeConfig("malformed.toml", databaseURL: connectionString)
                    let outcome = try await server.run(["status", "--config", config])
                    #expect(outcome.termination == .exited(1), "\(outcome.output)")
                    #expect(outcome.output.contains("invalid connection string or URL"), "\(outcome.output)")
                }

                #expect(server.transcript.count == refused.count + malformed.count)
                for secret in [wrong, server.password] {
                    let leaks = server.leaks(of: secret)
                    #expect(leaks.isEmpty, "\(secret) appears in:\n\(leaks.joined(separator: "\n\n"))")
                }
            }
        }

        /// The daemon's connections are dropped while the server's password has changed: its
        /// reconnection attempts fail and are logged (with libpq's message), without the
        /// password; once the password is back, it reconnects and keeps serving.
        @Test func failedReconnectionsAreLoggedWithoutThePassword() async throws {
            try await PasswordProtectedServer.with { server in
                let password = server.password
                let interim = "interim-secret-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
                let plain = try server.writeConfig("plain.toml")
                let admin = try await server.connect()
                let daemonBackends = "SELECT pid FROM pg_stat_activity WHERE application_name = 'volumed'"
                let serve = try await server.serve(["--config", plain], environment: ["VOLUMED_DATABASE_URL": server.url(password: password)]) { daemon in
                    // Every service's connection set up (a session dropped while it is being set up
                    // fails that service's start, which is not what this test is about): the scheduler
                    // connects before READY=1; the worker's LISTEN and the status reporter's first
                    // query follow their sessions' set-up query.
                    let setUp = """
                        SELECT count(*) AS sessions, count(*) FILTER (WHERE query NOT LIKE '%set_config%') AS past_set_up
                        FROM pg_stat_activity WHERE application_name = 'volumed'
                        """
                    try await server.waitUntil("the daemon's connections", daemon) {
                        guard let row = try await admin.query(setUp).first else { return false }
                        return try row.decode(Int.self, column: "sessions") >= 3 && row.decode(Int.self, column: "past_set_up") >= 2
                    }
                    _ = try await admin.execute("ALTER ROLE postgres PASSWORD '\(interim)'")
                    _ = try await admin.execute("SELECT pg_terminate_backend(pid) FROM (\(daemonBackends)) AS daemon")
                    // Logged as a metadata value, which escapes the quotes around the user's name.
                    try await server.waitUntil("a failed reconnection in the log", daemon) {
                        daemon.log.contains(#"password authentication failed for user \"postgres\""#)
                    }
                    _ = try await admin.execute("ALTER ROLE postgres PASSWORD '\(password)'")
                    try await server.waitUntil("the daemon to reconnect", daemon) { try await !admin.query(daemonBackends).isEmpty }
                    return daemon.log
                }
                await admin.close()
                #expect(serve.termination == .exited(0), "\(serve.result)")

                for secret in [password, interim] {
                    let leaks = server.leaks(of: secret)
                    #expect(leaks.isEmpty, "\(secret) appears in:\n\(leaks.joined(separator: "\n\n"))")
                }
            }
        }
    }
}
