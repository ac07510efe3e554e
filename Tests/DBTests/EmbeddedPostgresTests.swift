import Base
import Foundation
import Testing
@testable import DB

/// Runs `body` with a state directory and stops every cluster started in it afterwards
/// (whatever the test did), then deletes it.
private func withStateDirectory(
    _ path: String? = nil,
    _ body: (String) async throws -> Void
) async throws {
    let stateDirectory = try path ?? makeStateDirectory()
    defer { removeStateDirectory(stateDirectory) }
    do {
        try await body(stateDirectory)
    } catch {
        await forceStop(stateDirectory)
        throw error
    }
    await forceStop(stateDirectory)
}

/// Stops whatever server runs in the state directory, even one the test abandoned.
private func forceStop(_ stateDirectory: String) async {
    let cleanup = EmbeddedPostgres(stateDirectory: stateDirectory, options: TestCluster.options)
    if FileManager.default.fileExists(atPath: ClusterLayout(stateDirectory: stateDirectory).dataDirectory + "/postmaster.pid") {
        _ = try? await cleanup.start()
        _ = try? await cleanup.stop()
    }
}

private func count(_ connection: Connection, _ table: String) async throws -> Int {
    try #require(try await connection.query("SELECT count(*) AS n FROM \(table)").first).decode(Int.self, column: "n")
}

@Suite struct EmbeddedPostgresTests {
    @Test func createsStartsAndStopsKeepingTheData() async throws {
        let base = try makeStateDirectory()
        defer { removeStateDirectory(base) }
        // Spaces and quotes in the path must survive postgresql.conf, libpq and the shell.
        let awkward = base + "/it's a \"state\" dir"
        try await withStateDirectory(awkward) { state in
            let first = EmbeddedPostgres(stateDirectory: state, options: TestCluster.options)
            #expect(try await first.start() == .created)
            let connection = try await Connection.connect(to: first.connectionString)
            try await connection.execute("CREATE TABLE kept (x int)")
            try await connection.execute("INSERT INTO kept VALUES (1)")
            await connection.close()
            // The command `volumed db url` prints works as given.
            let psql = try ChildProcess.run(
                ["/bin/sh", "-c", first.layout.psqlCommand + " -tAc 'SELECT count(*) FROM kept'"],
                environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/"
            )
            #expect(psql.status == 0, "\(psql.output)")
            #expect(psql.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
            #expect(try await first.stop())
            #expect(!FileManager.default.fileExists(atPath: first.layout.dataDirectory + "/postmaster.pid"))

            let second = EmbeddedPostgres(stateDirectory: state, options: TestCluster.options)
            #expect(try await second.start() == .started)
            let again = try await Connection.connect(to: second.connectionString)
            #expect(try await count(again, "kept") == 1)
            await again.close()
            #expect(try await second.stop())
        }
    }

    @Test func adoptsAServerLeftRunningByAKilledProcess() async throws {
        try await withStateDirectory { state in
            let killed = EmbeddedPostgres(stateDirectory: state, options: TestCluster.options)
            try await killed.start()
            await killed.abandon()

            let next = EmbeddedPostgres(stateDirectory: state, options: TestCluster.options)
            #expect(try await next.start() == .adopted)
            let connection = try await Connection.connect(to: next.connectionString)
            #expect(try await connection.query("SELECT 1 AS one").count == 1)
            await connection.close()
            #expect(try await next.stop())
            #expect(!FileManager.default.fileExists(atPath: next.layout.dataDirectory + "/postmaster.pid"))
        }
    }

    @Test func serverStaysUpWhileAnotherProcessUsesIt() async throws {
        try await withStateDirectory { state in
            let serve = EmbeddedPostgres(stateDirectory: state, options: TestCluster.options)
            let status = EmbeddedPostgres(stateDirectory: state, options: TestCluster.options)
            #expect(try await serve.start() == .created)
            #expect(try await status.start() == .adopted)
            let connection = try await Connection.connect(to: status.connectionString)
            #expect(try await serve.stop() == false)
            #expect(try await connection.query("SELECT 1 AS one", idempotent: true).count == 1)
            await connection.close()
            #expect(try await status.stop())
        }
    }

