import Config
import Estimator
import Foundation

/// What the daemon's services share: the current estimation settings (replaced on SIGHUP),
/// the checkpoints seen since start (for backfilling new settings), and what `STATUS=` shows.
actor DaemonState {
    struct KnownCheckpoint: Sendable {
        let id: Int64
        let path: String
    }

    private(set) var config: Config
    private(set) var known: [Int64: KnownCheckpoint] = [:]
    private(set) var lastCheckpoint: String?
    private(set) var scanned = false
    private var reloadWaiters: [AsyncStream<Void>.Continuation] = []

    init(config: Config) {
        self.config = config
    }

    func remember(_ checkpoint: KnownCheckpoint, description: String) {
        known[checkpoint.id] = checkpoint
        lastCheckpoint = description
    }

    func markScanned() -> Bool {
        defer { scanned = true }
        return !scanned
    }

    /// Installs a reloaded configuration and wakes whoever waits for reloads (the scheduler).
    func replace(_ config: Config) {
        self.config = config
        for waiter in reloadWaiters { waiter.yield() }
    }

    /// One element per reload.
    func reloads() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        reloadWaiters.append(continuation)
        return stream
    }
}
