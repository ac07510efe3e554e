import DB
import Logging

/// Holds the dashboard's `LISTEN volumed_estimates` connection (a `Connection` of its own, so
/// its thread waits on the socket and nothing else does) and hands each notification, whose
/// payload is the checkpoint id, to the broadcaster with the checkpoint's run. The connection
/// re-listens by itself after a lost session; the broadcaster is told so pages refetch what
/// was missed (see `DashboardService`, which passes the reconnect hook).
struct EstimateListener: Sendable {
    let connect: @Sendable () async throws -> Connection
    let broadcaster: EstimateBroadcaster
    let logger: Logger
    /// How often the wait returns to check for shutdown.
    var pollInterval: Duration = .milliseconds(500)

    /// Listens until the task is cancelled; a failed connect is retried with backoff.
    func run() async {
        var delay = Duration.seconds(1)
        var failed = false
        while !Task.isCancelled {
            do {
                let connection = try await connect()
                // A new connection after a failed one: what was notified meanwhile is lost.
                if failed { broadcaster.publishRefresh() }
                delay = .seconds(1)
                do {
                    try await listen(on: connection)
                } catch {
                    await connection.close()
                    throw error
                }
                await connection.close()
                return
            } catch is CancellationError {
                return
            } catch {
                guard !Task.isCancelled else { return }
                failed = true
                logger.warning("dashboard: listening for new estimates failed; retrying in \(delay)", metadata: ["error": "\(error)"])
                guard (try? await Task.sleep(for: delay)) != nil else { return }
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    private func listen(on connection: Connection) async throws {
        try await connection.listen(JobQueue.notificationChannel)
        let store = DashboardStore(connection: connection)
        while !Task.isCancelled {
            guard let notification = try await connection.nextNotification(timeout: pollInterval) else { continue }
            guard let checkpointID = Int64(notification.payload) else {
                logger.debug("dashboard: ignoring a notification that is not a checkpoint id", metadata: ["payload": "\(notification.payload)"])
                continue
            }
            guard let runID = try await store.runID(checkpointID: checkpointID) else { continue }
            broadcaster.publishEstimate(runID: runID, checkpointID: checkpointID)
        }
    }
}