    @Test func stalePidFilesAreHandled() async throws {
        try await withStateDirectory { state in
            let cluster = EmbeddedPostgres(stateDirectory: state, options: TestCluster.options)
            try await cluster.start()
            try await cluster.stop()
            let pidFile = cluster.layout.dataDirectory + "/postmaster.pid"
            // pid_max is at most 4194304, so 99999999 is never alive; our own pid is alive but
            // not a postgres server (as after a reboot that reused the pid).
            for pid in ["99999999", String(getpid())] {
                let fake = "\(pid)\n\(cluster.layout.dataDirectory)\n1700000000\n5432\n\(cluster.layout.socketDirectory)\n\n  5432001         0\nready   \n"
                try fake.write(toFile: pidFile, atomically: true, encoding: .utf8)

                #expect(try await cluster.start() == .started, "pid file naming \(pid)")
                let connection = try await Connection.connect(to: cluster.connectionString)
                #expect(try await connection.query("SELECT 1 AS one").count == 1)
                await connection.close()
                #expect(try await cluster.stop())
            }
        }
    }

    @Test func longStateDirectoryUsesAShortSocketDirectory() async throws {
        let base = try makeStateDirectory()
        defer { removeStateDirectory(base) }
        var long = base
        while long.utf8.count < 110 {
            long += "/deeper-state-directory"
            try FileManager.default.createDirectory(atPath: long, withIntermediateDirectories: true)
            chmod(long, 0o755)
        }
        let layout = ClusterLayout(stateDirectory: long)
        #expect(layout.socketDirectory.hasPrefix("/tmp/volumed-"))
        defer { try? FileManager.default.removeItem(atPath: layout.socketDirectory) }
        try await withStateDirectory(long) { state in
            let cluster = EmbeddedPostgres(stateDirectory: state, options: TestCluster.options)
            try await cluster.start()
            let connection = try await Connection.connect(to: cluster.connectionString)
            #expect(try await connection.query("SELECT 1 AS one").count == 1)
            await connection.close()
            try await cluster.stop()
        }
    }

    @Test(.enabled(if: geteuid() == 0, "only root hands the cluster to another user"))
    func untraversableParentIsAClearError() async throws {
        let base = try makeStateDirectory()
        defer { removeStateDirectory(base) }
        let locked = base + "/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
        chmod(locked, 0o700)
        let cluster = EmbeddedPostgres(stateDirectory: locked + "/state", options: TestCluster.options)
        let error = await #expect(throws: DatabaseError.self) { try await cluster.start() }
        #expect(error?.code == "db.embedded")
        #expect(error?.message.contains("cannot enter \(locked)") == true, "\(String(describing: error))")
    }

    @Test func wrongPasswordIsAClearErrorWithoutTheSecret() async throws {
        var options = TestCluster.options
        options.password = "correct-horse-battery"
        try await withCluster(options: options) { cluster in
            let wrong = "wrong-staple-\(UInt32.random(in: 0...UInt32.max))"
            let connectionString = cluster.cluster.layout.connectionString(password: wrong)
            let error = await #expect(throws: DatabaseError.self) {
                try await Connection.connect(to: connectionString)
            }
            #expect(error?.code == "db.connect")
            #expect(error?.message.contains("password authentication failed") == true)
            #expect(error.map { !"\($0)".contains(wrong) && !$0.message.contains(wrong) } == true)
            #expect(error.map { !"\($0)".contains("correct-horse-battery") } == true)

            // The right password works, and the connection's description hides it.
            let connection = try await cluster.connect()
            #expect(!connection.description.contains("correct-horse-battery"))
            #expect(try await connection.query("SELECT 1 AS one").count == 1)
        }
    }
}

@Suite struct DatabaseTests {
    @Test func openingTheEmbeddedLocationStartsTheClusterAndCloseStopsIt() async throws {
        let state = try makeStateDirectory()
        defer { removeStateDirectory(state) }
        let database = try await Database.open(.embedded(stateDirectory: state), embeddedOptions: TestCluster.options)
        do {
            #expect(database.psqlCommand == ClusterLayout(stateDirectory: state).psqlCommand)
            let connection = try await database.connect()
            #expect(try await Migrator().migrate(connection).count == Migration.bundled.count)
            await connection.close()
        } catch {
            _ = try? await database.close()
            throw error
        }
        try await database.close()
        #expect(!FileManager.default.fileExists(atPath: ClusterLayout(stateDirectory: state).dataDirectory + "/postmaster.pid"))
    }

    @Test func openingAServerValidatesTheConnectionStringWithoutLeakingIt() async throws {
        let location = DatabaseLocation.server(connectionString: "host=db password=hunter2 oops", source: .config)
        let error = await #expect(throws: DatabaseError.self) { try await Database.open(location) }
        #expect(error?.code == "db.connect")
        #expect(error.map { !"\($0)".contains("hunter2") } == true)
    }
}
