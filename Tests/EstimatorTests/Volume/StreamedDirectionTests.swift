import Testing
@testable import Estimator

@Suite struct StreamedDirectionTests {
    /// A positive diagonal with entries spread over two orders of magnitude.
    private static func diagonal(_ d: Int) -> [Float] {
        (0..<d).map { Float(0.1 + 10 * Double(($0 * 7919) % 1000) / 1000) }
    }

    @Test(arguments: [1, 5, 1001, 70_001])
    func fillGivesThePreconditionedNormalizedNormals(dimension d: Int) {
        let sampler = DirectionSampler(seed: 17, dimension: d)
        let p = Self.diagonal(d)
        let (direction, moments) = StreamedDirection.measure(sampler, index: 3, diagonal: p, anchor: nil, lanes: 1)
        var g = [Float](repeating: 0, count: d)
        g.withUnsafeMutableBufferPointer { sampler.normals(3, 0..<d, into: $0.baseAddress!) }
        var pp = 0.0, gg = 0.0
        for j in 0..<d {
            gg += Double(g[j]) * Double(g[j])
            pp += Double(p[j]) * Double(g[j]) * Double(p[j]) * Double(g[j])
        }
        #expect(abs(moments.normSquared / gg - 1) < 1e-12)
        #expect(abs(moments.preconditionedNormSquared / pp - 1) < 1e-12)
        let expected = (0..<d).map { Float(Double(p[$0]) * Double(g[$0]) / pp.squareRoot()) }
        // Any range, aligned to Philox blocks or not, gives the same elements.
        for range in [0..<d, (d / 3)..<d, 0..<(d / 2), (d / 4)..<min(d, d / 4 + 13)] where !range.isEmpty {
            var out = [Float](repeating: .nan, count: range.count)
            out.withUnsafeMutableBufferPointer { direction.fill(range, into: $0.baseAddress!) }
            #expect(out == Array(expected[range]), "range \(range)")
        }
    }

    @Test func matchesTheMaterializedDirectionToFloat32Rounding() {
        let d = 4099
        let sampler = DirectionSampler(seed: 5, dimension: d)
        let p = Self.diagonal(d)
        var u = [Float](repeating: 0, count: d)
        u.withUnsafeMutableBufferPointer { sampler.unitDirection(8, into: $0) }
        let v = zip(u, p).map { Double($0) * Double($1) }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let (direction, moments) = StreamedDirection.measure(sampler, index: 8, diagonal: p, anchor: nil, lanes: 1)
        var streamed = [Float](repeating: 0, count: d)
        streamed.withUnsafeMutableBufferPointer { direction.fill(0..<d, into: $0.baseAddress!) }
        let worst = (0..<d).map { abs(Double(streamed[$0]) - v[$0] / norm) }.max()!
        #expect(worst < 1e-7)
        // The second pass measures the float32 v̂ itself.
        let unit = streamed.reduce(0.0) { $0 + Double($1) * Double($1) }
        #expect(abs(moments.unitNormSquared - unit) <= 1e-12)
        #expect(abs(unit - 1) < 1e-6)
        // The importance weight ‖P·u‖/‖u‖.
        let weight = (moments.preconditionedNormSquared / moments.normSquared).squareRoot()
        #expect(abs(weight / norm - 1) < 1e-6)
    }

    @Test func measuringDoesNotDependOnTheLanes() {
        let d = 3 * StreamedDirection.piece + 1234
        let sampler = DirectionSampler(seed: 2, dimension: d)
        let p = Self.diagonal(d)
        let anchor = (0..<d).map { Float(($0 % 17) - 8) / 100 }
        let measured = [1, 2, 3].map { lanes in
            anchor.withUnsafeBufferPointer {
                StreamedDirection.measure(sampler, index: 1, diagonal: p, anchor: $0.baseAddress, lanes: lanes).moments
            }
        }
        for m in measured.dropFirst() {
            #expect(m.normSquared == measured[0].normSquared)
            #expect(m.preconditionedNormSquared == measured[0].preconditionedNormSquared)
            #expect(m.unitNormSquared == measured[0].unitNormSquared)
            #expect(m.anchorDot == measured[0].anchorDot)
        }
    }

    @Test func identityHasUnitImportanceWeight() {
        let sampler = DirectionSampler(seed: 9, dimension: 1000)
        let (_, m) = StreamedDirection.measure(sampler, index: 0, diagonal: nil, anchor: nil, lanes: 2)
        #expect(m.normSquared == m.preconditionedNormSquared)
    }
}

@Suite struct EvaluationLaneTests {
    /// neox-tiny with one sequence per chunk, so that lanes have chunks to share.
    private static func objective() throws -> LanguageModelObjective {
        let checkpoint = "neox-tiny/checkpoint-30"
        let model = try LanguageModelFixtures.model(checkpoint)
        let data = try LanguageModelFixtures.evalTokens(checkpoint)
        return try LanguageModelObjective(model: model, tokens: try model.tokenContext(data), lanes: 3, sequencesPerChunk: 1)
    }

    @Test func costsAreIdenticalForAnyNumberOfLanes() throws {
        let objective = try Self.objective()
        #expect(objective.pass.chunks.count == 8)
        let sampler = DirectionSampler(seed: 3, dimension: objective.dimension)
        let (streamed, _) = StreamedDirection.measure(sampler, index: 4, diagonal: nil, anchor: nil, lanes: 1)
        let costs = [1, 2, 3].map { lanes in
            let evaluator = objective.makeEvaluator(lanes: lanes)
            evaluator.setDirection(.streamed(streamed))
            return [0, 0.5, 2, 7].map { evaluator.cost(at: $0) }
        }
        #expect(costs[0][0] == 0)
        #expect(costs[0][2] > 0)
        #expect(costs[1] == costs[0])
        #expect(costs[2] == costs[0])
    }

    @Test func outcomesAreIdenticalForOneAndTwoLanes() throws {
        let objective = try Self.objective()
        let model = objective.model
        let settings = EstimateSettings(cutoffs: [0.01, 0.1], directions: 2, seed: 7)
        let outcomes = try [1, 2].map { threads in
            let estimator = try VolumeEstimator(objective: objective, anchor: model.anchor, settings: settings, threads: threads,
                                                streamingDimension: 0)
            let first = estimator.firstDirection(preconditioner: .identity)
            return [first] + (try estimator.directions(1..<2, preconditioner: .identity, first: first))
        }
        for (a, b) in zip(outcomes[0], outcomes[1]) {
            #expect(a.samples.map(\.radius) == b.samples.map(\.radius))
            #expect(a.samples.map(\.logEstimate) == b.samples.map(\.logEstimate))
            #expect(a.samples.map(\.klEvaluations) == b.samples.map(\.klEvaluations))
            #expect(a.exponent == b.exponent)
        }
    }
}
