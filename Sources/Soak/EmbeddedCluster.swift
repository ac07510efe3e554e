import Base
import DB
import ProcessHarness
import Foundation
import Glibc
import SystemPackage

/// The daemon's embedded PostgreSQL seen from outside, as an operator would handle it: which
/// postmaster serves the data directory, `pg_ctl restart` as the cluster's owner, and stopping a
/// server left behind.
struct EmbeddedCluster: Sendable {
    let layout: ClusterLayout
    /// Where `pg_ctl`'s output goes.
    let logPath: String

    init(stateDirectory: String, logPath: String) {
        layout = ClusterLayout(stateDirectory: stateDirectory)
        self.logPath = logPath
    }

    /// The live postmaster named by `postmaster.pid`, if any (a zombie is not live).
    var postmasterPID: pid_t? {
        guard let pid = EmbeddedPostgres.serverProcessID(layout) else { return nil }
        return Self.isAlive(pid) ? pid : nil
    }

    /// `pg_ctl restart -m fast`: every connection is dropped and the server starts again.
    /// Blocking (seconds).
    func restart() throws {
        try pgctl(["restart", "-m", "fast", "-w", "-t", "60", "-l", layout.logFile])
    }

    /// Stops a server still running on the data directory (`pg_ctl stop -m fast`, then signals);
    /// returns whether one was running. Blocking.
    @discardableResult
    func stopIfRunning() -> Bool {
        guard let pid = postmasterPID else { return false }
        if (try? pgctl(["stop", "-m", "fast", "-w", "-t", "30"])) == nil {
            kill(pid, SIGINT)
            for _ in 0..<200 where Self.isAlive(pid) { usleep(50_000) }
            if Self.isAlive(pid) { kill(pid, SIGKILL) }
        }
        return true
    }

    /// Runs `pg_ctl` on the data directory as the user that owns it (the daemon runs the cluster
    /// as `postgres` when it is root; PostgreSQL refuses to be controlled by root).
    private func pgctl(_ arguments: [String]) throws {
        let owner: Stat
        do {
            owner = try Stat(layout.dataDirectory)
        } catch {
            throw SoakError.system("stat", layout.dataDirectory, errno: error)
        }
        let pgctl = try EmbeddedPostgres.newestBinDirectory() + "/pg_ctl"
        let command = [pgctl, "-D", layout.dataDirectory] + arguments
        let asOwner = geteuid() == 0
            ? ChildProcess.asUser(owner.userID.rawValue, group: owner.groupID.rawValue, command)
            : command
        // In the cluster folder: the server's recorded command line names the data folder relatively.
        let process = try ChildProcess(
            executable: asOwner[0], arguments: Array(asOwner.dropFirst()),
            environment: ["PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"], workingDirectory: layout.clusterDirectory,
            logPath: logPath)
        let termination = process.waitForExitBlocking()
        guard termination == .exited(0) else {
            throw SoakError("pg_ctl \(arguments.joined(separator: " ")) ended with \(termination); see \(logPath)")
        }
    }

    /// Alive and not a zombie.
    private static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = status.lastIndex(of: ")")
        else { return true }
        return !status[close...].hasPrefix(") Z")
    }
}
