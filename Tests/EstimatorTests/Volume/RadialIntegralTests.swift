import Glibc
import Testing
@testable import Estimator

@Suite struct RadialIntegralTests {
    private func value(_ D: Int, _ r: Double, b: Double = 0, c: Double = 0, sigma: Double) -> Double {
        RadialIntegral.logGaussian(dimension: D, radius: r, b: b, c: c, sigma: sigma)
    }

    @Test func matchesHighPrecisionReference() {
        // mpmath at 50 digits (make_integral_table.py): D from 2 to 10^9, anchors at and away from
        // the prior's centre (b = 0, ±√c/2, ±√c), σ from 10^-3 to 10, r from 10^-300 to ∞.
        let table = radialIntegralReference
        #expect(table.count % 6 == 0 && table.count >= 6 * 2000)
        var worst = 0.0
        for row in stride(from: 0, to: table.count, by: 6) {
            let D = Int(table[row]), r = table[row + 1], b = table[row + 2], c = table[row + 3]
            let sigma = table[row + 4], expected = table[row + 5]
            let got = value(D, r, b: b, c: c, sigma: sigma)
            // Absolute for moderate values, relative for the huge ones of large D.
            let error = abs(got - expected) / max(1, abs(expected))
            worst = max(worst, error.isNaN ? .infinity : error)
            #expect(error <= 1e-12, "D=\(D) r=\(r) b=\(b) c=\(c) σ=\(sigma): \(got) vs \(expected)")
        }
        print("RadialIntegral: worst error against mpmath \(worst) (absolute, or relative above 1)")
    }

    @Test func centredCaseIsTheChiSquareDistributionFunction() {
        // Sphere area × integral = Gaussian mass of the ball = P(D/2, r²/(2σ²)).
        let table = centralChiSquareReference
        #expect(table.count % 4 == 0 && table.count >= 4 * 21)
        for row in stride(from: 0, to: table.count, by: 4) {
            let D = Int(table[row]), r = table[row + 1], sigma = table[row + 2], expected = table[row + 3]
            let area = RadialIntegral.logSphereArea(dimension: D)
            let got = area + value(D, r, sigma: sigma)
            // The two terms are each of size ~D·log D, so allow a few of their ulps.
            let tolerance = 1e-12 * max(1, abs(expected)) + 4 * abs(area).ulp
            #expect(abs(got - expected) <= tolerance, "D=\(D) r=\(r): \(got) vs \(expected)")
        }
    }

    @Test func wholeLineHoldsTheWholeGaussianMass() {
        for D in [2, 3, 10, 100, 1000, 4810, 100_000, 1_000_000, 1_000_000_000, 10_000_000_000] {
            for sigma in [1e-3, 1, 10] {
                let area = RadialIntegral.logSphereArea(dimension: D)
                let total = area + value(D, .infinity, sigma: sigma)
                let tolerance = D <= 100 ? 1e-12 : 4 * abs(area).ulp
                #expect(abs(total) <= tolerance, "D=\(D) σ=\(sigma): \(total)")
                // A perpendicular direction from an anchor off the centre keeps the factor e^(−c/(2σ²)).
                let c = 0.25 * Double(D) * sigma * sigma
                let offset = area + value(D, .infinity, c: c, sigma: sigma)
                #expect(abs(offset + 0.125 * Double(D)) <= 1e-12 * Double(D) + tolerance)
            }
        }
    }

    @Test func sphereAreaMatchesClosedForms() {
        #expect(abs(RadialIntegral.logSphereArea(dimension: 1) - log(2.0)) <= 1e-15)
        #expect(abs(RadialIntegral.logSphereArea(dimension: 2) - log(2 * Double.pi)) <= 1e-15)
        #expect(abs(RadialIntegral.logSphereArea(dimension: 3) - log(4 * Double.pi)) <= 1e-15)
        #expect(abs(RadialIntegral.logSphereArea(dimension: 4) - log(2 * Double.pi * Double.pi)) <= 1e-15)
        // |S^9| = 2π^5/Γ(5) = π^5/12
        #expect(abs(RadialIntegral.logSphereArea(dimension: 10) - (5 * log(Double.pi) - log(12.0))) <= 1e-14)
    }

