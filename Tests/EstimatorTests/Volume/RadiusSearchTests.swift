import Testing
@testable import Estimator
#if canImport(Glibc)
import Glibc
#endif

/// A cost along one ray that records where it was evaluated.
final class RecordedCost {
    let f: (Double) -> Double
    private(set) var points: [(t: Double, cost: Double)] = []
    init(_ f: @escaping (Double) -> Double) { self.f = f }
    func callAsFunction(_ t: Double) -> Double {
        let c = f(t)
        points.append((t, c))
        return c
    }

    /// The guarantee (docs/estimator.md, "Radius search") for a returned radius r at cutoff ε: r was evaluated, its cost is
    /// within tolerance, and every evaluated point closer to the anchor is below ε.
    func satisfiesGuarantee(radius r: Double, cutoff: Double, tolerance: Double) -> Bool {
        guard let hit = points.first(where: { $0.t == r }) else { return false }
        let closerBelow = points.allSatisfy { !($0.t < r) || $0.cost < cutoff }
        return abs(hit.cost / cutoff - 1) <= tolerance && closerBelow
    }
}

@Suite struct RadiusSearchTests {
    @Test func quadraticCostConvergesInFewEvaluations() {
        let cost = RecordedCost { 0.37 * $0 * $0 }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 1e6)
        search.run(start: 0.05) { cost($0) }
        let r = search.crossings[0].radius
        #expect(cost.satisfiesGuarantee(radius: r, cutoff: 0.01, tolerance: 0.01))
        #expect(abs(r - (0.01 / 0.37).squareRoot()) / r < 0.006)
        // One guess, then the exact quadratic jump.
        #expect(search.evaluations == 2)
    }

    @Test func steepNonQuadraticCostStaysWithinFiveEvaluations() {
        // C = α t⁴ + β t² from a warm start 30% off.
        let cost = RecordedCost { t in 3 * t * t * t * t + 0.01 * t * t }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 1e6)
        search.run(start: 0.3, exponentHint: 2) { cost($0) }
        #expect(cost.satisfiesGuarantee(radius: search.crossings[0].radius, cutoff: 0.01, tolerance: 0.01))
        #expect(search.evaluations <= 5)
    }

    @Test func neverReturnsAPointBeyondAnEvaluatedCrossing() {
        // A bump above the cutoff at t ∈ [1, 1.2], below again until 3: the search starts far out
        // at 2 (below), and must not report 2 once it has seen the bump.
        let cost = RecordedCost { t -> Double in
            if t >= 1 && t <= 1.2 { return 0.02 }
            return 0.01 * (t / 3) * (t / 3)
        }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 100)
        search.run(start: 1.1) { cost($0) }
        let r = search.crossings[0].radius
        #expect(r <= 1.2)
        let closer = cost.points.filter { $0.t < r }
        #expect(closer.allSatisfy { $0.cost < 0.01 })
        #expect(cost.points.contains { $0.t == r })
    }

    @Test func nanCountsAsBeyondTheBoundary() {
        let cost = RecordedCost { t in t > 0.5 ? .nan : 0.2 * t * t }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 100)
        search.run(start: 1) { cost($0) }
        let r = search.crossings[0].radius
        #expect(cost.satisfiesGuarantee(radius: r, cutoff: 0.01, tolerance: 0.01))
        #expect(search.nonfinite >= 1)
        #expect(abs(r - (0.01 / 0.2).squareRoot()) / r < 0.006)
    }

    @Test func flatDirectionIsUnboundedWithinBudget() {
        let cost = RecordedCost { _ in 0 }
        let search = RadiusSearch(cutoffs: [0.01, 0.1], tolerance: 0.01, maxDistance: 50)
        search.run(start: 0.01) { cost($0) }
        #expect(search.crossings.map(\.radius) == [.infinity, .infinity])
        #expect(cost.points.contains { $0.t == 50 })
        #expect(search.evaluations <= 4)
    }

    @Test func costBeyondReachAtMaxDistanceIsUnbounded() {
        // Below the cutoff everywhere up to t_max, above only beyond it.
        let cost = RecordedCost { t in t > 10 ? 1 : 1e-4 * t / 10 }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 10)
        search.run(start: 1) { cost($0) }
        #expect(search.crossings[0].radius == .infinity)
        #expect(cost.points.allSatisfy { $0.t <= 10 })
    }

    @Test func jumpAcrossTheCutoffReturnsTheEvaluatedEdge() {
        // No point has a cost within tolerance: the search narrows to the jump and returns the
        // first evaluated point at or beyond it.
        let cost = RecordedCost { t in t < 1 ? 0.001 : 0.5 }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 100)
        search.run(start: 0.5) { cost($0) }
        let r = search.crossings[0].radius
        #expect(r >= 1 && r < 1 + 1e-9)
        #expect(cost.points.filter { $0.t < r }.allSatisfy { $0.cost < 0.01 })
    }

    @Test func cutoffsShareEvaluations() {
        let cutoffs = [1e-3, 1e-2, 1e-1]
        let shared = RecordedCost { 0.5 * $0 * $0 + 0.2 * $0 * $0 * $0 }
        let search = RadiusSearch(cutoffs: cutoffs, tolerance: 0.01, maxDistance: 1e3)
        search.run(start: 0.03) { shared($0) }
        for (i, cutoff) in cutoffs.enumerated() {
            #expect(shared.satisfiesGuarantee(radius: search.crossings[i].radius, cutoff: cutoff, tolerance: 0.01))
        }
        #expect(search.crossings.map(\.evaluations) == search.crossings.map(\.evaluations).sorted())
        var separate = 0
        for cutoff in cutoffs {
            let one = RadiusSearch(cutoffs: [cutoff], tolerance: 0.01, maxDistance: 1e3)
            one.run(start: 0.03) { 0.5 * $0 * $0 + 0.2 * $0 * $0 * $0 }
            separate += one.evaluations
        }
        #expect(search.evaluations < separate)
    }
}

