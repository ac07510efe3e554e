import Synchronization

@testable import Daemon

/// Records everything a watcher emits, so tests can wait for (and count) events.
final class EventCollector: Sendable {
    private final class Storage: Sendable {
        let events = Mutex<[WatchEvent]>([])
    }

    private let storage = Storage()
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<WatchEvent>) {
        task = Task { [storage] in
            for await event in stream {
                storage.events.withLock { $0.append(event) }
            }
        }
    }

    var events: [WatchEvent] { storage.events.withLock { $0 } }

    var settled: [SettledCheckpoint] {
        events.compactMap { if case .settled(let checkpoint) = $0 { checkpoint } else { nil } }
    }

    var scans: [ScanReport] {
        events.compactMap { if case .scanCompleted(let report) = $0 { report } else { nil } }
    }

    func settled(at path: String) -> [SettledCheckpoint] {
        settled.filter { $0.path == path }
    }

    /// Polls until `condition` holds; false if it still does not after `timeout` (a guard
    /// against hanging, not a speed requirement).
    func wait(timeout: Duration = .seconds(30), until condition: (EventCollector) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(self)
    }

    /// Waits until the stream has finished (the watcher stopped).
    func finished() async {
        await task.value
    }
}
