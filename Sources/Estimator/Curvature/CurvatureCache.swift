import Base
import Synchronization

/// The curvature of one checkpoint's KL, computed at most once and shared by every cutoff, seed
/// and copy of its `CheckpointEstimation`. A second caller waits for the first computation
/// instead of repeating it; a computation that fails is not remembered.
final class CurvatureCache: Sendable {
    struct Timed<Value: Sendable>: Sendable {
        let value: Value
        /// Wall time of the one computation.
        let seconds: Double
    }

    /// By number of Monte-Carlo samples.
    private let fisher = Mutex<[Int: Timed<FisherDiagonal>]>([:])
    private let hessian = Mutex<Timed<SymmetricEigen<Float>>?>(nil)

    func fisherDiagonal(samples: Int, _ compute: () throws -> FisherDiagonal) throws -> Timed<FisherDiagonal> {
        try fisher.withLock { cache in
            if let cached = cache[samples] { return cached }
            let computed = try CurvatureCache.timed(compute)
            cache[samples] = computed
            return computed
        }
    }

    func gaussNewtonEigen(_ compute: () throws -> SymmetricEigen<Float>) throws -> Timed<SymmetricEigen<Float>> {
        try hessian.withLock { cache in
            if let cache { return cache }
            let computed = try CurvatureCache.timed(compute)
            cache = computed
            return computed
        }
    }

    private static func timed<Value: Sendable>(_ compute: () throws -> Value) throws -> Timed<Value> {
        let clock = ContinuousClock()
        let started = clock.now
        let value = try compute()
        return Timed(value: value, seconds: (clock.now - started).seconds)
    }
}
