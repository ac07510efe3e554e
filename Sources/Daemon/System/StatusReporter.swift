import DB
import Logging
import ServiceLifecycle

/// Keeps systemd's `STATUS=` current (queue depth, the estimate under way with its directions
/// done and ETA, and the last checkpoint seen), and sends
/// `STOPPING=1` when graceful shutdown begins.
struct StatusReporter: Service {
    let database: Database
    let state: DaemonState
    let notifier: SDNotify
    let logger: Logger
    var interval: Duration = .seconds(5)

    func run() async throws {
        guard notifier.isEnabled else {
            try? await gracefulShutdown()
            return
        }
        let connection = try await database.connect()
        let store = ResultStore(connection: connection)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var status = "running"
            if let counts = try? await store.queueCounts() {
                status = "\(counts.queued) queued, \(counts.running) running, \(counts.done) done, \(counts.failed) failed"
            }
            if let running = try? await store.runningEstimates(), let short = ProgressFormat.statusShort(running) {
                status += "; estimating \(short)"
            }
            if let last = await state.lastCheckpoint { status += "; last checkpoint: \(last)" }
            send { try notifier.status(status) }
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        send { try notifier.stopping() }
        await connection.close()
    }

    private func send(_ body: () throws -> Void) {
        do {
            try body()
        } catch {
            logger.warning("could not notify systemd", metadata: ["error": "\(error)"])
        }
    }
}
