extension TransformerStructure.Norm {
    /// y = norm(x) row by row, x and y [rows, width] (may not alias).
    func apply<P: ParameterSource>(_ x: UnsafePointer<Float>, rows: Int, width: Int, parameters: P,
                                   into y: UnsafeMutablePointer<Float>) {
        let w = parameters(weight)
        let b = bias.map { parameters($0) }
        let n = Float(width)
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            switch kind {
            case .layerNorm:
                let mean = Self.sum(xr, width) { $0 } / n
                let variance = Self.sum(xr, width) { ($0 - mean) * ($0 - mean) } / n
                let scale = 1 / (variance + epsilon).squareRoot()
                if let b {
                    for j in 0..<width { yr[j] = (xr[j] - mean) * scale * w[j] + b[j] }
                } else {
                    for j in 0..<width { yr[j] = (xr[j] - mean) * scale * w[j] }
                }
            case .rms:
                let meanSquare = Self.sum(xr, width) { $0 * $0 } / n
                let scale = 1 / (meanSquare + epsilon).squareRoot()
                for j in 0..<width { yr[j] = w[j] * (xr[j] * scale) }
            }
        }
    }

    /// Σ f(x[j]) with eight partial sums (vectorizes, and rounds less than one running sum).
    @inline(__always)
    private static func sum(_ x: UnsafePointer<Float>, _ count: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var j = 0
        while j + 8 <= count {
            acc += f(UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self))
            j += 8
        }
        var total = acc.sum()
        while j < count {
            total += f(SIMD8<Float>(repeating: x[j]))[0]
            j += 1
        }
        return total
    }
}
