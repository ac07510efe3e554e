#if canImport(Glibc)
import Glibc
#endif

/// Finds, along one ray, the distance at which the cost reaches each cutoff (docs/estimator.md,
/// "Radius search").
///
/// Guarantee: the returned distance was evaluated, its cost is within `tolerance` of the cutoff
/// (relative), and every distance the search evaluated closer to the anchor had cost below the
/// cutoff. Non-finite costs count as beyond the boundary. Cutoffs are handled smallest first and
/// share every evaluation. The bracket is shrunk by regula falsi on log C vs log t (C ≈ α·t^p near
/// an anchor, p ≈ 2), with an Illinois-style fall-back to geometric bisection.
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
        let p = Point(t: t, cost: c.isNaN ? .infinity : c)
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
        var sameSide = 0
        var lastSide = 0
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

            if let hi, hi.cost.isFinite, abs(hi.cost / cutoff - 1) <= tolerance {
                noteExponent(lo, hi)
                return Crossing(radius: hi.t, evaluations: evaluations)
            }
            // Any evaluated point before `hi` within tolerance also carries the guarantee.
            var best: Point? = nil
            for i in stride(from: loIndex, through: 0, by: -1) where abs(history[i].cost / cutoff - 1) <= tolerance {
                best = history[i]
                break
            }
            if let best {
                if let hi { noteExponent(best, hi) }
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
                    t = lo.t * min(pow(cutoff / lo.cost, 1 / exponent), 1e3)
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
                // Only an upper point: shrink towards the anchor along the power law.
                if hi.cost.isFinite, hi.cost > 0 {
                    t = hi.t * pow(cutoff / hi.cost, 1 / exponent)
                } else {
                    t = hi.t / 8
                }
                t = min(t, hi.t * (1 - 1e-3))
            } else if sameSide >= 2 || !hi.cost.isFinite || !(lo.cost > 0) {
                t = sqrt(lo.t * hi.t)
                sameSide = 0
            } else {
                let x0 = log(lo.t), x1 = log(hi.t)
                let y0 = log(lo.cost), y1 = log(hi.cost)
                let target = log(cutoff)
                t = y1 > y0 ? exp(x0 + (target - y0) * (x1 - x0) / (y1 - y0)) : sqrt(lo.t * hi.t)
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

    private func noteExponent(_ a: Point, _ b: Point) {
        guard a.t > 0, b.t > a.t, a.cost > 0, b.cost.isFinite, b.cost > a.cost else { return }
        exponent = RadiusSearch.clampExponent(log(b.cost / a.cost) / log(b.t / a.t))
    }

    private static func clampExponent(_ p: Double) -> Double {
        p.isFinite ? min(max(p, 0.5), 8) : 2
    }
}
