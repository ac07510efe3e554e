import Estimator
import Foundation

/// The checkpoint estimation the workers of one process share: the shards of one estimate need
/// the same loaded model, eval data, anchor distribution and curvature, and the same direction-0
/// warm start, so a process computes them once per estimate rather than once per shard.
///
/// One entry at a time (at 1B parameters the anchor weights alone are 4 GiB): claiming a shard
/// of another checkpoint or settings key replaces it, and an empty queue drops it. A worker that needs the entry while
/// another loads it waits for that load instead of loading twice. Workers keep the entry they
/// got until their shard is finished, so replacing it never pulls it from under them.
final class EstimationCache: @unchecked Sendable {
    /// An estimate: its checkpoint version and settings.
    struct Key: Hashable, Sendable {
        let checkpointID: Int64
        let fingerprint: String
        let settingsKey: String
    }

    private let condition = NSCondition()
    private var current: (key: Key, entry: LoadedEstimation)?
    private var loading = false

    /// The entry for `key`, loaded by `load` unless it is the current one. Blocking: call it off
    /// the cooperative pool. A failed load is not kept (the next shard tries again).
    func entry(for key: Key, load: () throws -> CheckpointEstimation) throws -> LoadedEstimation {
        condition.lock()
        while true {
            if let current, current.key == key {
                condition.unlock()
                return current.entry
            }
            if !loading { break }
            condition.wait()
        }
        loading = true
        // Dropped before loading the next, so that two estimations are not held at once by the
        // cache (workers still using it keep theirs).
        current = nil
        condition.unlock()
        let loaded = Result { try LoadedEstimation(load()) }
        condition.lock()
        loading = false
        if case .success(let entry) = loaded { current = (key, entry) }
        condition.broadcast()
        condition.unlock()
        return try loaded.get()
    }

    /// Drops the entry (workers using it keep theirs): called when the queue is empty, so that
    /// an idle daemon does not hold a checkpoint's memory.
    func evict() {
        condition.lock()
        current = nil
        condition.unlock()
    }
}

/// A loaded checkpoint estimation with, per preconditioner, the preconditioner (or why it is
/// skipped) and direction 0's outcome: the warm start of every other direction. Both are
/// deterministic, so every process computes the same ones; a process computes each once.
final class LoadedEstimation: @unchecked Sendable {
    let estimation: CheckpointEstimation

    /// A preconditioner ready for the shards' directions.
    enum Prepared: Sendable {
        case skipped(reason: String)
        /// `firstSeconds`: how long direction 0 took, counted in the seconds of the shard that holds it.
        case ready(Preconditioner, first: DirectionOutcome, firstSeconds: Double)
    }

    /// Held while preparing: a second worker waits for the first's preconditioner and direction 0.
    private let lock = NSLock()
    private var prepared: [String: Prepared] = [:]

    init(_ estimation: CheckpointEstimation) {
        self.estimation = estimation
    }

    /// The preconditioner for `spec` and its direction 0 under `estimator` (the plan's settings
    /// with every cutoff; the thread count does not change the outcome).
    func prepare(_ spec: PreconditionerSpec, estimator: VolumeEstimator) throws -> Prepared {
        lock.lock()
        defer { lock.unlock() }
        if let known = prepared[spec.description] { return known }
        let result: Prepared
        switch try estimation.preconditioner(spec) {
        case .failure(let skip):
            result = .skipped(reason: skip.reason)
        case .success(let preconditioner):
            let clock = ContinuousClock()
            let started = clock.now
            let first = estimator.firstDirection(preconditioner: preconditioner)
            result = .ready(preconditioner, first: first, firstSeconds: (clock.now - started).seconds)
        }
        prepared[spec.description] = result
        return result
    }

    /// What `prepare` computed for `spec`, if it ran in this process.
    func preparedPreconditioner(_ spec: PreconditionerSpec) -> Prepared? {
        lock.lock()
        defer { lock.unlock() }
        return prepared[spec.description]
    }
}
