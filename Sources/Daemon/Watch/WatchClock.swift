/// Where the watcher reads the time for settling and rescans: `ContinuousClock` in the daemon;
/// in tests, a clock that moves only when the test advances it, so that a checkpoint settles
/// because the test let its settle time pass, never because the machine was slow.
struct WatchClock: Sendable {
    private let read: @Sendable () -> ContinuousClock.Instant

    init<C: Clock>(_ clock: C) where C.Instant == ContinuousClock.Instant {
        read = { clock.now }
    }

    var now: ContinuousClock.Instant { read() }
}
