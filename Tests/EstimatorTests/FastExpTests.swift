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
