extension ResNetKernels {
    typealias Lanes = SIMD8<Float>

    /// Positions normalized per pass over the channels: the per-channel scale and shift are
    /// recomputed for each block (a square root per channel per 256 positions) instead of being
    /// stored, so the kernel needs no buffer.
    static let normalizationPositionsPerBlock = 256

    /// Eval-mode BatchNorm in place on `positions` channels-last positions. As PyTorch computes
    /// it: y = x·α + β with α = weight/√(running var + ε) and β = bias − running mean·α.
    static func batchNorm(_ b: BatchNorm, data: UnsafeMutablePointer<Float>, positions: Int,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>) {
        let channels = b.channels
        b.runningMean.withUnsafeBufferPointer { mean in
            b.runningVariance.withUnsafeBufferPointer { variance in
                var start = 0
                while start < positions {
                    let end = min(positions, start + normalizationPositionsPerBlock)
                    var c = 0
                    while c < channels {
                        let lanes = min(Lanes.scalarCount, channels - c)
                        var scale = Lanes(repeating: 0), shift = Lanes(repeating: 0)
                        for j in 0..<lanes {
                            let alpha = weight[c + j] * (1 / (variance[c + j] + b.epsilon).squareRoot())
                            scale[j] = alpha
                            shift[j] = bias[c + j] - mean[c + j] * alpha
                        }
                        if lanes == Lanes.scalarCount {
                            for p in start..<end {
                                let x = UnsafeMutableRawPointer(data + p * channels + c)
                                x.storeBytes(of: x.loadUnaligned(as: Lanes.self) * scale + shift, as: Lanes.self)
                            }
                        } else {
                            for p in start..<end {
                                let x = data + p * channels + c
                                for j in 0..<lanes { x[j] = x[j] * scale[j] + shift[j] }
                            }
                        }
                        c += lanes
                    }
                    start = end
                }
            }
        }
    }
}
