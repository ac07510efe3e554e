import Base
import Estimator
import Logging

/// The daemon's configuration: `/etc/volumed/volumed.toml` or the file given with `--config`.
/// Every key has a default, so an empty (or, at the default path, absent) file is a valid
/// configuration. Unknown tables and keys, wrong types and out-of-range values are errors that
/// name the dotted key.
public struct Config: Sendable, Equatable {
    public static let defaultPath = "/etc/volumed/volumed.toml"

    public var watch = Watch()
    public var database = Database()
    /// `[estimate]`: the settings every checkpoint is estimated under (docs/estimator.md, "Settings and defaults"),
    /// the base that a run's `volume.toml` `[estimate]` overrides; read by `EstimateOverrides`.
    public var estimate = EstimationPlan()
    /// `[llc]`: whether every new checkpoint also gets an LLC job and its settings (off unless
    /// enabled), the base that a run's `volume.toml` `[llc]` overrides; read by `LLCOverrides`.
    public var llc = LLCPlan()
    public var workers = Workers()
    public var daemon = Daemon()
    public var http = HTTP()

    public init() {}

    /// `[watch]`: where checkpoints appear and how the watcher treats them.
    public struct Watch: Sendable, Equatable {
        public static let defaultRoot = "/srv/volumed/checkpoints"

        /// The watched folder; its direct subfolders are runs.
        public var root = Watch.defaultRoot
        /// How long a checkpoint's files must stay closed and unchanged before it is enqueued.
        public var settleSeconds: Double = 5
        /// Interval of the periodic full rescan (network filesystems deliver no events); 0 turns it off.
        public var rescanSeconds: Double = 300

        public init() {}
    }

    /// `[database]`. The URL may carry a password, so it never appears in descriptions or errors.
    public struct Database: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
        public var url: String?

        public init(url: String? = nil) {
            self.url = url
        }

        public var description: String { url == nil ? "Database(url: nil)" : "Database(url: <redacted>)" }
        public var customMirror: Mirror { Mirror(self, children: ["url": url == nil ? "nil" : "<redacted>"]) }
    }

    /// `[workers]`: estimation workers in this process and their job leases.
    public struct Workers: Sendable, Equatable {
        public var count = 1
        /// Direction threads per estimate; 0 means one per core.
        public var threads = 0
        public var leaseSeconds: Double = 60
        public var maxAttempts = 3
        /// Directions per shard: an estimate of k directions is ⌈k / shardDirections⌉ jobs that
        /// any worker of any daemon sharing the database can take. 50 bounds what a killed
        /// worker loses to one shard, keeps the warm start each process recomputes (direction
        /// 0, a few KL evaluations) small against a shard's ~100, and spreads k = 1000 over 20
        /// workers.
        public var shardDirections = 50

        public init() {}

        /// The direction ranges of the shards of an estimate of `directions` directions, in order.
        public func shards(directions: Int) -> [Range<Int>] {
            stride(from: 0, to: max(1, directions), by: shardDirections).map { $0..<min($0 + shardDirections, max(1, directions)) }
        }
    }

    /// `[daemon]`.
    public struct Daemon: Sendable, Equatable {
        /// See `Config.stateDirectory(flag:configured:environment:)` for the full resolution order.
        public var stateDirectory: String?
        public var logLevel = Logger.Level.info

        public init() {}
    }

    /// `[http]`: the read-only dashboard and `/metrics`. Off unless `listen` is set.
    public struct HTTP: Sendable, Equatable {
        /// `"127.0.0.1:8321"` or `"[::1]:8321"`; nil: no HTTP server.
        public var listen: ListenAddress?

        public init(listen: ListenAddress? = nil) {
            self.listen = listen
        }
    }
}

// MARK: - Loading

