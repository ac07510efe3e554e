import Synchronization

/// Fans `NOTIFY volumed_estimates` out to the open event streams (`/events`, `/runs/<id>/events`)
/// as server-sent events. Each stream has a small buffer: a client that does not keep up is
/// dropped (its stream ends; the browser's `EventSource` reconnects and the page refetches), so
/// no client can make the others, or the database listener, wait.
public final class EstimateBroadcaster: Sendable {
    /// One open stream's bytes: whole SSE messages.
    public typealias Stream = AsyncStream<[UInt8]>

    /// An open stream and the way to end it (when its client is gone).
    public struct Subscription: Sendable {
        public let stream: Stream
        let continuation: Stream.Continuation

        public func end() {
            continuation.finish()
        }
    }

    private struct Subscriber {
        /// nil: every run.
        var runID: Int64?
        var continuation: Stream.Continuation
    }

    private struct State {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        var isClosed = false
    }

    public let maxStreams: Int
    /// Messages buffered per stream before it counts as too slow.
    public let bufferSize: Int
    private let state = Mutex(State())

    public init(maxStreams: Int, bufferSize: Int = 32) {
        self.maxStreams = maxStreams
        self.bufferSize = bufferSize
    }

    /// Open streams now.
    public var streamCount: Int { state.withLock { $0.subscribers.count } }

    /// A new stream of this run's events (nil: all runs); nil when `maxStreams` are open or the
    /// broadcaster is closed. It starts with a `retry` hint so browsers reconnect within seconds.
    public func subscribe(runID: Int64?) -> Subscription? {
        let (stream, continuation) = Stream.makeStream(bufferingPolicy: .bufferingOldest(bufferSize))
        let id: Int? = state.withLock { state in
            guard !state.isClosed, state.subscribers.count < maxStreams else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(runID: runID, continuation: continuation)
            return id
        }
        guard let id else {
            continuation.finish()
            return nil
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        continuation.yield(Array("retry: 2000\n\n".utf8))
        return Subscription(stream: stream, continuation: continuation)
    }

    /// `event: estimate` / `data: {"run_id":N,"checkpoint_id":M}` to the run's streams and the all-runs streams.
    public func publishEstimate(runID: Int64, checkpointID: Int64) {
        let message = Self.message(event: "estimate", data: "{\"run_id\":\(runID),\"checkpoint_id\":\(checkpointID)}")
        send { $0 == nil || $0 == runID ? message : nil }
    }

    /// After the database connection came back: notifications sent meanwhile are lost, so every
    /// page refetches. `checkpoint_id` is null (and `run_id` on the all-runs streams).
    public func publishRefresh() {
        send { runID in
            Self.message(event: "estimate",
                         data: "{\"run_id\":\(runID.map(String.init) ?? "null"),\"checkpoint_id\":null,\"reconnected\":true}")
        }
    }

    /// `: keep-alive`, so proxies and clients see a live connection (and a gone client's
    /// socket errors out).
    public func keepAlive() {
        let comment = Array(": keep-alive\n\n".utf8)
        send { _ in comment }
    }

    /// Ends every stream and refuses new ones (graceful shutdown).
    public func close() {
        let continuations = state.withLock { state in
            state.isClosed = true
            return state.subscribers.values.map(\.continuation)
        }
        for continuation in continuations { continuation.finish() }
    }

    /// Yields outside the lock: finishing a stream runs its `onTermination`, which takes the lock.
    private func send(_ message: (Int64?) -> [UInt8]?) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers {
            guard let bytes = message(subscriber.runID) else { continue }
            if case .dropped = subscriber.continuation.yield(bytes) {
                subscriber.continuation.finish()
            }
        }
    }

    private static func message(event: String, data: String) -> [UInt8] {
        Array("event: \(event)\ndata: \(data)\n\n".utf8)
    }
}
