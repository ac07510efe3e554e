import Config
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// What the watcher reports, in order.
public enum WatchEvent: Sendable {
    /// A full scan finished: at start-up (send READY=1 after the first), after an inotify queue
    /// overflow, periodically, or on request.
    case scanCompleted(ScanReport)
    /// A checkpoint settled; enqueue it.
    case settled(SettledCheckpoint)
}

public struct ScanReport: Sendable, Equatable {
    public enum Reason: String, Sendable, Equatable {
        case startup, overflow, periodic, requested
    }

    public var reason: Reason
    public var runs: Int
    /// Checkpoints holding a weights file (settled or not).
    public var checkpoints: Int
    /// Skipped paths (unreadable folders, symbolic link loops, …), each logged once.
    public var problems: Int
}

/// Watches the checkpoint folder (docs/architecture.md, "Watcher") with libinotifytools and reports
/// settled checkpoints on `events`.
///
/// Run folders and checkpoint folders are watched as they appear and inspected right after the
/// watch is added; HF Trainer's `tmp-checkpoint-N` → `checkpoint-N` rename and in-place writes
/// are both settled by `Settler`. A full rescan runs at start-up, after IN_Q_OVERFLOW, every
/// `rescanInterval` and on `requestRescan()`. Unreadable folders, symbolic link loops and
/// similar are logged as warnings and skipped; the watcher keeps serving.
///
/// All file system work runs on a dedicated thread, never on the cooperative pool.
/// libinotifytools keeps process-global state, so only one watcher runs per process at a time.
/// `run()` returns after graceful shutdown or cancellation, once the thread has exited and
/// `events` has finished.
public final class Watcher: Service {
    public let root: String
    public let settleTime: Duration
    public let rescanInterval: Duration?
    public let events: AsyncStream<WatchEvent>

    private let continuation: AsyncStream<WatchEvent>.Continuation
    private let logger: Logger
    private let clock: WatchClock
    private let control = Control()

    private final class Control: Sendable {
        let stopRequested = Atomic<Bool>(false)
        let rescanRequested = Atomic<Bool>(false)
        let ran = Atomic<Bool>(false)
    }

    /// - Parameters:
    ///   - settleTime: how long a checkpoint's files must stay closed and unchanged.
    ///   - rescanInterval: time between periodic full rescans; nil for none.
    public convenience init(root: String, settleTime: Duration, rescanInterval: Duration?, logger: Logger) {
        self.init(root: root, settleTime: settleTime, rescanInterval: rescanInterval, logger: logger, clock: ContinuousClock())
    }

    /// With the clock that times settling and rescans (tests pass one they advance by hand).
    init<C: Clock>(root: String, settleTime: Duration, rescanInterval: Duration?, logger: Logger, clock: C)
    where C.Instant == ContinuousClock.Instant {
        self.root = CheckpointScanner(root: root).root
        self.settleTime = settleTime
        self.rescanInterval = rescanInterval
        self.logger = logger
        self.clock = WatchClock(clock)
        (events, continuation) = AsyncStream.makeStream(of: WatchEvent.self, bufferingPolicy: .unbounded)
    }

    /// From `[watch]`: `rescan_seconds = 0` means no periodic rescans.
    public convenience init(config: Config.Watch, logger: Logger) {
        self.init(
            root: config.root,
            settleTime: .milliseconds(Int64((config.settleSeconds * 1000).rounded())),
            rescanInterval: config.rescanSeconds > 0 ? .milliseconds(Int64((config.rescanSeconds * 1000).rounded())) : nil,
            logger: logger)
    }

    /// Asks for a full rescan (e.g. on SIGHUP); it starts within about a second.
    public func requestRescan() {
        control.rescanRequested.store(true, ordering: .relaxed)
    }

    public func run() async throws {
        guard !control.ran.exchange(true, ordering: .relaxed) else {
            throw WatcherError(reason: .alreadyRan)
        }
        guard Self.claimProcessWatcher() else {
            continuation.finish()
            throw WatcherError(reason: .alreadyRunning)
        }
        defer { Self.releaseProcessWatcher() }

        let settings = WatchLoop.Settings(root: root, settleTime: settleTime, rescanInterval: rescanInterval)
        let result = await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Result<Void, WatcherError>, Never>) in
                let thread = Thread { [logger, clock, control, continuation] in
                    let result = Result { () throws(WatcherError) in
                        let loop = try WatchLoop(settings: settings, clock: clock, logger: logger) { continuation.yield($0) }
                        try loop.run(
                            shouldStop: { control.stopRequested.load(ordering: .relaxed) },
                            takeRescanRequest: { control.rescanRequested.exchange(false, ordering: .relaxed) })
                    }
                    continuation.finish()
                    done.resume(returning: result)
                }
                thread.name = "volumed-watcher"
                thread.start()
            }
        } onCancelOrGracefulShutdown: { [control] in
            control.stopRequested.store(true, ordering: .relaxed)
        }
        try result.get()
    }

    private static let processWatcher = Mutex(false)

    private static func claimProcessWatcher() -> Bool {
        processWatcher.withLock { active in
            guard !active else { return false }
            active = true
            return true
        }
    }

    private static func releaseProcessWatcher() {
        processWatcher.withLock { $0 = false }
    }
}