extension Config {
    /// Loads the configuration. With `path == nil` the default path is read if it exists and the
    /// defaults are used if it does not; an explicitly named file must exist.
    public static func load(path: String?) throws(ConfigError) -> Config {
        let file = path ?? defaultPath
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(file, limit: 1 << 20)
        } catch where error.reason == .system(.noSuchFileOrDirectory) && path == nil {
            return Config()
        } catch {
            let why = switch error.reason {
            case .system(let errno): "\(errno)"
            case .tooLarge(let size, let limit): "\(size) bytes is larger than the limit of \(limit) bytes"
            case .notRegular, .changed: error.detail
            }
            throw ConfigError(file: file, key: nil, reason: .unreadable("cannot read the configuration file: \(why)"))
        }
        guard !bytes.contains(0) else {
            throw ConfigError(file: file, key: nil, reason: .unreadable("the file contains a NUL byte; TOML is text"))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(file: file, key: nil, reason: .unreadable("the file is not valid UTF-8"))
        }
        return try Config(toml: text, file: file)
    }

    /// Parses a configuration document; `file` names it in errors.
    public init(toml text: String, file: String) throws(ConfigError) {
        let document: TOMLTable
        do {
            document = try TOMLDocument.parse(text)
        } catch {
            throw ConfigError(file: file, key: nil, reason: .syntax(line: error.line, column: error.column, message: error.message))
        }
        do {
            try self.init(SettingsTable(document))
        } catch {
            throw ConfigError(file: file, error)
        }
    }

    private init(_ top: SettingsTable) throws(SettingError) {
        try top.rejectUnknownKeys(["watch", "database", "estimate", "llc", "workers", "daemon", "http"])
        self.init()
        if let table = try top.subtable("watch") { watch = try Watch(table) }
        if let table = try top.subtable("database") { database = try Database(table) }
        if let table = try top.subtable("estimate") { estimate = try EstimateOverrides(table: table).applied(to: estimate) }
        if let table = try top.subtable("llc") { llc = try LLCOverrides(table: table).applied(to: llc) }
        if let table = try top.subtable("workers") { workers = try Workers(table) }
        if let table = try top.subtable("daemon") { daemon = try Daemon(table) }
        if let table = try top.subtable("http") { http = try HTTP(table) }
    }

    /// The state directory (embedded database, …): `--state-dir` > `[daemon] state_dir` >
    /// `$STATE_DIRECTORY` (set by systemd's `StateDirectory=`; the first entry when it lists
    /// several) > `/var/lib/volumed`. Empty values count as unset.
    public static func stateDirectory(flag: String?, configured: String?, environment: [String: String]) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let configured, !configured.isEmpty { return configured }
        if let fromSystemd = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !fromSystemd.isEmpty {
            return String(fromSystemd)
        }
        return "/var/lib/volumed"
    }
}

extension Config.Watch {
    init(_ table: SettingsTable) throws(SettingError) {
        try table.rejectUnknownKeys(["root", "settle_seconds", "rescan_seconds"])
        self.init()
        if let root = try table.path("root") { self.root = root }
        if let settle = try table.number("settle_seconds") {
            guard settle >= 0 else { throw table.invalid("settle_seconds", "must be at least 0, got \(settle)") }
            settleSeconds = settle
        }
        if let rescan = try table.number("rescan_seconds") {
            guard rescan >= 0 else { throw table.invalid("rescan_seconds", "must be at least 0 (0 turns periodic rescans off), got \(rescan)") }
            rescanSeconds = rescan
        }
    }
}

extension Config.Database {
    init(_ table: SettingsTable) throws(SettingError) {
        try table.rejectUnknownKeys(["url"])
        self.init()
        if let url = try table.string("url", secret: true) {
            guard !url.isEmpty else { throw table.invalid("url", "must not be empty (leave the key out for the embedded database)") }
            self.url = url
        }
    }
}

extension Config.Workers {
    init(_ table: SettingsTable) throws(SettingError) {
        try table.rejectUnknownKeys(["count", "threads", "lease_seconds", "max_attempts", "shard_directions"])
        self.init()
        if let count = try table.integer("count") {
            guard count >= 1 else { throw table.invalid("count", "must be at least 1, got \(count)") }
            self.count = count
        }
        if let threads = try table.integer("threads") {
            guard threads >= 0 else { throw table.invalid("threads", "must be at least 0 (0 = one per core), got \(threads)") }
            self.threads = threads
        }
        if let lease = try table.number("lease_seconds") {
            guard lease > 0 else { throw table.invalid("lease_seconds", "must be greater than 0, got \(lease)") }
            leaseSeconds = lease
        }
        if let attempts = try table.integer("max_attempts") {
            guard attempts >= 1 else { throw table.invalid("max_attempts", "must be at least 1, got \(attempts)") }
            maxAttempts = attempts
        }
        if let directions = try table.integer("shard_directions") {
            guard directions >= 1 else { throw table.invalid("shard_directions", "must be at least 1, got \(directions)") }
            shardDirections = directions
        }
    }
}

extension Config.Daemon {
    init(_ table: SettingsTable) throws(SettingError) {
        try table.rejectUnknownKeys(["state_dir", "log_level"])
        self.init()
        stateDirectory = try table.path("state_dir")
        if let level = try table.string("log_level") {
            guard let value = Logger.Level(rawValue: level) else {
                let names = Logger.Level.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                throw table.invalid("log_level", "expected one of \(names), got \"\(level)\"")
            }
            logLevel = value
        }
    }
}

extension Config.HTTP {
    init(_ table: SettingsTable) throws(SettingError) {
        try table.rejectUnknownKeys(["listen"])
        self.init()
        if let text = try table.string("listen") {
            do {
                listen = try ListenAddress(parsing: text)
            } catch {
                throw table.invalid("listen", "\(error.reason), got \"\(text)\"")
            }
        }
    }
}

extension SettingsTable {
    /// An absolute path.
    fileprivate func path(_ key: String) throws(SettingError) -> String? {
        guard let path = try string(key) else { return nil }
        guard path.hasPrefix("/") else { throw invalid(key, "must be an absolute path, got \"\(path)\"") }
        return path
    }
}
