import Base
import ProcessHarness
import Foundation
import Glibc

/// Plays systemd and a careless operator: runs `volumed serve`, SIGKILLs it at the planned
/// moments and starts it again at once, restarts its PostgreSQL under it once, restarts it if
/// it ever ends by itself (and reports that), and finally stops it with SIGTERM.
actor Supervisor {
    struct Report: Sendable {
        var launches = 0
        var signals = 0
        /// SIGKILLs that hit a daemon before it had said READY=1.
        var signalsBeforeReady = 0
        /// SIGKILLs that hit a daemon while one of its workers held a job.
        var signalsMidJob = 0
        /// Kills after which the daemon came back and said READY=1.
        var survived = 0
        /// Kills after which the restarted daemon was served by the postmaster that ran before
        /// (the others restarted it cleanly, which the design also allows).
        var adopted = 0
        var postgresRestarts: [(before: pid_t, after: pid_t)] = []
        /// Seconds from launch to READY=1, per launch that got there.
        var readySeconds: [Double] = []
        var stop: Stop?
        /// Things the daemon should not have done (ended by itself, started a second cluster, …).
        var problems: [String] = []
    }

    struct Stop: Sendable {
        var termination: Termination?
        var seconds: Double
        var clusterStopped: Bool
    }

    private let executable: String
    private let arguments: [String]
    private let logFolder: String
    private let cluster: EmbeddedCluster
    private let blocking = BlockingQueue(label: "volumed-soak.supervisor")
    private let clock = ContinuousClock()
    private var daemon: ChildProcess?
    private var notify: NotifySocket?
    private(set) var report = Report()

    /// Generous: the first start creates the cluster (initdb), later ones scan every checkpoint.
    static let readyTimeout = Duration.seconds(180)
    /// How long a kill aimed at a running job waits for one.
    static let jobWait = Duration.seconds(5)

    init(executable: String, arguments: [String], logFolder: String, cluster: EmbeddedCluster) {
        self.executable = executable
        self.arguments = arguments
        self.logFolder = logFolder
        self.cluster = cluster
    }

    /// Starts the daemon and waits for READY=1.
    func start() async throws {
        try await launchUntilReady()
    }

    /// Performs `faults` at their times (seconds after `start`), keeping the daemon running
    /// in between. `isEstimating` says whether a worker of the daemon with the given pid holds
    /// a job.
    func run(
        _ faults: [(at: Double, fault: SoakPlan.Fault)], from start: ContinuousClock.Instant,
        isEstimating: @escaping @Sendable (pid_t) async throws -> Bool
    ) async throws {
        for (at, fault) in faults {
            let due = start + .milliseconds(Int64(at * 1000))
            while clock.now < due {
                try await keepAlive()
                try await Task.sleep(for: min(.milliseconds(200), clock.now.duration(to: due)))
            }
            try await keepAlive()
            switch fault {
            case .killDaemon(let kill): try await self.kill(kill, at: at, isEstimating: isEstimating)
            case .restartPostgres: try await restartPostgres(at: at)
            }
        }
    }

    /// Starts the daemon again if it ended by itself, which is reported as a problem.
    func keepAlive() async throws {
        guard let daemon, let termination = daemon.termination else { return }
        report.problems.append(
            "volumed serve (launch \(report.launches)) ended by itself with \(termination); log \(daemon.logPath):\n\(daemon.logTail())")
        try await launchUntilReady()
    }

    /// SIGTERM, as `systemctl stop` sends: the daemon must exit 0 and stop its PostgreSQL.
    func stop() async {
        guard let daemon else { return }
        let started = clock.now
        daemon.send(SIGTERM)
        let termination = await daemon.waitForExit(timeout: .seconds(90))
        let seconds = (clock.now - started).seconds
        if termination == nil {
            report.problems.append("volumed serve did not exit within 90 s of SIGTERM; log \(daemon.logPath)")
            daemon.send(SIGKILL)
            _ = await daemon.waitForExit(timeout: .seconds(10))
        } else if let termination, termination != .exited(0) {
            report.problems.append("volumed serve ended with \(termination) after SIGTERM; log \(daemon.logPath):\n\(daemon.logTail())")
        }
        var clusterStopped = false
        for _ in 0..<100 {
            if cluster.postmasterPID == nil {
                clusterStopped = true
                break
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        if !clusterStopped {
            report.problems.append("volumed serve exited but its PostgreSQL kept running")
            _ = try? await blocking.run { [cluster] in cluster.stopIfRunning() }
        }
        report.stop = Stop(termination: termination, seconds: seconds, clusterStopped: clusterStopped)
        self.daemon = nil
        notify = nil
    }

    /// Leaves nothing running: the daemon is killed and its cluster stopped.
    func abort() async {
        if let daemon {
            daemon.send(SIGKILL)
            _ = await daemon.waitForExit(timeout: .seconds(10))
        }
        daemon = nil
        notify = nil
        _ = try? await blocking.run { [cluster] in cluster.stopIfRunning() }
    }

    // MARK: Faults

    private func kill(_ kill: SoakPlan.Kill, at: Double, isEstimating: @Sendable (pid_t) async throws -> Bool) async throws {
        let postmaster = cluster.postmasterPID
        var what = "SIGKILL"
        if kill == .midJob, let daemon {
            let deadline = clock.now + Self.jobWait
            var estimating = try await isEstimating(daemon.pid)
            while !estimating, clock.now < deadline, daemon.termination == nil {
                try await Task.sleep(for: .milliseconds(10))
                estimating = try await isEstimating(daemon.pid)
            }
            if estimating {
                report.signalsMidJob += 1
                what += " while estimating"
            } else {
                what += " (no job ran within \(Int(Self.jobWait.seconds)) s)"
            }
        }
        try await signalKill()
        if kill == .twice {
            // Start-up (adopting the cluster, migrating, the first scan) lasted `last` before: kill
            // the new daemon somewhere inside that span.
            let last = report.readySeconds.last ?? 0.2
            _ = try launch()
            try await Task.sleep(for: .milliseconds(Int64(1000 * last * Double.random(in: 0.1..<0.9)) + 5))
            let beforeReady = try await signalKill()
            what += beforeReady ? " twice (the second during start-up)" : " twice (the second just after READY=1)"
        }
        try await launchUntilReady()
        report.survived += 1
        if let postmaster, cluster.postmasterPID == postmaster { report.adopted += 1 }
        Console.line(
            "soak: \(String(format: "%5.1f", at)) s: \(what); READY=1 again after "
                + "\(String(format: "%.1f", report.readySeconds.last ?? 0)) s (\(report.signals) SIGKILLs so far)")
    }

    /// Returns whether the daemon was killed before it had said READY=1.
    @discardableResult
    private func signalKill() async throws -> Bool {
        guard let daemon else { return false }
        let wasReady = notify?.isReady ?? false
        daemon.send(SIGKILL)
        guard let termination = await daemon.waitForExit(timeout: .seconds(10)) else {
            throw SoakError("volumed serve (pid \(daemon.pid)) outlived SIGKILL by 10 s")
        }
        self.daemon = nil
        guard termination == .signaled(SIGKILL) else {
            report.problems.append(
                "volumed serve had already ended (\(termination)) when it was to be killed; log \(daemon.logPath):\n\(daemon.logTail())")
            return false
        }
        report.signals += 1
        if !wasReady { report.signalsBeforeReady += 1 }
        return !wasReady
    }

    private func restartPostgres(at: Double) async throws {
        guard let before = cluster.postmasterPID else {
            report.problems.append("no PostgreSQL running when it was to be restarted")
            return
        }
        let started = clock.now
        try await blocking.run { [cluster] in try cluster.restart() }
        guard let after = cluster.postmasterPID, after != before else {
            report.problems.append("pg_ctl restart left postmaster \(cluster.postmasterPID.map(String.init) ?? "none") (was \(before))")
            return
        }
        report.postgresRestarts.append((before, after))
        Console.line(
            "soak: \(String(format: "%5.1f", at)) s: PostgreSQL restarted under the daemon in "
                + "\(String(format: "%.1f", (clock.now - started).seconds)) s (postmaster \(before) → \(after))")
    }

    // MARK: Launching

    private func launch() throws -> ChildProcess {
        report.launches += 1
        let socket = try NotifySocket(path: "\(logFolder)/notify-\(report.launches).sock")
        notify = socket
        let process = try ChildProcess(
            executable: executable, arguments: arguments,
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/", "NOTIFY_SOCKET": socket.path],
            logPath: "\(logFolder)/serve-\(report.launches).log")
        daemon = process
        return process
    }

    /// Launches the daemon and waits for READY=1; a launch that ends first is a problem and is
    /// tried again (three times at most).
    private func launchUntilReady() async throws {
        for _ in 0..<3 {
            let started = clock.now
            let process = try launch()
            let deadline = started + Self.readyTimeout
            while clock.now < deadline {
                if notify?.isReady == true {
                    report.readySeconds.append((clock.now - started).seconds)
                    return
                }
                if let termination = process.termination {
                    report.problems.append(
                        "volumed serve (launch \(report.launches)) ended with \(termination) before READY=1; log \(process.logPath):\n\(process.logTail())")
                    break
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            if process.termination == nil {
                throw SoakError("volumed serve sent no READY=1 within \(Self.readyTimeout); log \(process.logPath):\n\(process.logTail())")
            }
        }
        throw SoakError("volumed serve failed to start three times in a row; logs in \(logFolder)")
    }
}
