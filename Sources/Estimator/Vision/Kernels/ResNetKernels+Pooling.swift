extension ResNetKernels {
    /// Max-pool, channels-last: `input` [images, height, width, channels] → `output` [images, Ho, Wo, channels].
    /// Padding counts as −∞ (only in-bounds positions are compared); a NaN in a window makes its
    /// output NaN, as in PyTorch.
    static func maxPool(kernel: Int, stride: Int, padding: Int, input: UnsafePointer<Float>, images: Int, height: Int, width: Int,
                        channels: Int, output: UnsafeMutablePointer<Float>) {
        let ho = (height + 2 * padding - kernel) / stride + 1
        let wo = (width + 2 * padding - kernel) / stride + 1
        var out = output
        for n in 0..<images {
            let image = input + n * height * width * channels
            for oy in 0..<ho {
                let y0 = oy * stride - padding
                let rows = max(0, y0)..<min(height, y0 + kernel)
                for ox in 0..<wo {
                    let x0 = ox * stride - padding
                    let columns = max(0, x0)..<min(width, x0 + kernel)
                    var c = 0
                    while c + Lanes.scalarCount <= channels {
                        var m = Lanes(repeating: -.infinity)
                        for y in rows {
                            for x in columns {
                                let v = UnsafeRawPointer(image + (y * width + x) * channels + c).loadUnaligned(as: Lanes.self)
                                m.replace(with: v, where: (v .> m) .| (v .!= v))
                            }
                        }
                        UnsafeMutableRawPointer(out + c).storeBytes(of: m, as: Lanes.self)
                        c += Lanes.scalarCount
                    }
                    while c < channels {
                        var m = -Float.infinity
                        for y in rows {
                            for x in columns {
                                let v = image[(y * width + x) * channels + c]
                                if v > m || v.isNaN { m = v }
                            }
                        }
                        out[c] = m
                        c += 1
                    }
                    out += channels
                }
            }
        }
    }
}
