import Dispatch

/// Runs blocking work (hashing files, loading checkpoints, estimates, `pg_ctl`) on a dedicated
/// serial dispatch queue, so it never occupies a thread of Swift's cooperative pool.
public struct BlockingQueue: Sendable {
    private let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
