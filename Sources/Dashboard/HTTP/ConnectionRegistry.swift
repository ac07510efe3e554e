import Synchronization

/// The server's open connections: how many (for the limit), each one's task (to cut it at
/// shutdown) and deadline (a reaper cancels a connection whose deadline passed, which wakes
/// its pending socket read or write).
final class ConnectionRegistry: Sendable {
    enum Admission: Equatable {
        /// Serve it.
        case serve(Int)
        /// Over the limit: answer 503 and close.
        case reject(Int)
        /// Far over the limit: close at once.
        case drop
    }

    private struct Entry {
        var task: Task<Void, Never>?
        var deadline: ContinuousClock.Instant?
        var serving: Bool
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var nextID = 0
        var serving = 0
        var stopping = false
    }

    private let state = Mutex(State())
    private let clock = ContinuousClock()

    func admit(limit: Int) -> Admission {
        state.withLock { state in
            guard !state.stopping else { return .drop }
            let id = state.nextID
            state.nextID += 1
            if state.serving < limit {
                state.serving += 1
                state.entries[id] = Entry(serving: true)
                return .serve(id)
            }
            // Refusals are cheap but not free: at most `limit` of them at a time.
            guard state.entries.count - state.serving < limit else { return .drop }
            state.entries[id] = Entry(serving: false)
            return .reject(id)
        }
    }

    /// A no-op when the connection already ended.
    func attach(_ task: Task<Void, Never>, to id: Int) {
        state.withLock { state in
            state.entries[id]?.task = task
        }
    }

    func remove(_ id: Int) {
        state.withLock { state in
            if let entry = state.entries.removeValue(forKey: id), entry.serving { state.serving -= 1 }
        }
    }

    /// nil: no deadline (an event stream waiting for its next event).
    func setDeadline(_ id: Int, after duration: Duration?) {
        let deadline = duration.map { clock.now + $0 }
        state.withLock { state in
            state.entries[id]?.deadline = deadline
        }
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    /// Connections being served (refusals not counted).
    var servingCount: Int { state.withLock { $0.serving } }

    /// Cancels the connections whose deadline has passed.
    func cancelExpired() {
        let now = clock.now
        let expired = state.withLock { state in
            state.entries.values.compactMap { entry in entry.deadline.map { $0 <= now } == true ? entry.task : nil }
        }
        for task in expired { task.cancel() }
    }

    /// Refuses new connections, waits up to `grace` for those open to end, then cancels the
    /// rest and waits for them.
    func drain(grace: Duration) async {
        state.withLock { $0.stopping = true }
        let deadline = clock.now + grace
        while clock.now < deadline, !state.withLock({ $0.entries.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let remaining = state.withLock { $0.entries.values.compactMap(\.task) }
        for task in remaining { task.cancel() }
        for task in remaining { await task.value }
    }
}
