import Foundation
import Testing
@testable import Base

@Suite struct ChildProcessTests {
    static let environment = ["PATH": "/usr/bin:/bin"]

    // MARK: Run to completion

    @Test func runCapturesStdoutAndStderrInOrderAndTheExitStatus() throws {
        let outcome = try ChildProcess.run(
            ["/bin/sh", "-c", "echo out; echo err >&2; echo again; exit 3"], environment: Self.environment, workingDirectory: "/")
        #expect(outcome.termination == .exited(3))
        #expect(outcome.status == 3)
        #expect(!outcome.succeeded)
        #expect(outcome.output == "out\nerr\nagain\n")
        #expect(outcome.tail == "out | err | again")
    }

    /// `pg_ctl start` leaves a server running that inherits the tool's stdout: waiting for the
    /// end of a pipe would wait for the server. Here a `sleep` plays the server.
    @Test func runReturnsWhenTheProgramEndsEvenIfItsChildKeepsTheOutputOpen() throws {
        let started = ContinuousClock.now
        let outcome = try ChildProcess.run(
            ["/bin/sh", "-c", "sleep 30 & echo $!"], environment: Self.environment, workingDirectory: "/")
        let elapsed = ContinuousClock.now - started
        let server = try #require(pid_t(outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(server, SIGKILL) }
        #expect(kill(server, 0) == 0, "the background child still runs")
        #expect(outcome.succeeded)
        #expect(elapsed < .seconds(10))
    }

    @Test func runGivesExactlyTheEnvironmentAndWorkingDirectory() throws {
        let env = try ChildProcess.run(["/usr/bin/env"], environment: ["ONLY": "this one"], workingDirectory: "/")
        #expect(env.output == "ONLY=this one\n")
        let folder = try ScratchFolder()
        let pwd = try ChildProcess.run(["/bin/sh", "-c", "pwd"], environment: Self.environment, workingDirectory: folder.path)
        #expect(pwd.output == folder.path + "\n")
    }

    @Test func aSignalShowsAsTheShellWouldReportIt() throws {
        let outcome = try ChildProcess.run(["/bin/sh", "-c", "kill -TERM $$"], environment: Self.environment, workingDirectory: "/")
        #expect(outcome.termination == .signaled(SIGTERM))
        #expect(outcome.status == 128 + SIGTERM)
        #expect(outcome.termination.description == "killed by signal 15 (Terminated)")
    }

    @Test func aMissingProgramIsASpawnError() {
        let error = #expect(throws: SpawnError.self) {
            try ChildProcess.run(["/nonexistent/initdb"], environment: [:], workingDirectory: "/")
        }
        #expect(error?.description == "cannot run /nonexistent/initdb: No such file or directory")
        #expect(error?.code == "process.spawn")
    }

    /// The child starts with no signal ignored or blocked, and none of this process's descriptors
    /// (this one is deliberately not close-on-exec), whatever the spawning thread had.
    @Test func theChildInheritsNoIgnoredSignalsAndNoDescriptors() throws {
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        var blocked = sigset_t(), unblocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR2)
        pthread_sigmask(SIG_BLOCK, &blocked, &unblocked)
        defer { pthread_sigmask(SIG_SETMASK, &unblocked, nil) }
        let leaked: Int32 = 200
        #expect(dup2(STDERR_FILENO, leaked) == leaked)
        defer { close(leaked) }

        let signals = try ChildProcess.run(
            ["/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"], environment: Self.environment, workingDirectory: "/")
        let masks = Dictionary(uniqueKeysWithValues: signals.output.split(separator: "\n").map { line in
            let parts = line.split(separator: ":\t")
            return (String(parts[0]), UInt64(parts[1], radix: 16))
        })
        #expect(masks["SigBlk"] == 0)
        // Signals 1–31; glibc keeps 32 and 33 for itself, and `sigfillset` leaves them out.
        #expect(masks["SigIgn"]?.map { $0 & 0x7fff_ffff } == 0)
        // `ls` itself holds one more, the folder it lists.
        let descriptors = try ChildProcess.run(["/bin/ls", "/proc/self/fd"], environment: Self.environment, workingDirectory: "/")
        #expect(descriptors.output == "0\n1\n2\n3\n")
    }

    // MARK: Long-running children

    @Test func aChildRunsInItsOwnProcessGroupUntilSignalled() throws {
        let folder = try ScratchFolder()
        let child = try ChildProcess(executable: "/bin/sleep", arguments: ["30"], environment: Self.environment,
                                     logPath: folder.path + "/sleep.log")
        #expect(child.isRunning)
        #expect(child.termination == nil)
        #expect(getpgid(child.pid) == child.pid)
        child.send(SIGKILL)
        #expect(child.waitForExitBlocking(timeout: .seconds(10)) == .signaled(SIGKILL))
        #expect(!child.isRunning)
    }

    @Test func waitingBlocksUntilTheEndAndTheLogHoldsBothStreams() throws {
        let folder = try ScratchFolder()
        let child = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "echo one; echo two >&2; sleep 0.2; exit 7"], environment: Self.environment,
            workingDirectory: folder.path, logPath: folder.path + "/child.log")
        #expect(child.waitForExitBlocking() == .exited(7))
        #expect(child.termination == .exited(7))
        #expect(child.log == "one\ntwo\n")
        #expect(child.logTail(1) == "two")
    }

    @Test func waitingAsynchronouslyGivesUpAfterTheTimeout() async throws {
        let folder = try ScratchFolder()
        let child = try ChildProcess(executable: "/bin/sleep", arguments: ["30"], environment: Self.environment,
                                     logPath: folder.path + "/sleep.log")
        #expect(await child.waitForExit(timeout: .milliseconds(100)) == nil)
        child.send(SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(10)) == .signaled(SIGTERM))
    }

    @Test func droppingARunningChildKillsIt() throws {
        let folder = try ScratchFolder()
        var child: ChildProcess? = try ChildProcess(executable: "/bin/sleep", arguments: ["30"], environment: Self.environment,
                                                    logPath: folder.path + "/sleep.log")
        let pid = try #require(child?.pid)
        #expect(kill(pid, 0) == 0)
        let dropped = ContinuousClock.now
        child = nil
        // Killed (not waited for: it would sleep 30 s) and reaped: the pid no longer names a
        // process, not even a zombie.
        #expect(ContinuousClock.now - dropped < .seconds(10))
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
    }
}
