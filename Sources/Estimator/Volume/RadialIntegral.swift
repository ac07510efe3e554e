import Glibc

/// The radial integrals of the volume estimator (paper eq. 19), in log space.
///
/// With x = t/σ the Gaussian integral becomes σ-free:
///
///   ∫_0^r (2πσ²)^(−D/2) e^(−(t² + 2bt + c)/(2σ²)) t^(D−1) dt
///     = (2π)^(−D/2) · e^(−(c − b²)/(2σ²)) · ∫_0^(r/σ) e^(φ(x)) dx,   φ(x) = −(x + β)²/2 + n·log x,
///
/// with β = b/σ and n = D − 1. φ is strictly concave with its peak at x* = (−β + √(β² + 4n))/2.
/// Around a = min(x*, r/σ), the highest point of the range, φ(a + s) − φ(a) =
/// −s²/2 + s·φ′(a) + n·(log(1 + s/a) − s/a) is O(1) over a window that is found by stepping out
/// until it falls below −`windowDepth`; that bounded, smooth function is integrated with adaptive
/// Gauss–Kronrod quadrature, and φ(a) and the constants are added back in log space. Nothing in
/// this depends on a Laplace approximation being good, so it holds from D = 2 to 10^10, for
/// anchors at or far from the prior's centre, and for radii far below or beyond the peak.
public enum RadialIntegral {
    /// log ∫_0^r (2πσ²)^(−D/2) · exp(−(t² + 2bt + c)/(2σ²)) · t^(D−1) dt   for 0 ≤ r ≤ +∞.
    /// b = v̂·(θ0−μ), c = ‖θ0−μ‖² (so b² ≤ c up to rounding). r = 0 → −∞.
    ///
    /// D ≥ 1. Finite whenever the true value is representable; −∞ for r ≤ 0; NaN only for
    /// meaningless arguments (σ not positive and finite, or a NaN argument).
    public static func logGaussian(dimension D: Int, radius r: Double, b: Double, c: Double, sigma: Double) -> Double {
        precondition(D >= 1, "dimension \(D) is below 1")
        guard sigma > 0, sigma.isFinite, !r.isNaN, b.isFinite, c.isFinite else { return .nan }
        guard r > 0 else { return -.infinity }
        let d = Double(D)
        let n = d - 1
        let beta = b / sigma
        // c − b² with one rounding: b² = c is the anchor-to-centre direction, where it vanishes.
        let excess = c.addingProduct(-b, b)
        let constant = -0.5 * d * log(2 * Double.pi) - 0.5 * (excess / sigma) / sigma

        // Radii far below every scale of the integrand: e^(−(x + β)²/2) is e^(−β²/2) to within a
        // relative 2^-54 on [0, r/σ], so the integral is e^(−β²/2)·(r/σ)^D/D. Taking log r − log σ
        // also keeps radii whose ratio to σ underflows.
        let rho = r / sigma
        if rho * (abs(beta) + rho) <= 0x1p-54 {
            return constant - 0.5 * beta * beta + d * (log(r) - log(sigma)) - log(d)
        }
        return constant + logPeakIntegral(n: n, beta: beta, limit: rho)
    }

    /// log |S^(D−1)| = log 2 + (D/2)·log π − logΓ(D/2)
    public static func logSphereArea(dimension D: Int) -> Double {
        precondition(D >= 1, "dimension \(D) is below 1")
        let half = 0.5 * Double(D)
        return log(2.0) + half * log(Double.pi) - SpecialFunctions.logGamma(half)
    }

    /// How far below its maximum the log-integrand is followed: e^-64 ≈ 1.6·10^-28 of the peak.
    static let windowDepth = 64.0
    /// Relative accuracy asked of the quadrature (on the Gauss–Kronrod difference, which
    /// overstates the Kronrod rule's actual error by orders of magnitude for smooth integrands).
    static let relativeTolerance = 1e-12
    /// Segments the window may start with on each side of the maximum, and in all.
    static let maximumSteps = 40
    static let maximumSegments = 128

    /// log ∫_0^limit e^(φ(x)) dx with φ(x) = −(x + β)²/2 + n·log x, n ≥ 0, limit > 0 (may be +∞).
    static func logPeakIntegral(n: Double, beta: Double, limit: Double) -> Double {
        // Peak x* of φ, cancellation-free on both signs of β; hypot keeps β² from overflowing.
        let root = hypot(beta, 2 * n.squareRoot())
        let peak = beta <= 0 ? 0.5 * (root - beta) : 2 * n / (beta + root)
        let integrand: LogIntegrand
        let anchorValue: Double  // φ(a)
        if limit >= peak {
            // x* + β = n/x* exactly; computing it as a difference would cancel when β ≈ −x*.
            let shifted = n > 0 ? n / peak : max(beta, 0)
            // With n = 0 and β > 0 the maximum over x ≥ 0 is the endpoint 0, where φ′ = −β.
            let slope = n == 0 && beta > 0 ? -beta : 0
            integrand = LogIntegrand(n: n, anchor: peak, slope: slope)
            anchorValue = -0.5 * shifted * shifted + (n > 0 ? n * log(peak) : 0)
        } else {
            // φ′(ρ) = n/ρ − ρ − β = (x* − ρ)(ρ + n/x*)/ρ > 0, without the cancellation near x*.
            let slope = (peak - limit) * (limit + (n > 0 ? n / peak : 0)) / limit
            integrand = LogIntegrand(n: n, anchor: limit, slope: slope)
            let shifted = limit + beta
            anchorValue = -0.5 * shifted * shifted + (n > 0 ? n * log(limit) : 0)
        }
        let integral = integrand.integrateExp(upTo: limit - integrand.anchor)
        return anchorValue + log(integral)
    }
}

