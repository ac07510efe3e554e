import Base
import CLibPQ
import Foundation
import Logging
import SystemPackage

/// volumed's private PostgreSQL cluster under its state directory, made with the system's
/// `initdb` and run with `pg_ctl`: Unix socket only (`listen_addresses = ''`), trust
/// authentication on that private socket (or SCRAM with a password, for tests), and as an
/// unprivileged user (`postgres`, else `nobody`) when volumed runs as root.
///
/// Processes sharing a state directory share the cluster: each holds a shared `flock` on
/// `<state>/postgres/users.lock` while using it, and `stop()` shuts the server down
/// (`pg_ctl -m fast`) only when no other process holds one — so the command that started it
/// stops it on exit unless another command is still using it; the data stays. A server left
/// running by a killed process (live `postmaster.pid`) is adopted if it answers, otherwise
/// stopped and started again; a stale `postmaster.pid` (dead or unrelated process) is removed.
///
/// An actor on a dedicated thread: `initdb` and `pg_ctl` block for up to seconds.
public actor EmbeddedPostgres {
    public struct Options: Sendable {
        /// false turns off fsync, synchronous commit and full-page writes: for tests only.
        public var durable: Bool
        /// When set, the cluster uses `scram-sha-256` password authentication with this
        /// password for the `postgres` user (instead of trust on the private socket).
        public var password: String?
        /// Extra `postgresql.conf` settings, e.g. `["max_connections": "50"]`.
        public var settings: [String: String]
        public var databaseName: String
        /// The PostgreSQL `bin` directory; default: the newest `/usr/lib/postgresql/*/bin`.
        public var binDirectory: String?
        public var startTimeoutSeconds: Int

        public init(
            durable: Bool = true,
            password: String? = nil,
            settings: [String: String] = [:],
            databaseName: String = "volumed",
            binDirectory: String? = nil,
            startTimeoutSeconds: Int = 60
        ) {
            self.durable = durable
            self.password = password
            self.settings = settings
            self.databaseName = databaseName
            self.binDirectory = binDirectory
            self.startTimeoutSeconds = startTimeoutSeconds
        }
    }

    /// What `start()` found.
    public enum StartOutcome: Sendable, Equatable {
        /// A new cluster was created and started.
        case created
        /// The existing cluster was started.
        case started
        /// A server was already running and answering (another volumed, or one left by a
        /// killed process).
        case adopted
    }

    public nonisolated let layout: ClusterLayout
    private let options: Options
    private let thread = DatabaseThread(name: "volumed-postgres")
    private var usersLock: Int32 = -1
    private var account: ServiceAccount?
    private var binDirectory: String?

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        thread.asUnownedSerialExecutor()
    }

    public init(stateDirectory: String, options: Options = Options()) {
        layout = ClusterLayout(stateDirectory: stateDirectory, databaseName: options.databaseName)
        self.options = options
    }

    deinit {
        if usersLock >= 0 { close(usersLock) }
    }

    /// Connection string for the volumed database (with the password, if one is set).
    public nonisolated var connectionString: String {
        layout.connectionString(password: options.password)
    }

    // MARK: Start and stop

    /// Creates the cluster if needed, then starts it or adopts the running server, and creates
    /// the database. Idempotent.
    @discardableResult
    public func start() throws -> StartOutcome {
        let account = try ServiceAccount.forCurrentProcess()
        self.account = account
        let bin = try resolveBinDirectory()
        try prepareDirectories(account)
        if usersLock < 0 {
            usersLock = try openLock("users.lock")
            try lock(usersLock, LOCK_SH, "users.lock")
        }
        let startLock = try openLock("start.lock")
        defer { close(startLock) }
        try lock(startLock, LOCK_EX, "start.lock")

        var outcome = StartOutcome.started
        if !FileManager.default.fileExists(atPath: layout.dataDirectory + "/PG_VERSION") {
            try initialize(bin: bin)
            outcome = .created
        }
        if try adoptRunningServer(bin: bin) {
            outcome = .adopted
        } else {
            try writeSettings()
            try pgctl(bin, ["start", "-w", "-t", String(options.startTimeoutSeconds), "-l", Self.relativeLogFile], "starting PostgreSQL")
        }
        try createDatabase()
        return outcome
    }

    /// Stops the server unless another process still uses the cluster; returns whether it
    /// stopped it. Safe to call when not started.
    @discardableResult
    public func stop() throws -> Bool {
        guard usersLock >= 0 else { return false }
        defer {
            close(usersLock)
            usersLock = -1
        }
        // Converting to exclusive succeeds only when no other process holds the shared lock.
        guard flock(usersLock, LOCK_EX | LOCK_NB) == 0 else { return false }
        guard let bin = binDirectory, serverProcessID() != nil else { return false }
        try pgctl(bin, ["stop", "-m", "fast", "-w", "-t", String(options.startTimeoutSeconds)], "stopping PostgreSQL")
        return true
    }

    /// Restarts the server (`pg_ctl restart -m fast`), dropping every connection. Tests use it
    /// to check that clients reconnect.
    func restart() throws {
        guard let bin = binDirectory else {
            throw DatabaseError(code: "db.embedded", message: "the cluster was not started")
        }
        try pgctl(bin, ["restart", "-m", "fast", "-w", "-t", String(options.startTimeoutSeconds), "-l", Self.relativeLogFile], "restarting PostgreSQL")
    }

    /// Lets go of the cluster without stopping it, as a killed process would.
    func abandon() {
        if usersLock >= 0 { close(usersLock) }
        usersLock = -1
    }

    // MARK: Steps

    private func resolveBinDirectory() throws -> String {
        if let binDirectory { return binDirectory }
        let resolved: String
        if let configured = options.binDirectory {
            resolved = configured
        } else {
            resolved = try Self.newestBinDirectory()
        }
        for tool in ["initdb", "pg_ctl", "postgres"] where !FileManager.default.isExecutableFile(atPath: "\(resolved)/\(tool)") {
            throw DatabaseError(code: "db.embedded", message: "\(resolved)/\(tool) is missing or not executable")
        }
        binDirectory = resolved
        return resolved
    }

    /// Creates `<state>/postgres` (and the socket directory) for the account that runs the
    /// server, and checks that it can reach them.
    private func prepareDirectories(_ account: ServiceAccount?) throws {
        let stateDirectory = String(layout.clusterDirectory.dropLast("/postgres".count))
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory.isEmpty ? "/" : stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw DatabaseError(code: "db.embedded", message: "cannot create state directory \(stateDirectory): \(Self.reason(error))")
        }
        if mkdir(layout.clusterDirectory, 0o700) != 0, errno != EEXIST {
            throw DatabaseError(code: "db.embedded", message: "cannot create \(layout.clusterDirectory): \(Errno.current)")
        }
        try ownDirectory(layout.clusterDirectory, account)
        if let account { try checkTraversable(layout.clusterDirectory, by: account) }
        if layout.usesShortSocketDirectory {
            // A shared /tmp: the directory must be ours, not something planted there.
            if mkdir(layout.socketDirectory, 0o700) != 0, errno != EEXIST {
                throw DatabaseError(code: "db.embedded", message: "cannot create socket directory \(layout.socketDirectory): \(Errno.current)")
            }
            guard let info = try? Stat(layout.socketDirectory, followTargetSymlink: false), info.type == .directory,
                  info.userID.rawValue == (account?.uid ?? geteuid()) || info.userID.rawValue == geteuid()
            else {
                throw DatabaseError(
                    code: "db.embedded",
                    message: "the state directory's path is too long for a Unix socket, and the fallback socket directory \(layout.socketDirectory) is not a directory owned by volumed; remove it or use a shorter state directory"
                )
            }
            try ownDirectory(layout.socketDirectory, account)
        } else {
            if mkdir(layout.socketDirectory, 0o700) != 0, errno != EEXIST {
                throw DatabaseError(code: "db.embedded", message: "cannot create socket directory \(layout.socketDirectory): \(Errno.current)")
            }
            try ownDirectory(layout.socketDirectory, account)
        }
    }

    private func ownDirectory(_ path: String, _ account: ServiceAccount?) throws {
        guard let account else { return }
        guard chown(path, account.uid, account.gid) == 0, chmod(path, 0o700) == 0 else {
            throw DatabaseError(code: "db.embedded", message: "cannot hand \(path) to user \(account.name): \(Errno.current)")
        }
    }

    private func checkTraversable(_ path: String, by account: ServiceAccount) throws {
        var prefix = ""
        for component in path.split(separator: "/").dropLast() {
            prefix += "/" + component
            guard let info = try? Stat(prefix) else { continue }
            if !account.canTraverse(info) {
                throw DatabaseError(
                    code: "db.embedded",
                    message: "PostgreSQL runs as user \(account.name), which cannot enter \(prefix) (mode 0\(String(info.permissions.rawValue & 0o777, radix: 8)), owner uid \(info.userID.rawValue)); use a state directory it can reach (e.g. under /var/lib) or make \(prefix) traversable (chmod o+x)"
                )
            }
        }
    }

    private func initialize(bin: String) throws {
        let data = layout.dataDirectory
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: data) {
            guard contents.isEmpty else {
                throw DatabaseError(
                    code: "db.embedded",
                    message: "\(data) exists but is not a PostgreSQL data directory (no PG_VERSION); move it away to let volumed create a new cluster"
                )
            }
            try ownDirectory(data, account)
        }
        var arguments = [
            "\(bin)/initdb", "-D", Self.relativeDataDirectory, "-U", layout.user, "-E", "UTF8", "--locale=C.UTF-8",
        ]
        var passwordFile: String?
        if let password = options.password {
            let file = layout.clusterDirectory + "/initdb.pw"
            try writeFile(file, contents: password + "\n", mode: 0o600)
            passwordFile = file
            arguments += ["--auth=scram-sha-256", "--pwfile=\(file)"]
        } else {
            arguments += ["--auth=trust"]
        }
        if !options.durable { arguments.append("--no-sync") }
        defer { if let passwordFile { unlink(passwordFile) } }
        let outcome = try run(arguments)
        guard outcome.succeeded else {
            throw DatabaseError(code: "db.embedded", message: "initdb failed (exit \(outcome.status)): \(outcome.tail)")
        }
        // Settings that depend on this run (socket path) live in an included file rewritten
        // before every start.
        guard let handle = FileHandle(forWritingAtPath: data + "/postgresql.conf") else {
            throw DatabaseError(code: "db.embedded", message: "cannot open \(data)/postgresql.conf")
        }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("\n# Written by volumed before each start.\ninclude_if_exists = 'volumed.conf'\n".utf8))
        } catch {
            throw DatabaseError(code: "db.embedded", message: "cannot append to \(data)/postgresql.conf: \(Self.reason(error))")
        }
    }

    private func writeSettings() throws {
        var settings = [
            "listen_addresses": "",
            // A list setting: quote the one element so spaces in the path survive.
            "unix_socket_directories": "\"" + layout.socketDirectory.replacing("\"", with: "\"\"") + "\"",
            "port": String(layout.port),
        ]
        if !options.durable {
            settings["fsync"] = "off"
            settings["synchronous_commit"] = "off"
            settings["full_page_writes"] = "off"
        }
        settings.merge(options.settings) { _, custom in custom }
        var text = "# Written by volumed before each start; edits are overwritten.\n"
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            guard !value.contains("\n"), !name.contains("\n") else {
                throw DatabaseError(code: "db.embedded", message: "setting \(name) contains a line break")
            }
            text += "\(name) = '\(value.replacing("'", with: "''"))'\n"
        }
        try writeFile(layout.dataDirectory + "/volumed.conf", contents: text, mode: 0o600)
    }

    /// True if a server for this data directory is running and answers (adopt it). A pid
    /// file of a dead or unrelated process is removed; a server that does not answer is
    /// stopped so it can be started cleanly.
    private func adoptRunningServer(bin: String) throws -> Bool {
        guard let pid = serverProcessID() else { return false }
        guard Self.isPostgresProcess(pid) else {
            // The pid was reused by something else (e.g. after a reboot): PostgreSQL would
            // refuse to start while the file names a live process.
            unlink(layout.dataDirectory + "/postmaster.pid")
            return false
        }
        let parameters = try ConnectionParameters(
            layout.connectionString(database: "postgres", password: options.password),
            applicationName: "volumed"
        )
        // It may be starting up or shutting down: give it a moment to settle.
        for _ in 0..<50 {
            switch LibPQSession.ping(parameters) {
            case PQPING_OK:
                return true
            case PQPING_NO_ATTEMPT:
                return false
            default:
                guard serverProcessID() != nil else { return false }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        try pgctl(bin, ["stop", "-m", "fast", "-w", "-t", String(options.startTimeoutSeconds)], "stopping an unresponsive PostgreSQL")
        return false
    }

    private func serverProcessID() -> pid_t? { Self.serverProcessID(layout) }

    /// The pid in the cluster's `postmaster.pid` if that process is alive.
    public static func serverProcessID(_ layout: ClusterLayout) -> pid_t? {
        guard let text = try? String(contentsOfFile: layout.dataDirectory + "/postmaster.pid", encoding: .utf8),
              let first = text.split(whereSeparator: \.isNewline).first,
              let pid = pid_t(first.trimmingCharacters(in: .whitespaces)), pid > 0
        else { return nil }
        // EPERM: alive, but another user's.
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }
        return pid
    }

    /// The newest installed server's programs, `/usr/lib/postgresql/<version>/bin`.
    public static func newestBinDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name in Int(name).map { (version: $0, name: name) } }
            .filter { FileManager.default.isExecutableFile(atPath: "\(root)/\($0.name)/bin/initdb") }
            .sorted { $0.version > $1.version }
        guard let newest = versions.first else {
            throw DatabaseError(
                code: "db.embedded",
                message: "no PostgreSQL server found (looked for \(root)/<version>/bin/initdb); install PostgreSQL or give a database URL"
            )
        }
        return "\(root)/\(newest.name)/bin"
    }

    private static func isPostgresProcess(_ pid: pid_t) -> Bool {
        guard let name = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return false }
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed == "postgres" || trimmed == "postmaster"
    }

    private func createDatabase() throws {
        let parameters = try ConnectionParameters(
            layout.connectionString(database: "postgres", password: options.password),
            applicationName: "volumed"
        )
        let session = try LibPQSession.connect(parameters, logger: Logger(label: "volumed.db"))
        let exists = try session.execute("SELECT 1 FROM pg_database WHERE datname = $1", [layout.databaseName])
        if exists.rows.isEmpty {
            _ = try session.execute("CREATE DATABASE \(Connection.quoteIdentifier(layout.databaseName))")
        }
    }

    // MARK: Helpers

    /// Paths as given to initdb and pg_ctl, which run in the cluster directory: pg_ctl pastes
    /// them into a shell command inside double quotes without escaping, so absolute paths
    /// with `"` or `$` in them would break it.
    private static let relativeDataDirectory = "data"
    private static let relativeLogFile = "postgres.log"

    private func pgctl(_ bin: String, _ arguments: [String], _ what: String) throws {
        let outcome = try run(["\(bin)/pg_ctl", "-D", Self.relativeDataDirectory] + arguments)
        guard outcome.succeeded else {
            var message = "\(what) failed (pg_ctl exit \(outcome.status)): \(outcome.tail)"
            if let log = try? String(contentsOfFile: layout.logFile, encoding: .utf8) {
                let lines = log.split(whereSeparator: \.isNewline).suffix(5)
                message += "; server log \(layout.logFile): " + lines.joined(separator: " | ")
            }
            throw DatabaseError(code: "db.embedded", message: message)
        }
    }

    private func run(_ arguments: [String]) throws(DatabaseError) -> ChildProcess.Outcome {
        do {
            return try ChildProcess.run(
                account?.command(arguments) ?? arguments,
                environment: ["PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"],
                workingDirectory: layout.clusterDirectory
            )
        } catch {
            throw DatabaseError(code: "db.embedded", message: error.message)
        }
    }

    private func writeFile(_ path: String, contents: String, mode: mode_t) throws {
        do {
            try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw DatabaseError(code: "db.embedded", message: "cannot write \(path): \(Self.reason(error))")
        }
        chmod(path, mode)
        if let account, chown(path, account.uid, account.gid) != 0 {
            throw DatabaseError(code: "db.embedded", message: "cannot hand \(path) to user \(account.name): \(Errno.current)")
        }
    }

    private func openLock(_ name: String) throws -> Int32 {
        let path = layout.clusterDirectory + "/" + name
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw DatabaseError(code: "db.embedded", message: "cannot open \(path): \(Errno.current)")
        }
        return descriptor
    }

    private func lock(_ descriptor: Int32, _ operation: Int32, _ name: String) throws {
        while flock(descriptor, operation) != 0 {
            guard errno == EINTR else {
                throw DatabaseError(code: "db.embedded", message: "cannot lock \(layout.clusterDirectory)/\(name): \(Errno.current)")
            }
        }
    }

    private static func reason(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }
}
