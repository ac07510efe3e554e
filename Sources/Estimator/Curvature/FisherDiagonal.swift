#if canImport(Glibc)
import Glibc
#endif

/// The diagonal of the KL cost's Hessian at the anchor, which there equals the Fisher / Gauss-
/// Newton matrix: (1/N)·Σ_n Σ_c (J_nᵀ g_{n,c})² with g_{n,c} = √p_c·(e_c − p) at each counted
/// position n (Σ_c g_c g_cᵀ = diag(p) − ppᵀ, the softmax's Hessian), squared per example — for a
/// linear layer Σ_n δ_n²·x_n², not (Σ_n δ_n·x_n)².
///
/// An example is one output position (`BackwardPass`), for language models too: J_n is the
/// Jacobian of token position n's logits with respect to every parameter, through attention to
/// all earlier positions of its sequence, and its pullback is squared on its own — not the
/// sequence's summed pullback (Σ_t J_tᵀ g_t)², which has the same expectation under Monte-Carlo
/// labels but cross terms between positions that add variance: about √T times the relative error
/// per label draw. The price is one backward pass per position, over its prefix (T·N passes per
/// draw; about T/2 times the work of one pass over the whole batch).
public struct FisherDiagonal: Sendable {
    public enum Method: Sendable, Equatable, CustomStringConvertible {
        /// One backward pass per class and example: Σ_c over every class.
        case exact
        /// One label y ~ p_θ0 drawn at every position, `samples` times; the pullback of e_y − p,
        /// squared per example, has the Fisher diagonal as its expectation. The spread between
        /// samples gives `relativeStandardError`.
        case monteCarlo(samples: Int)

        /// Exact costs one backward pass per class; beyond this many classes (a language model's
        /// vocabulary) the diagonal is Monte-Carlo.
        public static let exactClassLimit = 64

        /// Exact for few classes (MLP classifiers), Monte-Carlo for more (language models).
        public static func natural<P: BackwardPass>(for pass: P, samples: Int) -> Method {
            pass.anchor.classes <= exactClassLimit ? .exact : .monteCarlo(samples: samples)
        }

        public var description: String {
            switch self {
            case .exact: "exact"
            case .monteCarlo(let samples): "Monte-Carlo, \(samples) sample\(samples == 1 ? "" : "s")"
            }
        }
    }

    /// Fixed key of the Monte-Carlo label draws: the curvature is a property of the checkpoint,
    /// shared by every seed of its estimates, so it must not depend on the estimate's seed.
    public static let labelKey: UInt64 = 0x6669_7368_6572  // "fisher"

    public let values: [Double]
    public let method: Method
    /// Monte-Carlo only, with at least 2 samples: the median over nonzero entries of each entry's
    /// standard error relative to its value (from the spread between samples).
    public let relativeStandardError: Double?

    /// Examples per backward pass: bounds the pass's scratch memory.
    static let examplesPerBlock = 256

