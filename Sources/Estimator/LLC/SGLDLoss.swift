/// A loss the SGLD sampler descends: a mean over a mini-batch of data rows, with its gradient
/// with respect to the flat parameters, at any θ. The cross-entropy of a model on its eval data
/// (`MLPCrossEntropy`, `LanguageModelCrossEntropy`) in production; a test supplies a quadratic.
protocol SGLDLoss: Sendable {
    associatedtype Scalar: BLASScalar
    /// A mini-batch prepared once (its rows gathered) and replayed every epoch.
    associatedtype Batch: Sendable
    /// What a chain keeps from step to step to avoid allocating (nothing by default).
    associatedtype Workspace = Void

    /// D, the length of the flat parameter vector.
    var dimension: Int { get }
    /// How many rows mini-batches are drawn from.
    var rows: Int { get }

    /// The mini-batch of the data rows `rows`.
    func batch(_ rows: [Int]) throws(EstimatorError) -> Batch

    /// The mean loss over `batch` at `theta`, with its gradient written to `gradient` (D long).
    /// Not finite (the gradient then unspecified) when the model's outputs are not.
    func lossAndGradient(at theta: [Scalar], batch: Batch, gradient: UnsafeMutablePointer<Scalar>) -> Double

    /// A fresh workspace for one chain.
    func makeWorkspace() -> Workspace
    /// `lossAndGradient` with buffers kept in `workspace` between calls (the same result).
    func lossAndGradient(at theta: [Scalar], batch: Batch, workspace: inout Workspace,
                         gradient: UnsafeMutablePointer<Scalar>) -> Double
}

extension SGLDLoss where Workspace == Void {
    func makeWorkspace() {}

    func lossAndGradient(at theta: [Scalar], batch: Batch, workspace: inout Void,
                         gradient: UnsafeMutablePointer<Scalar>) -> Double {
        lossAndGradient(at: theta, batch: batch, gradient: gradient)
    }
}

extension SGLDLoss {
    /// The mean loss over every row at `theta` (all rows as one batch; the gradient is dropped).
    func loss(at theta: [Scalar]) throws(EstimatorError) -> Double {
        let all = try batch(Array(0..<rows))
        var gradient = [Scalar](repeating: 0, count: dimension)
        return gradient.withUnsafeMutableBufferPointer { lossAndGradient(at: theta, batch: all, gradient: $0.baseAddress!) }
    }
}

/// Mean cross-entropy and its cotangents at the logits: for each counted example e with target
/// y_e, −log softmax(logits_e)[y_e], and (softmax(logits_e) − onehot(y_e)) / count written to
/// `cotangents` (zero for examples that do not count), so a backward pass's Σ_e J_eᵀ g_e is the
/// gradient of the mean. Sums and logs in float64. NaN when a counted row is not finite.
enum CrossEntropy {
    static func meanAndCotangents<Scalar: BLASScalar>(logits: UnsafePointer<Scalar>, classes: Int,
                                                      targets: UnsafeBufferPointer<Int>, counted: Int,
                                                      cotangents: UnsafeMutablePointer<Scalar>) -> Double {
        if Scalar.self == Float.self {
            return meanAndCotangents(logits: UnsafeRawPointer(logits).assumingMemoryBound(to: Float.self), classes: classes,
                                     targets: targets, counted: counted,
                                     cotangents: UnsafeMutableRawPointer(cotangents).assumingMemoryBound(to: Float.self))
        }
        cotangents.update(repeating: 0, count: targets.count * classes)
        guard counted > 0 else { return 0 }
        let scale = 1 / Double(counted)
        var total = 0.0
        for (e, target) in targets.enumerated() where target >= 0 {
            let row = logits + e * classes
            var m = -Double.infinity
            for c in 0..<classes { m = max(m, Double(row[c])) }
            var s = 0.0
            for c in 0..<classes { s += exp(Double(row[c]) - m) }
            let lse = m + log(s)
            guard lse.isFinite else { return .nan }
            total += lse - Double(row[target])
            let g = cotangents + e * classes
            for c in 0..<classes { g[c] = Scalar(exp(Double(row[c]) - lse) * scale) }
            g[target] -= Scalar(scale)
        }
        return total * scale
    }

    /// The float32 case: exps by `FastExp` (≤ 2 ulp), their sum and the logs in float64.
    static func meanAndCotangents(logits: UnsafePointer<Float>, classes: Int, targets: UnsafeBufferPointer<Int>,
                                  counted: Int, cotangents: UnsafeMutablePointer<Float>) -> Double {
        guard counted > 0 else {
            cotangents.update(repeating: 0, count: targets.count * classes)
            return 0
        }
        let scale = 1 / Double(counted)
        var total = 0.0
        for (e, target) in targets.enumerated() {
            let g = cotangents + e * classes
            guard target >= 0 else {
                g.update(repeating: 0, count: classes)
                continue
            }
            let row = logits + e * classes
            var m = -Float.infinity
            for c in 0..<classes { m = max(m, row[c]) }
            guard m.isFinite else { return .nan }
            for c in 0..<classes { g[c] = row[c] - m }
            FastExp.exp(g, into: g, count: classes)
            var s = 0.0
            for c in 0..<classes { s += Double(g[c]) }
            let lse = Double(m) + log(s)
            guard lse.isFinite else { return .nan }
            total += lse - Double(row[target])
            let f = Float(scale / s)
            for c in 0..<classes { g[c] *= f }
            g[target] -= Float(scale)
        }
        return total * scale
    }
}

#if canImport(Glibc)
import Glibc
#endif
