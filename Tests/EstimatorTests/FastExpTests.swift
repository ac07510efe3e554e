import Testing
import Glibc
@testable import Estimator

@Suite struct FastExpTests {
    @Test func matchesLibmWithinTwoUlps() {
        var xs: [Float] = []
        var x: Float = -87
        while x <= 0 { xs.append(x); x += 0.0137 }
        xs += [0, -1e-30, -Float.leastNormalMagnitude, -87.3, -1e4]
        var out = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { FastExp.exp(i.baseAddress!, into: $0.baseAddress!, count: xs.count) } }
        for (x, y) in zip(xs, out) where x >= -87 {
            let exact = Float(Glibc.exp(Double(x)))
            #expect(abs(y - exact) <= 2 * exact.ulp, "exp(\(x))")
        }
        // Far below the range: a tiny positive number, never garbage or NaN.
        #expect(out.last! >= 0 && out.last! < 1e-37)
    }
}

@Suite struct FastLogTests {
    @Test func matchesLibmWithinFourUlps() {
        var xs: [Double] = []
        var x = 1e-300
        while x < 1e300 { xs.append(x); x *= 1.0137 }
        for i in 0..<10_000 { xs.append(1 + Double(i) * 1e-3) }
        xs += [1, 2, 0.5, 1.4142135623730951, 1.4142135623730954, Double.leastNormalMagnitude, Double.greatestFiniteMagnitude]
        var out = xs
        out.withUnsafeMutableBufferPointer { FastLog.logInPlace($0.baseAddress!, count: $0.count) }
        for (x, y) in zip(xs, out) {
            let exact = Glibc.log(x)
            #expect(abs(y - exact) <= 4 * max(exact.ulp, Double.leastNormalMagnitude), "log(\(x)) = \(y), libm \(exact)")
        }
        #expect(out[xs.firstIndex(of: 1)!] == 0)
    }
}