    public init<P: BackwardPass>(_ pass: P, method: Method) {
        self.method = method
        let anchor = pass.anchor
        let classes = anchor.classes
        let positions = Double(anchor.positions)
        let counted = FisherDiagonal.countedMask(anchor)
        let probabilities = anchor.probabilities
        var squares = [P.Scalar](repeating: 0, count: pass.dimension)
        var cotangents: [P.Scalar] = []

        switch method {
        case .exact:
            for c in 0..<classes {
                for block in FisherDiagonal.blocks(pass.examples) {
                    FisherDiagonal.classCotangents(c, rows: block, anchor: anchor, counted: counted, into: &cotangents)
                    squares.withUnsafeMutableBufferPointer { s in
                        pass.pullback(examples: block, cotangents: cotangents, sum: nil, squares: s.baseAddress!)
                    }
                }
            }
            values = squares.map { Double($0) / positions }
            relativeStandardError = nil

        case .monteCarlo(let samples):
            let philox = Philox(key: FisherDiagonal.labelKey)
            var total = [Double](repeating: 0, count: pass.dimension)
            var totalSquares = [Double](repeating: 0, count: pass.dimension)
            for sample in 0..<samples {
                for i in squares.indices { squares[i] = 0 }
                for block in FisherDiagonal.blocks(pass.examples) {
                    cotangents.removeAll(keepingCapacity: true)
                    for r in block {
                        let p = probabilities[(r * classes)..<((r + 1) * classes)]
                        guard counted[r] else {
                            cotangents.append(contentsOf: repeatElement(0, count: classes))
                            continue
                        }
                        let draw = philox.block(stream: Philox.fisherLabelStream,
                                                position: UInt64(sample) * UInt64(anchor.rows) + UInt64(r))
                        let label = FisherDiagonal.sampleLabel(p, uniform: Philox.openUniform(draw[0]))
                        for k in 0..<classes {
                            cotangents.append(P.Scalar((k == label ? 1 : 0) - p[p.startIndex + k]))
                        }
                    }
                    squares.withUnsafeMutableBufferPointer { s in
                        pass.pullback(examples: block, cotangents: cotangents, sum: nil, squares: s.baseAddress!)
                    }
                }
                for i in squares.indices {
                    let x = Double(squares[i]) / positions
                    total[i] += x
                    totalSquares[i] += x * x
                }
            }
            let s = Double(samples)
            values = total.map { $0 / s }
            relativeStandardError = samples < 2 ? nil : FisherDiagonal.medianRelativeError(
                mean: values, sumOfSquares: totalSquares, samples: s)
        }
    }

    static func blocks(_ examples: Int) -> [Range<Int>] {
        stride(from: 0, to: examples, by: examplesPerBlock).map { $0..<min(examples, $0 + examplesPerBlock) }
    }

    static func countedMask(_ anchor: AnchorProbabilities) -> [Bool] {
        var mask = [Bool](repeating: false, count: anchor.rows)
        for r in anchor.countedRows { mask[r] = true }
        return mask
    }

    /// g = √p_c·(e_c − p) at each of `rows` for class `c` (zero where the KL does not count), so
    /// that Σ_c g_c g_cᵀ = diag(p) − ppᵀ; replaces the contents of `cotangents` ([rows, classes]).
    static func classCotangents<S: BLASScalar>(_ c: Int, rows: Range<Int>, anchor: AnchorProbabilities,
                                               counted: [Bool], into cotangents: inout [S]) {
        let classes = anchor.classes
        let probabilities = anchor.probabilities
        cotangents.removeAll(keepingCapacity: true)
        for r in rows {
            let p = probabilities[(r * classes)..<((r + 1) * classes)]
            let root = counted[r] ? p[p.startIndex + c].squareRoot() : 0
            for k in 0..<classes {
                cotangents.append(S(root * ((k == c ? 1 : 0) - p[p.startIndex + k])))
            }
        }
    }

    /// Inverse-CDF draw from a categorical distribution; rounding slack goes to the last class.
    static func sampleLabel(_ p: ArraySlice<Double>, uniform: Double) -> Int {
        var cumulative = 0.0
        for (k, pk) in p.enumerated() {
            cumulative += pk
            if uniform < cumulative { return k }
        }
        return p.count - 1
    }

    /// Median over entries with a positive mean of sd/(√S·mean), sd from the S per-sample values.
    static func medianRelativeError(mean: [Double], sumOfSquares: [Double], samples s: Double) -> Double? {
        var relative: [Double] = []
        for (m, q) in zip(mean, sumOfSquares) where m > 0 {
            let variance = max(0, (q - s * m * m) / (s - 1))
            relative.append((variance / s).squareRoot() / m)
        }
        guard !relative.isEmpty else { return nil }
        relative.sort()
        return relative[relative.count / 2]
    }
}

extension Philox {
    /// The stream of the Monte-Carlo Fisher's label draws.
    public static let fisherLabelStream: UInt64 = auxiliaryStreams | 2
}