/// The returned point must not sit on one side of the cutoff by construction: the longest rays
/// dominate the log-sum-exp, so a one-sided radius error moves the log volume (RadiusBiasTests).
@Suite struct RadiusSearchSideTests {
    /// log(C(r)/cutoff) in units of the tolerance.
    static func relativeError(_ cost: RecordedCost, _ r: Double, cutoff: Double = 0.01, tolerance: Double = 0.01) -> Double {
        log(cost.f(r) / cutoff) / tolerance
    }

    @Test func costRisingSlowerThanTheHintIsAimedAtNotCreptUpOn() {
        // C = 0.01·t^1.5 from below with a hint of 2.5: a fixed slope creeps up and stops at the
        // band's lower edge (7 evaluations, −0.56 tol); the secant through two points is exact.
        let cost = RecordedCost { 0.01 * pow($0, 1.5) }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 1e3)
        search.run(start: 0.4, exponentHint: 2.5) { cost($0) }
        let r = search.crossings[0].radius
        #expect(cost.satisfiesGuarantee(radius: r, cutoff: 0.01, tolerance: 0.01))
        #expect(abs(Self.relativeError(cost, r)) < 0.01)
        #expect(search.evaluations == 3)
    }

    @Test func convexCostInsideABracketIsNotInterpolatedFromBelow() {
        // Quadratic at the anchor plus a quartic term (crossing at t = 1): the hint's step
        // overshoots, and a straight line in log–log between the bracket's ends lands below the
        // cutoff (−0.17 tol); C = a·t² + b·t⁴ through them lands on it.
        let cost = RecordedCost { t in 0.01 * (0.6 * t * t + 0.4 * t * t * t * t) }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 1e3)
        search.run(start: 0.5, exponentHint: 2) { cost($0) }
        let r = search.crossings[0].radius
        #expect(cost.points.contains { $0.cost >= 0.01 * 1.01 }, "the first step overshoots")
        #expect(cost.satisfiesGuarantee(radius: r, cutoff: 0.01, tolerance: 0.01))
        #expect(abs(Self.relativeError(cost, r)) < 0.01)
        #expect(search.evaluations == 3)
    }

    @Test func pointInTheBandsOuterHalfGetsOneMoreStep() {
        // The warm start lands 0.75% under the cutoff: one more step, then the nearer point.
        let cost = RecordedCost { 0.01 * $0 * $0 }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 1e3)
        search.run(start: (0.9925).squareRoot()) { cost($0) }
        #expect(search.evaluations == 2)
        #expect(abs(search.crossings[0].radius - 1) < 1e-9)
    }

    @Test func pointInTheBandsInnerHalfIsReturned() {
        let cost = RecordedCost { 0.01 * $0 * $0 }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 1e3)
        search.run(start: (0.997).squareRoot()) { cost($0) }
        #expect(search.evaluations == 1)
        #expect(search.crossings[0].radius == (0.997).squareRoot())
    }

    @Test func plateauJustBelowTheCutoffIsCrossedInFewSteps() {
        // 1.5% under the cutoff all the way out: steps of a fixed slope (0.75% each) spent the
        // whole budget and returned a point outside the tolerance.
        let cost = RecordedCost { _ in 0.00985 }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 1e3)
        search.run(start: 1) { cost($0) }
        #expect(search.crossings[0].radius == .infinity)
        #expect(search.evaluations <= 20)
    }

    @Test func negativeInfinityCountsAsBeyondTheBoundary() {
        let cost = RecordedCost { t in t > 0.5 ? -.infinity : 0.2 * t * t }
        let search = RadiusSearch(cutoffs: [0.01], tolerance: 0.01, maxDistance: 100)
        search.run(start: 1) { cost($0) }
        let r = search.crossings[0].radius
        #expect(cost.satisfiesGuarantee(radius: r, cutoff: 0.01, tolerance: 0.01))
        #expect(search.nonfinite >= 1)
        #expect(abs(r - (0.01 / 0.2).squareRoot()) / r < 0.006)
    }
}
