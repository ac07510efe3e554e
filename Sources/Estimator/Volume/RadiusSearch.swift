#if canImport(Glibc)
import Glibc
#endif

/// Finds, along one ray, the distance at which the cost reaches each cutoff (docs/estimator.md,
/// "Radius search").
///
/// Guarantee: the returned distance was evaluated, its cost is within `tolerance` of the cutoff
/// (relative), and every distance the search evaluated closer to the anchor had cost below the
/// cutoff. Non-finite costs (NaN, ±∞) count as beyond the boundary. Cutoffs are handled smallest
/// first and share every evaluation.
///
/// No side of the cutoff is preferred: the longest rays dominate the log-sum-exp, and a radius
/// error of one sign there moves the log volume by up to D·tol/(2p) (C ≈ α·t^p, p ≈ 2).
/// - Before a bracket, each step aims at the cutoff along the log–log secant through the two
///   evaluated points nearest it (the hint's slope only for a ray's first step); a fixed slope
///   crept up on the cutoff and stopped at the band's near edge. The smallest step doubles each
///   time, so a plateau just short of the cutoff cannot spend the budget.
/// - Inside a bracket, the crossing of C = a·t² + b·t⁴ through both ends, with an Illinois-style
///   fall-back to geometric bisection. Along the fixtures' rays, log C is convex in log t by
///   about what this form predicts from the slope (curvature ≈ 2·(p − 2)); regula falsi's
///   straight line in log–log lies above a convex log C and landed below the cutoff nearly
///   every time.
/// - A point that enters the band in its outer half, on the side the search came from, gets one
///   more step aimed from it; the point nearest the cutoff is returned.
///
/// One instance per worker thread; no allocation after init.
final class RadiusSearch {
    struct Point {
        var t: Double
        var cost: Double
    }

    /// Per cutoff: the radius (+∞ when the cost stays below the cutoff out to `maxDistance`)
    /// and the number of evaluations made along the ray by the time it was found.
    struct Crossing {
        var radius: Double
        var evaluations: Int
    }

    let cutoffs: [Double]
    let tolerance: Double
    let maxDistance: Double
    /// Evaluations allowed per cutoff before the search settles for the tightest bracket end.
    let maxEvaluationsPerCutoff: Int

    private var history: [Point]
    private(set) var crossings: [Crossing]
    private(set) var evaluations = 0
    private(set) var nonfinite = 0
    /// log–log slope of the cost near the last crossing; a hint for the next direction.
    private(set) var exponent = 2.0

    init(cutoffs: [Double], tolerance: Double, maxDistance: Double, maxEvaluationsPerCutoff: Int = 100) {
        precondition(!cutoffs.isEmpty && zip(cutoffs, cutoffs.dropFirst()).allSatisfy { $0 < $1 }, "cutoffs must be ascending")
        self.cutoffs = cutoffs
        self.tolerance = tolerance
        self.maxDistance = maxDistance
        self.maxEvaluationsPerCutoff = maxEvaluationsPerCutoff
        history = []
        history.reserveCapacity(cutoffs.count * maxEvaluationsPerCutoff + 2)
        crossings = Array(repeating: Crossing(radius: .nan, evaluations: 0), count: cutoffs.count)
    }

    /// Runs the search along the current ray. `start` is the first distance tried (a warm start
    /// from an earlier direction), `exponentHint` the expected log–log slope.
    func run(start: Double, exponentHint: Double = 2, cost: (Double) -> Double) {
        history.removeAll(keepingCapacity: true)
        evaluations = 0
        nonfinite = 0
        exponent = RadiusSearch.clampExponent(exponentHint)
        var firstGuess = min(max(start, Double.leastNormalMagnitude), maxDistance)
        for (i, cutoff) in cutoffs.enumerated() {
            crossings[i] = search(cutoff: cutoff, firstGuess: firstGuess, cost: cost)
            firstGuess = crossings[i].radius
        }
    }

    private func evaluate(_ t: Double, _ cost: (Double) -> Double) -> Point {
        let c = cost(t)
        evaluations += 1
        if !c.isFinite { nonfinite += 1 }
        // Keep the history sorted by distance.
        let p = Point(t: t, cost: c.isNaN || c == -.infinity ? .infinity : c)
        var i = history.count
        history.append(p)
        while i > 0, history[i - 1].t > t {
            history[i] = history[i - 1]
            i -= 1
        }
        history[i] = p
        return p
    }

