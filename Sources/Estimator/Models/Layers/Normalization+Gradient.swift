/// LayerNorm and RMSNorm in any `BLASScalar`, for the curvature's backward pass. With
/// x̂ = (x − mean)·r, r = 1/√(var + eps) (LayerNorm) or x̂ = x·r, r = 1/√(mean(x²) + eps) (RMSNorm)
/// and y = x̂∘w (+ b), the input's gradient is r·(δx̂ − mean(δx̂) − x̂·mean(δx̂∘x̂)) with
/// δx̂ = δy∘w (RMSNorm has no mean term).
extension TransformerStructure.Norm {
    /// y = norm(x) row by row, keeping x̂ and r for the backward pass. x is [rows, width].
    func forward<S: BLASScalar>(_ x: UnsafePointer<S>, rows: Int, width: Int,
                                theta: UnsafePointer<S>) -> TransformerActivations<S>.Normalized {
        var result = TransformerActivations<S>.Normalized()
        forward(x, rows: rows, width: width, theta: theta, into: &result)
        return result
    }

    /// `forward` written over `result`'s buffers (resized when their sizes differ).
    func forward<S: BLASScalar>(_ x: UnsafePointer<S>, rows: Int, width: Int, theta: UnsafePointer<S>,
                                into result: inout TransformerActivations<S>.Normalized) {
        if result.standardized.count != rows * width { result.standardized = [S](repeating: 0, count: rows * width) }
        if result.inverseScale.count != rows { result.inverseScale = [S](repeating: 0, count: rows) }
        if result.output.count != rows * width { result.output = [S](repeating: 0, count: rows * width) }
        let w = theta + weight.offset
        let b = bias.map { theta + $0.offset }
        let n = S(width)
        let epsilon = S(self.epsilon)
        result.standardized.withUnsafeMutableBufferPointer { standardized in
            result.inverseScale.withUnsafeMutableBufferPointer { inverseScale in
                result.output.withUnsafeMutableBufferPointer { output in
                    for r in 0..<rows {
                        let xr = x + r * width
                        var mean: S = 0
                        if kind == .layerNorm {
                            for j in 0..<width { mean += xr[j] }
                            mean /= n
                        }
                        var square: S = 0
                        for j in 0..<width { square += (xr[j] - mean) * (xr[j] - mean) }
                        let scale = 1 / (square / n + epsilon).squareRoot()
                        inverseScale[r] = scale
                        let sr = standardized.baseAddress! + r * width, yr = output.baseAddress! + r * width
                        if let b {
                            for j in 0..<width {
                                let s = (xr[j] - mean) * scale
                                sr[j] = s
                                yr[j] = s * w[j] + b[j]
                            }
                        } else {
                            for j in 0..<width {
                                let s = (xr[j] - mean) * scale
                                sr[j] = s
                                yr[j] = s * w[j]
                            }
                        }
                    }
                }
            }
        }
    }

    /// δx += ∂(Σ δy·y)/∂x and the weight's and bias's gradients added to `gradient`, for `rows`
    /// rows: `dy` [rows, width], `standardized` x̂ [rows, width] and `inverseScale` r [rows] of
    /// the same rows, `dx` [rows, width].
    func backward<S: BLASScalar>(_ dy: UnsafePointer<S>, rows: Int, width: Int,
                                 standardized: UnsafePointer<S>, inverseScale: UnsafePointer<S>,
                                 theta: UnsafePointer<S>, inputGradient dx: UnsafeMutablePointer<S>,
                                 gradient: UnsafeMutablePointer<S>) {
        let w = theta + weight.offset
        let gw = gradient + weight.offset
        let gb = bias.map { gradient + $0.offset }
        let n = S(width)
        for r in 0..<rows {
            let dyr = dy + r * width, xr = standardized + r * width, dxr = dx + r * width
            var meanGradient: S = 0, projection: S = 0
            for j in 0..<width {
                let d = dyr[j] * w[j]
                meanGradient += d
                projection += d * xr[j]
            }
            // The parameters' gradients in loops of their own, which vectorize (the sums above do not).
            for j in 0..<width { gw[j] += dyr[j] * xr[j] }
            if let gb {
                for j in 0..<width { gb[j] += dyr[j] }
            }
            meanGradient = kind == .layerNorm ? meanGradient / n : 0
            projection /= n
            let scale = inverseScale[r]
            for j in 0..<width {
                dxr[j] += scale * (dyr[j] * w[j] - meanGradient - xr[j] * projection)
            }
        }
    }
}