/// g(s) = φ(a + s) − φ(a) = −s²/2 + s·φ′(a) + n·(log(1 + s/a) − s/a) for s ≥ −a: concave, g(0) = 0.
struct LogIntegrand {
    let n: Double
    let anchor: Double
    let slope: Double

    @inline(__always)
    func callAsFunction(_ s: Double) -> Double {
        let quadratic = s * (slope - 0.5 * s)
        return n > 0 ? quadratic + n * SpecialFunctions.log1pMinusX(s / anchor) : quadratic
    }

    /// ∫ e^(g(s)) ds over [−a, upper] (upper ≥ 0, may be +∞), relative accuracy ~1e-13 or better.
    func integrateExp(upTo upper: Double) -> Double {
        // Step out from 0 in doublings of the scale on which g changes by O(1) until g drops below
        // −windowDepth or the range ends. The steps also make the first quadrature segments:
        // fine near the maximum, coarse in the tails. Concavity bounds the count (g ≤ s·g′(0) and
        // g ≤ −s²(1 + n/a²)/2 on the left, g ≤ −s²/2 on the right): about ten steps per side.
        // √(−g″(0)) = √(1 + n/a²), where n/a² may overflow (and a = 0 only when n = 0).
        let curvatureScale = n > 0 ? hypot(1, n.squareRoot() / anchor) : 1
        let step = 1 / (abs(slope) + curvatureScale)
        let depth = -RadialIntegral.windowDepth
        return withUnsafeTemporaryAllocation(of: QuadratureSegment.self, capacity: RadialIntegral.maximumSegments) { segments in
            var count = 0
            func add(_ lower: Double, _ upper: Double) {
                segments.initializeElement(at: count, to: QuadratureSegment(lower: lower, upper: upper, integrand: self))
                count += 1
            }
            // Left of the maximum, down to s = −a (x = 0).
            var inner = 0.0
            var outer = -step
            while inner > -anchor, count < RadialIntegral.maximumSteps {
                let clipped = max(outer, -anchor)
                add(clipped, inner)
                if clipped == -anchor || self(clipped) < depth { break }
                inner = clipped
                outer *= 2
            }
            // Right of the maximum, up to the radius.
            inner = 0
            outer = step
            let leftCount = count
            while inner < upper, count < leftCount + RadialIntegral.maximumSteps {
                let clipped = min(outer, upper)
                add(inner, clipped)
                if clipped == upper || self(clipped) < depth { break }
                inner = clipped
                outer *= 2
            }
            // Adaptive refinement: bisect the segment with the largest error estimate until the
            // estimates sum to a small fraction of the integral (or the segments run out).
            while count < RadialIntegral.maximumSegments {
                var total = 0.0, error = 0.0, worst = 0
                for i in 0..<count {
                    total += segments[i].value
                    error += segments[i].error
                    if segments[i].error > segments[worst].error { worst = i }
                }
                if error <= RadialIntegral.relativeTolerance * total { break }
                let split = segments[worst]
                let middle = 0.5 * (split.lower + split.upper)
                guard middle > split.lower, middle < split.upper else { break }
                segments[worst] = QuadratureSegment(lower: split.lower, upper: middle, integrand: self)
                add(middle, split.upper)
            }
            var total = 0.0
            for i in 0..<count { total += segments[i].value }
            return total
        }
    }
}

/// One Gauss–Kronrod (7, 15) panel of ∫ e^(g): the Kronrod value and |Kronrod − Gauss|.
struct QuadratureSegment {
    let lower: Double
    let upper: Double
    let value: Double
    let error: Double

    init(lower: Double, upper: Double, integrand g: LogIntegrand) {
        self.lower = lower
        self.upper = upper
        let center = 0.5 * (lower + upper)
        let half = 0.5 * (upper - lower)
        let f0 = exp(g(center))
        var kronrod = Self.kronrodWeights[7] * f0
        var gauss = Self.gaussWeights[3] * f0
        for i in 0..<7 {
            let pair = exp(g(center - half * Self.kronrodNodes[i])) + exp(g(center + half * Self.kronrodNodes[i]))
            kronrod += Self.kronrodWeights[i] * pair
            if i % 2 == 1 { gauss += Self.gaussWeights[i / 2] * pair }
        }
        value = kronrod * half
        error = abs(kronrod - gauss) * half
    }

    // QUADPACK's qk15 abscissae and weights (nodes 1, 3, 5 and the centre are the Gauss points).
    static let kronrodNodes: [Double] = [
        0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
        0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
        0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
        0.207784955007898467600689403773245,
    ]
    static let kronrodWeights: [Double] = [
        0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
        0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
        0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
        0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
    ]
    static let gaussWeights: [Double] = [
        0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
        0.381830050505118944950369775488975, 0.417959183673469387755102040816327,
    ]
}
