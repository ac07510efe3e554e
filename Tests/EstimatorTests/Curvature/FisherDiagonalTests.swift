import Testing
import Glibc
@testable import Estimator

@Suite struct FisherDiagonalTests {
    /// Pre-activations of the first layer, z = x·W₀ᵀ + b₀, [rows, hidden], in float64.
    static func firstLayer(_ model: MLP, _ reference: Float64Reference) -> [Double] {
        let layer = model.layers[0]
        let (m, n) = (layer.inputs, layer.outputs)
        var z = [Double](repeating: 0, count: reference.rows * n)
        let theta = model.anchor.map(Double.init)
        for r in 0..<reference.rows {
            for i in 0..<n {
                var s = theta[layer.bias!.offset + i]
                for j in 0..<m { s += reference.inputs[r * m + j] * theta[layer.weight.offset + i * m + j] }
                z[r * n + i] = s
            }
        }
        return z
    }

    /// The check: in float64 the Fisher diagonal equals finite-difference second
    /// derivatives of the KL at the anchor of digits/checkpoint-3000, (KL(+h) + KL(−h))/h²
    /// (KL(θ0) = 0), for every one of the 4,810 parameters: relative 1e-3 above 1e-8, absolute
    /// 1e-10 below. The always-zero pixels' weights have exactly zero curvature in both.
    /// A ReLU kink closer than h would make the difference quotient meaningless, so a first-layer
    /// parameter's step stays below half the distance to the nearest kink it can move.
    @Test func fisherDiagonalEqualsFiniteDifferenceSecondDerivativesOnDigits() throws {
        let (model, inputs) = try MLPTests.digits(3000)
        let pass = try MLPBackwardPass<Double>(model: model, inputs: inputs)
        let fisher = FisherDiagonal(pass, method: .exact)
        let reference = Float64Reference(model: model, inputs: inputs)
        let theta = model.anchor.map(Double.init)
        let (rows, m, n) = (reference.rows, model.inputs, model.layers[0].outputs)
        let z = Self.firstLayer(model, reference)

        var zeroPixelWeights = 0
        for i in theta.indices {
            var h = 1e-3
            if i < n * m {  // W₀[unit, pixel]
                let (unit, pixel) = (i / m, i % m)
                for r in 0..<rows where reference.inputs[r * m + pixel] != 0 {
                    h = min(h, 0.5 * abs(z[r * n + unit]) / abs(reference.inputs[r * m + pixel]))
                }
                if (0..<rows).allSatisfy({ reference.inputs[$0 * m + pixel] == 0 }) {
                    zeroPixelWeights += 1
                    #expect(fisher.values[i] == 0)
                }
            } else if i < n * m + n {  // b₀[unit]
                for r in 0..<rows { h = min(h, 0.5 * abs(z[r * n + (i - n * m)])) }
            }
            var plus = theta, minus = theta
            plus[i] += h
            minus[i] -= h
            let numeric = (reference.kl(plus) + reference.kl(minus)) / (h * h)
            let analytic = fisher.values[i]
            if max(abs(analytic), abs(numeric)) > 1e-8 {
                #expect(abs(numeric - analytic) <= 1e-3 * abs(analytic), "parameter \(i): \(analytic) vs \(numeric) (h = \(h))")
            } else {
                #expect(abs(numeric - analytic) <= 1e-10, "parameter \(i): \(analytic) vs \(numeric) (h = \(h))")
            }
        }
        // Several pixels are 0 in every image of the eval set (paper §3.3).
        #expect(zeroPixelWeights >= 3 * n)
    }

    /// The production float32 diagonal agrees with the float64 one.
    @Test func float32DiagonalAgreesWithFloat64() throws {
        let (model, inputs) = try MLPTests.digits(3000)
        let production = try model.fisherDiagonal(data: .features(inputs))
        #expect(production.method == .exact && production.relativeStandardError == nil)
        let exact = FisherDiagonal(try MLPBackwardPass<Double>(model: model, inputs: inputs), method: .exact)
        let scale = exact.values.max()!
        for (a, b) in zip(production.values, exact.values) {
            #expect(abs(a - b) <= 1e-5 * b + 1e-7 * scale)
        }
    }

    /// Labels drawn from the anchor's own predictions give the exact diagonal on average; the
    /// reported relative standard error shrinks like 1/√samples and matches the actual error.
    @Test func monteCarloConvergesToTheExactDiagonal() throws {
        let (model, inputs) = try MLPTests.digits(3000)
        let pass = try MLPBackwardPass<Double>(model: model, inputs: inputs)
        let exact = FisherDiagonal(pass, method: .exact)
        let few = FisherDiagonal(pass, method: .monteCarlo(samples: 4))
        let many = FisherDiagonal(pass, method: .monteCarlo(samples: 64))
        let rseFew = try #require(few.relativeStandardError)
        let rseMany = try #require(many.relativeStandardError)
        #expect(rseMany < rseFew / 2.5 && rseMany > rseFew / 6)
        #expect(FisherDiagonal(pass, method: .monteCarlo(samples: 1)).relativeStandardError == nil)
        // Median relative error of the 64-sample estimate is of the order of its reported RSE.
        var errors: [Double] = []
        for (e, m) in zip(exact.values, many.values) where e > 1e-6 { errors.append(abs(m - e) / e) }
        errors.sort()
        let median = errors[errors.count / 2]
        #expect(median < 2 * rseMany && median > rseMany / 4, "median error \(median), reported \(rseMany)")
        // Same draws every time: the curvature does not depend on when it is computed.
        #expect(FisherDiagonal(pass, method: .monteCarlo(samples: 4)).values == few.values)
    }
}