    private func search(cutoff: Double, firstGuess: Double, cost: (Double) -> Double) -> Crossing {
        let target = log(cutoff)
        var sameSide = 0
        var lastSide = 0
        // Steps taken before the crossing is bracketed: the smallest allowed step doubles with each.
        var unbracketedSteps = 0
        var refined = false
        var budget = maxEvaluationsPerCutoff
        while true {
            // The bracket from everything evaluated so far: `hi` is the closest point at or beyond
            // the cutoff, so every point before it is below; `lo` is the farthest of those.
            var hiIndex: Int? = nil
            for (i, p) in history.enumerated() where !(p.cost < cutoff) {
                hiIndex = i
                break
            }
            let loIndex = (hiIndex ?? history.count) - 1
            let lo = loIndex >= 0 ? history[loIndex] : Point(t: 0, cost: 0)
            let hi = hiIndex.map { history[$0] }
            let slope = localSlope(loIndex: loIndex, hiIndex: hiIndex)

            // Every point up to `hi` carries the guarantee. Of those within tolerance, the one
            // nearest the cutoff (in log cost): preferring either side would tilt the radii.
            var best: Point? = nil
            var bestError = Double.infinity
            for p in history.prefix((hiIndex ?? loIndex) + 1) where abs(p.cost / cutoff - 1) <= tolerance {
                let error = abs(log(p.cost / cutoff))
                if error < bestError {
                    best = p
                    bestError = error
                }
            }
            if let best {
                // The first point inside the band lies on the side the search came from, anywhere
                // in the band if the step to it was aimed with a first-order error: in the band's
                // outer half it gets one more step, aimed from it, and the nearer one is returned.
                if bestError > tolerance / 2, !refined, budget > 0 {
                    refined = true
                    budget -= 1
                    var t = best.t * exp((target - log(best.cost)) / RadiusSearch.clampExponent(slope ?? exponent))
                    if let hi, lo.t > 0 {
                        let margin = 1e-3 * (hi.t - lo.t)
                        t = min(max(t, lo.t + margin), hi.t - margin)
                    }
                    _ = evaluate(min(t, maxDistance), cost)
                    continue
                }
                if let slope, slope > 0 { exponent = RadiusSearch.clampExponent(slope) }
                return Crossing(radius: best.t, evaluations: evaluations)
            }

            guard let hi else {
                // No upper bracket yet: extrapolate outwards.
                if lo.t >= maxDistance {
                    return Crossing(radius: .infinity, evaluations: evaluations)
                }
                var t: Double
                if lo.t == 0 {
                    t = firstGuess
                } else if lo.cost > 0 {
                    // The hint only until two points give a slope; a flat or falling stretch
                    // gets the gentlest slope allowed, i.e. the longest step.
                    let p = RadiusSearch.clampExponent(slope ?? exponent)
                    let step = max((target - log(lo.cost)) / p, minimumStep(unbracketedSteps))
                    t = lo.t * exp(min(step, log(1e3)))
                    unbracketedSteps += 1
                } else {
                    t = lo.t * 1e3
                }
                t = min(t, maxDistance)
                if budget == 0 { return Crossing(radius: lo.t > 0 ? lo.t : t, evaluations: evaluations) }
                budget -= 1
                _ = evaluate(t, cost)
                continue
            }

            let width = hi.t - lo.t
            if budget == 0 || width <= 1e-13 * hi.t {
                // The cost jumps across the cutoff here (or the budget is spent): the tightest
                // evaluated bracket end that keeps the guarantee.
                let radius = hi.cost.isFinite || lo.t == 0 ? hi.t : lo.t
                return Crossing(radius: radius, evaluations: evaluations)
            }
            budget -= 1

            var t: Double
            if lo.t == 0 {
                // Only points beyond: shrink towards the anchor, aimed like an outward step.
                if hi.cost.isFinite, hi.cost > 0 {
                    let p = RadiusSearch.clampExponent(slope ?? exponent)
                    let step = min((target - log(hi.cost)) / p, -minimumStep(unbracketedSteps))
                    t = hi.t * exp(max(step, -log(1e3)))
                } else {
                    t = hi.t / 8
                }
                unbracketedSteps += 1
                t = min(t, hi.t * (1 - 1e-3))
            } else if sameSide >= 2 || !hi.cost.isFinite || !(lo.cost > 0) {
                t = sqrt(lo.t * hi.t)
                sameSide = 0
            } else {
                t = RadiusSearch.quarticCrossing(lo, hi, cutoff: cutoff) ?? sqrt(lo.t * hi.t)
                // Stay strictly inside the bracket.
                let margin = 1e-3 * width
                t = min(max(t, lo.t + margin), hi.t - margin)
            }
            let p = evaluate(t, cost)
            let side = p.cost < cutoff ? -1 : 1
            sameSide = side == lastSide ? sameSide + 1 : 1
            lastSide = side
        }
    }

    /// Where C = a·t² + b·t⁴ through `p` and `q` first reaches `cutoff`, if it does.
    private static func quarticCrossing(_ p: Point, _ q: Point, cutoff: Double) -> Double? {
        let w0 = p.t * p.t, w1 = q.t * q.t
        let b = (q.cost / w1 - p.cost / w0) / (w1 - w0)
        let a = p.cost / w0 - b * w0
        let w = 2 * cutoff / (a + (a * a + 4 * b * cutoff).squareRoot())
        return w.isFinite && w > 0 ? w.squareRoot() : nil
    }

    /// The smallest step in log t after `n` steps without a bracket: an eighth of the tolerance,
    /// doubling, so reaching any distance takes O(log) evaluations.
    private func minimumStep(_ n: Int) -> Double {
        tolerance / 8 * Double(1 << min(n, 60))
    }

    /// The log–log slope through the two evaluated points nearest the crossing: across it once
    /// bracketed, else the two nearest on the side evaluated so far; nil without two such points
    /// of finite, positive cost.
    private func localSlope(loIndex: Int, hiIndex: Int?) -> Double? {
        if let hiIndex {
            if loIndex >= 0 { return RadiusSearch.slope(history[loIndex], history[hiIndex]) }
            return hiIndex + 1 < history.count ? RadiusSearch.slope(history[hiIndex], history[hiIndex + 1]) : nil
        }
        return loIndex >= 1 ? RadiusSearch.slope(history[loIndex - 1], history[loIndex]) : nil
    }

    private static func slope(_ a: Point, _ b: Point) -> Double? {
        guard a.t > 0, b.t > a.t, a.cost > 0, a.cost.isFinite, b.cost > 0, b.cost.isFinite else { return nil }
        return log(b.cost / a.cost) / log(b.t / a.t)
    }

    private static func clampExponent(_ p: Double) -> Double {
        p.isFinite ? min(max(p, 0.5), 8) : 2
    }
}
