import Base
import Config
import Foundation
import Testing

@Suite struct ConfigTests {
    private func parse(_ toml: String) throws(ConfigError) -> Config {
        try Config(toml: toml, file: "volumed.toml")
    }

    private func error(_ toml: String) -> ConfigError? {
        do {
            _ = try parse(toml)
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyFileGivesTheDocumentedDefaults() throws {
        let config = try parse("")
        #expect(config.watch.root == "/srv/volumed/checkpoints")
        #expect(config.watch.settleSeconds == 5)
        #expect(config.watch.rescanSeconds == 300)
        #expect(config.database.url == nil)
        #expect(config.estimate.settings.cutoffs == [0.01])
        #expect(config.estimate.preconditioners == [.none, .adam])
        #expect(config.estimate.settings.prior == .gaussian)
        #expect(config.estimate.settings.priorCenter == .zero)
        #expect(config.estimate.settings.sigma == .rms)
        #expect(config.estimate.settings.directions == 100)
        #expect(config.estimate.settings.seed == 0)
        #expect(config.estimate.settings.tolerance == 0.01)
        #expect(config.workers.count == 1)
        #expect(config.workers.threads == 0)
        #expect(config.workers.leaseSeconds == 60)
        #expect(config.workers.maxAttempts == 3)
        #expect(config.workers.shardDirections == 50)
        #expect(config.daemon.stateDirectory == nil)
        #expect(config.daemon.logLevel == .info)
        #expect(config.http.listen == nil)
        #expect(config == Config())
    }

    @Test func shardsSplitTheDirectionsIntoRangesOfShardDirections() {
        var workers = Config.Workers()
        workers.shardDirections = 50
        #expect(workers.shards(directions: 1000).count == 20)
        #expect(workers.shards(directions: 120) == [0..<50, 50..<100, 100..<120])
        #expect(workers.shards(directions: 50) == [0..<50])
        #expect(workers.shards(directions: 3) == [0..<3])
        workers.shardDirections = 3
        #expect(workers.shards(directions: 12) == [0..<3, 3..<6, 6..<9, 9..<12])
    }

    @Test func readsEveryKey() throws {
        let config = try parse(
            """
            [watch]
            root = "/data/runs"
            settle_seconds = 2.5
            rescan_seconds = 0
            [database]
            url = "postgresql://volumed@db/volumes"
            [estimate]
            cutoffs = [0.001, 1]
            preconditioners = ["adam:eps=1e-2,exponent=0.5", "adam-m"]
            prior = "uniform"
            prior_center = "anchor"
            sigma = 0.25
            directions = 16
            seed = 7
            tolerance = 0.001
            [workers]
            count = 2
            threads = 4
            lease_seconds = 30
            max_attempts = 5
            shard_directions = 10
            [daemon]
            state_dir = "/var/lib/other"
            log_level = "debug"
            """)
        #expect(config.watch.root == "/data/runs")
        #expect(config.watch.settleSeconds == 2.5)
        #expect(config.watch.rescanSeconds == 0)
        #expect(config.database.url == "postgresql://volumed@db/volumes")
        #expect(config.estimate.settings.cutoffs == [0.001, 1])
        #expect(config.estimate.preconditioners.map(\.description) == ["adam:eps=0.01,exponent=0.5", "adam-m:eps=0.001,exponent=0.5"])
        #expect(config.estimate.settings.prior == .uniform)
        #expect(config.estimate.settings.priorCenter == .anchor)
        #expect(config.estimate.settings.sigma == .value(0.25))
        #expect(config.estimate.settings.directions == 16)
        #expect(config.estimate.settings.seed == 7)
        #expect(config.estimate.settings.tolerance == 0.001)
        #expect(config.workers.count == 2)
        #expect(config.workers.threads == 4)
        #expect(config.workers.leaseSeconds == 30)
        #expect(config.workers.maxAttempts == 5)
        #expect(config.workers.shardDirections == 10)
        #expect(config.daemon.stateDirectory == "/var/lib/other")
        #expect(config.daemon.logLevel == .debug)
    }

    @Test func rejectsAnUnknownKeyByItsDottedName() throws {
        let failure = try #require(error("[estimate]\ncutof = [0.1]\n"))
        #expect(failure.code == "config.unknown_key")
        #expect(failure.key == "estimate.cutof")
        #expect(failure.description == "volumed.toml: unknown key 'estimate.cutof' (did you mean 'estimate.cutoffs'?)")
    }

    @Test func rejectsAnUnknownTable() throws {
        let failure = try #require(error("[watcher]\nroot = \"/x\"\n"))
        #expect(failure.code == "config.unknown_key")
        #expect(failure.description == "volumed.toml: unknown key 'watcher' (did you mean 'watch'?)")
        let unrelated = try #require(error("colour = \"blue\"\n"))
        #expect(unrelated.description == "volumed.toml: unknown key 'colour'")
    }

    @Test func rejectsAValueOfTheWrongType() throws {
        let failure = try #require(error("[watch]\nsettle_seconds = \"5\"\n"))
        #expect(failure.code == "config.type")
        #expect(failure.description == "volumed.toml: watch.settle_seconds: expected a number, found a string \"5\"")

        let element = try #require(error("[estimate]\ncutoffs = [0.1, \"x\"]\n"))
        #expect(element.description == "volumed.toml: estimate.cutoffs: expected an array of numbers, found element 2 is a string \"x\"")

        let table = try #require(error("watch = 3\n"))
        #expect(table.description == "volumed.toml: watch: expected a table, found an integer 3")

        let sigma = try #require(error("[estimate]\nsigma = true\n"))
        #expect(sigma.description == "volumed.toml: estimate.sigma: expected \"rms\" or a positive number, found a boolean true")
    }

    @Test(arguments: [
        ("[watch]\nsettle_seconds = -1", "watch.settle_seconds", "must be at least 0, got -1.0"),
        ("[watch]\nrescan_seconds = -5", "watch.rescan_seconds", "must be at least 0"),
        ("[watch]\nroot = \"relative/path\"", "watch.root", "must be an absolute path"),
        ("[estimate]\ncutoffs = [0.01, 0]", "estimate.cutoffs", "greater than 0 nats, got 0.0"),
        ("[estimate]\ncutoffs = [-0.5]", "estimate.cutoffs", "greater than 0 nats, got -0.5"),
        ("[estimate]\ncutoffs = []", "estimate.cutoffs", "at least one cutoff"),
        ("[estimate]\ncutoffs = [0.1, 0.1]", "estimate.cutoffs", "lists the cutoff 0.1 twice"),
        ("[estimate]\ncutoffs = [nan]", "estimate.cutoffs", "finite number"),
        ("[estimate]\npreconditioners = [\"adam:eps\"]", "estimate.preconditioners", "\"adam:eps\": 'adam:eps': expected key=number, found 'eps'"),
        ("[estimate]\npreconditioners = [\"adamw\"]", "estimate.preconditioners", "unknown preconditioner 'adamw'"),
        ("[estimate]\npreconditioners = [\"adam:beta=2\"]", "estimate.preconditioners", "preconditioner 'adam' has no parameter 'beta'"),
        ("[estimate]\npreconditioners = [\"none\", \"none\"]", "estimate.preconditioners", "lists the preconditioner \"none\" twice"),
        ("[estimate]\npreconditioners = []", "estimate.preconditioners", "at least one preconditioner"),
        ("[estimate]\nprior = \"gausian\"", "estimate.prior", "expected \"gaussian\" or \"uniform\", got \"gausian\""),
        ("[estimate]\nprior_center = \"mean\"", "estimate.prior_center", "expected \"zero\" or \"anchor\", got \"mean\""),
        ("[estimate]\nsigma = \"std\"", "estimate.sigma", "expected \"rms\" or a positive number, got \"std\""),
        ("[estimate]\nsigma = 0", "estimate.sigma", "greater than 0, got 0.0"),
        ("[estimate]\ndirections = 0", "estimate.directions", "must be at least 1, got 0"),
        ("[estimate]\nseed = -1", "estimate.seed", "must be at least 0, got -1"),
        ("[estimate]\ntolerance = 1", "estimate.tolerance", "between 0 and 1 (exclusive), got 1.0"),
        ("[estimate]\ntolerance = 0", "estimate.tolerance", "between 0 and 1 (exclusive), got 0.0"),
        ("[workers]\ncount = 0", "workers.count", "must be at least 1, got 0"),
        ("[workers]\nthreads = -2", "workers.threads", "must be at least 0"),
        ("[workers]\nlease_seconds = 0", "workers.lease_seconds", "greater than 0"),
        ("[workers]\nmax_attempts = 0", "workers.max_attempts", "must be at least 1, got 0"),
        ("[workers]\nshard_directions = 0", "workers.shard_directions", "must be at least 1, got 0"),
        ("[daemon]\nlog_level = \"loud\"", "daemon.log_level", "got \"loud\""),
        ("[daemon]\nstate_dir = \"\"", "daemon.state_dir", "must be an absolute path"),
        ("[database]\nurl = \"\"", "database.url", "must not be empty"),
    ])
    func rejectsABadValueNamingTheKey(toml: String, key: String, reason: String) throws {
        let failure = try #require(error(toml + "\n"))
        #expect(failure.code == "config.value")
        #expect(failure.key == key)
        #expect(failure.description.hasPrefix("volumed.toml: \(key): "))
        #expect(failure.description.contains(reason), "\(failure.description)")
    }

    @Test func readsTheDashboardAddressForIPv4AndBracketedIPv6() throws {
        let v4 = try #require(try parse("[http]\nlisten = \"127.0.0.1:8321\"\n").http.listen)
        #expect(v4 == ListenAddress(host: "127.0.0.1", port: 8321, family: .ipv4))
        #expect(v4.description == "127.0.0.1:8321")
        let v6 = try #require(try parse("[http]\nlisten = \"[::1]:9000\"\n").http.listen)
        #expect(v6 == ListenAddress(host: "::1", port: 9000, family: .ipv6))
        #expect(v6.description == "[::1]:9000")
        #expect(try parse("[http]\n").http.listen == nil)
    }

    @Test(arguments: [
        ("localhost:8321", "is not an IPv4 address"),
        ("127.0.0.1", "expected \"host:port\""),
        ("127.0.0.1:", "the port must be a number from 0 to 65535"),
        ("127.0.0.1:65536", "the port must be a number from 0 to 65535"),
        ("127.0.0.1:-1", "the port must be a number from 0 to 65535"),
        ("127.0.0.1:80a", "the port must be a number from 0 to 65535"),
        ("256.0.0.1:8321", "\"256.0.0.1\" is not an IPv4 address"),
        ("::1:8321", "write an IPv6 address in brackets"),
        ("[::1:8321", "closing bracket"),
        ("[::1]8321", "expected \":port\" after \"]\""),
        ("[127.0.0.1]:8321", "is not an IPv6 address"),
        ("", "expected \"host:port\""),
    ])
    func rejectsAMalformedDashboardAddressNamingHTTPListen(value: String, reason: String) throws {
        let failure = try #require(error("[http]\nlisten = \"\(value)\"\n"))
        #expect(failure.code == "config.value")
        #expect(failure.key == "http.listen")
        #expect(failure.description.hasPrefix("volumed.toml: http.listen: "), "\(failure.description)")
        #expect(failure.description.contains(reason), "\(failure.description)")
        #expect(failure.description.contains("got \"\(value)\""), "\(failure.description)")
    }

    @Test func rejectsUnknownKeysAndWrongTypesInTheHTTPTable() throws {
        let unknown = try #require(error("[http]\nlisen = \"127.0.0.1:1\"\n"))
        #expect(unknown.description == "volumed.toml: unknown key 'http.lisen' (did you mean 'http.listen'?)")
        let number = try #require(error("[http]\nlisten = 8321\n"))
        #expect(number.code == "config.type")
        #expect(number.key == "http.listen")
    }

    @Test func acceptsANumericSigmaAndIntegerNumbers() throws {
        #expect(try parse("[estimate]\nsigma = 2\n").estimate.settings.sigma == .value(2))
        #expect(try parse("[estimate]\nsigma = \"rms\"\n").estimate.settings.sigma == .rms)
        #expect(try parse("[estimate]\ncutoffs = [1, 0.5]\n").estimate.settings.cutoffs == [1, 0.5])
        #expect(try parse("[watch]\nsettle_seconds = 0\n").watch.settleSeconds == 0)
    }

    @Test func reportsTOMLSyntaxErrorsWithTheirPosition() throws {
        let failure = try #require(error("[watch]\nsettle_seconds = = 5\n"))
        #expect(failure.code == "config.syntax")
        guard case .syntax(let line, _, _) = failure.reason else {
            Issue.record("expected a syntax error, got \(failure)")
            return
        }
        #expect(line == 2)
        #expect(failure.description.hasPrefix("volumed.toml:2:"))
    }

    /// Inputs found by `fuzz-config` (cut after the line where the parser stopped) that made
    /// TOMLKit's parser (toml++) abort the process.
    @Test func refusesTOMLThatAbortedTheParser() throws {
        let headerWithSlashes = "[" + String(repeating: "/", count: 65) + "watch]\nroot = \"/data/rbase]/volumed@localhost/volumed\"\n"
        let arrayClosedByBrace = """
            [watch]
            root = "/data/rbase]/volumed@localhost/volumed"

            [estimate]
            cutoffs = [1e-3, 0.01, 1]
            preconditioners = ["none",\(String(repeating: "}", count: 55))e", "adam:ep]

            """
        #expect(error(headerWithSlashes) == ConfigError(
            file: "volumed.toml", key: nil,
            reason: .syntax(line: 1, column: 2, message: "expected a key (letters, digits, '_', '-' or a quoted string), saw '/'")))
        #expect(error(arrayClosedByBrace) == ConfigError(
            file: "volumed.toml", key: nil,
            reason: .syntax(line: 6, column: 27, message: "expected a value (a string, number, boolean, date, array or inline table), saw '}'")))
    }

    @Test func neverShowsTheDatabaseURL() throws {
        let secret = "postgresql://volumed:hunter2@db.internal/volumes"
        let config = try parse("[database]\nurl = \"\(secret)\"\n")
        #expect(config.database.url == secret)
        #expect(!"\(config)".contains("hunter2"))
        #expect(!String(reflecting: config).contains("hunter2"))

        let failure = try #require(error("[database]\nurl = 42\n"))
        #expect(failure.code == "config.type")
        #expect(!failure.description.contains("42"))
    }

    /// TOML allows a NUL character written as an escape; no string the daemon hands on may hold one.
    @Test func refusesNULCharactersInStrings() throws {
        let root = try #require(error("[watch]\nroot = \"/data\\u0000/runs\"\n"))
        #expect(root == ConfigError(file: "volumed.toml", key: "watch.root", reason: .invalidValue(#"must not contain a NUL character, got "/data\u0000/runs""#)))
        let url = try #require(error("[database]\nurl = \"postgresql://db/x\\u0000\"\n"))
        #expect(url == ConfigError(file: "volumed.toml", key: "database.url", reason: .invalidValue("must not contain a NUL character")))
    }

    @Test func namesDatesAndTimesByTheirKind() throws {
        let failure = try #require(error("[watch]\nroot = 1979-05-27T07:32:00Z\n"))
        #expect(failure.description == "volumed.toml: watch.root: expected a string, found an offset date-time 1979-05-27T07:32:00Z")
        let time = try #require(error("[workers]\ncount = 07:32:00\n"))
        #expect(time.description == "volumed.toml: workers.count: expected an integer, found a local time 07:32:00")
    }

    @Test func reportsRedefinedKeysAsSyntaxErrors() throws {
        let failure = try #require(error("[workers]\ncount = 2\n\n[workers]\nthreads = 1\n"))
        #expect(failure == ConfigError(
            file: "volumed.toml", key: nil, reason: .syntax(line: 4, column: 2, message: "the table [workers] is defined twice")))
        #expect(failure.description == "volumed.toml:4:2: invalid TOML: the table [workers] is defined twice")
    }

    @Test func resolvesTheStateDirectoryInOrder() {
        let systemd = ["STATE_DIRECTORY": "/var/lib/volumed-systemd:/var/lib/second"]
        #expect(Config.stateDirectory(flag: "/flag", configured: "/configured", environment: systemd) == "/flag")
        #expect(Config.stateDirectory(flag: nil, configured: "/configured", environment: systemd) == "/configured")
        #expect(Config.stateDirectory(flag: nil, configured: nil, environment: systemd) == "/var/lib/volumed-systemd")
        #expect(Config.stateDirectory(flag: "", configured: nil, environment: [:]) == "/var/lib/volumed")
    }

    @Test func loadsAFileAndRequiresAnExplicitOneToExist() throws {
        let folder = try TemporaryDirectory()
        let path = try folder.write("volumed.toml", text: "[workers]\ncount = 3\n")
        #expect(try Config.load(path: path).workers.count == 3)

        let missing = folder.path + "/absent.toml"
        #expect(throws: ConfigError(file: missing, key: nil, reason: .unreadable("cannot read the configuration file: No such file or directory"))) {
            try Config.load(path: missing)
        }
    }

    @Test func refusesFilesThatAreNotTOMLText() throws {
        let folder = try TemporaryDirectory()
        let fifo = folder.path + "/fifo.toml"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Opening a FIFO for reading would block until a writer appears; the loader must not.
        #expect(throws: ConfigError(file: fifo, key: nil, reason: .unreadable("cannot read the configuration file: not a regular file"))) {
            try Config.load(path: fifo)
        }

        let binary = folder.url("binary.toml")
        try Data([0x5B, 0x77, 0x00, 0x5D]).write(to: binary)
        #expect(throws: ConfigError(file: binary.path, key: nil, reason: .unreadable("the file contains a NUL byte; TOML is text"))) {
            try Config.load(path: binary.path)
        }

        let latin1 = folder.url("latin1.toml")
        try Data([0x23, 0x20, 0xE9, 0x0A]).write(to: latin1)
        #expect(throws: ConfigError(file: latin1.path, key: nil, reason: .unreadable("the file is not valid UTF-8"))) {
            try Config.load(path: latin1.path)
        }
    }
}