    @Test func randomNetworkInputsAreFiniteAndIncreaseWithRadius() {
        // D = 4810 parameters with RMS 0.07 and the prior centred at zero: c = D·σ², |b| ≤ √c.
        let D = 4810, sigma = 0.07
        let c = Double(D) * sigma * sigma
        for fraction in [-1.0, -0.7, -0.3, 0, 0.01, 0.5, 1] {
            let b = fraction * c.squareRoot()
            var previous = -Double.infinity
            for exponent in stride(from: -3.0, through: 3.0, by: 0.25) {
                let got = value(D, pow(10, exponent), b: b, c: c, sigma: sigma)
                #expect(got.isFinite, "b=\(b) r=1e\(exponent)")
                #expect(got >= previous, "b=\(b) r=1e\(exponent)")
                previous = got
            }
            #expect(value(D, .infinity, b: b, c: c, sigma: sigma) >= previous)
        }
    }

    @Test func extremeInputsStayFinite() {
        let cases: [(D: Int, r: Double, b: Double, c: Double, sigma: Double)] = [
            (1, 1e-300, 0, 0, 1), (1, .infinity, 5, 25, 1), (1, 2, -5, 25, 1e-3), (2, 1e-300, 1e5, 1e10, 1e-3),
            (10_000_000_000, 1e-300, 0, 0, 1e-3), (10_000_000_000, .infinity, -1e6, 1e12, 1e-3),
            (10_000_000_000, 1e-3, 1e6, 1e12, 1e-3), (10_000_000_000, 1e300, 0, 0, 10),
            (100, .leastNormalMagnitude / 64, 1, 1, 1), (100, .leastNonzeroMagnitude, 0, 0, 1e-10), (3, 1e200, -1e100, 1e200, 1e90),
            (4810, 1e-200, 1e150, 1e300, 1e145), (4810, 1e-12, -3, 9, 1e-8),
        ]
        for item in cases {
            let got = value(item.D, item.r, b: item.b, c: item.c, sigma: item.sigma)
            #expect(got.isFinite, "\(item): \(got)")
        }
    }

    @Test func smallRadiusFollowsThePowerLaw() {
        // Far inside every scale the integral is e^(−c/(2σ²))·(2πσ²)^(−D/2)·r^D/D.
        for D in [2, 100, 1_000_000] {
            let r = 1e-200, sigma = 0.5, b = 0.3, c = 0.25
            let expected = -0.5 * Double(D) * log(2 * Double.pi * sigma * sigma) - c / (2 * sigma * sigma)
                + Double(D) * log(r) - log(Double(D))
            #expect(abs(value(D, r, b: b, c: c, sigma: sigma) - expected) <= 1e-12 * abs(expected))
        }
    }

    @Test func zeroRadiusIsNegativeInfinityAndBadScalesAreNaN() {
        #expect(value(10, 0, sigma: 1) == -.infinity)
        #expect(value(10, -1, sigma: 1) == -.infinity)
        #expect(value(10, 1, sigma: 0).isNaN)
        #expect(value(10, 1, sigma: -1).isNaN)
        #expect(value(10, .nan, sigma: 1).isNaN)
        #expect(value(10, 1, b: .infinity, c: 1, sigma: 1).isNaN)
    }

    @Test func log1pMinusXIsAccurateAcrossTheSeriesBoundary() {
        // Against log1p(x) − x where that has no cancellation, and the series −x²/2 + x³/3 − … near 0.
        for x in [-0.9, -0.5, -0.25, 0.25, 0.5, 3.0, 1e6] {
            let direct = log1p(x) - x
            #expect(abs(SpecialFunctions.log1pMinusX(x) - direct) <= 1e-15 * abs(direct) + 1e-16 * abs(x))
        }
        for x in [-0.2499, -0.1, -1e-3, 1e-5, 1e-3, 0.1, 0.2499] {
            var series = 0.0
            for k in stride(from: 40, through: 2, by: -1) {
                series += (k % 2 == 0 ? -1 : 1) * pow(x, Double(k)) / Double(k)
            }
            #expect(abs(SpecialFunctions.log1pMinusX(x) - series) <= 1e-15 * abs(series), "x=\(x)")
        }
        #expect(SpecialFunctions.log1pMinusX(-1) == -.infinity)
        #expect(SpecialFunctions.log1pMinusX(0) == 0)
    }
}
