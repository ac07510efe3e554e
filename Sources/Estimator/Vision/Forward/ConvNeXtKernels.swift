/// The forward kernels of ConvNeXt's ops over channels-last activations (ResNet's convolution,
/// BatchNorm and max-pool are `ResNetKernels`). Channels are the contiguous axis, so the
/// elementwise and per-position kernels run 8 channels at a time, and pointwise layers and
/// patchwise convolutions are single sgemms over all positions of a chunk.
enum ConvNeXtKernels {
    typealias Lanes = SIMD8<Float>

    /// A non-overlapping convolution (kernel = stride, no padding): `input` [images, height,
    /// width, inputs] → `output` [images, Ho, Wo, outputs]. `filters` are [out, k, k, in]
    /// (PyTorch's layout when k = 1); patches go through `scratch` when k > 1.
    static func patchwise(_ c: Convolution, input: UnsafePointer<Float>, images: Int, shape: FeatureShape,
                          filters: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                          output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let rows = images * c.outputSize(shape.height) * c.outputSize(shape.width)
        let depth = c.kernel * c.kernel * c.inputs
        var columns = input
        if c.kernel > 1 {
            Patches.gather(c, input: input, images: images, height: shape.height, width: shape.width, into: scratch)
            columns = UnsafePointer(scratch)
        }
        MLP.linear(columns, rows: rows, inputs: depth, outputs: c.outputs, weight: filters, bias: bias, into: output)
    }

    /// PyTorch's depthwise filters [channels, 1, k, k] → [k, k, channels], so that one tap's
    /// weights for consecutive channels are contiguous.
    static func depthwiseFilters(_ c: Convolution, pytorch weight: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let taps = c.kernel * c.kernel
        for channel in 0..<c.outputs {
            for tap in 0..<taps { out[tap * c.outputs + channel] = weight[channel * taps + tap] }
        }
    }

    /// Depthwise convolution with zero padding: `filters` [k, k, channels] from
    /// `depthwiseFilters`, bias [channels]. For each output position the taps inside the image
    /// are summed 8 channels at a time in registers.
    static func depthwise(_ c: Convolution, input: UnsafePointer<Float>, images: Int, shape: FeatureShape,
                          filters: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let (height, width, channels) = (shape.height, shape.width, shape.channels)
        let (ho, wo, k) = (c.outputSize(height), c.outputSize(width), c.kernel)
        let vectorChannels = channels & ~7
        for n in 0..<images {
            let image = input + n * height * width * channels
            for oy in 0..<ho {
                let y0 = oy * c.stride - c.padding
                let kyLow = max(0, -y0), kyHigh = min(k, height - y0)
                for ox in 0..<wo {
                    let x0 = ox * c.stride - c.padding
                    let kxLow = max(0, -x0), kxHigh = min(k, width - x0)
                    let out = output + ((n * ho + oy) * wo + ox) * channels
                    var channel = 0
                    // Two vectors at a time: independent sums hide the adds' latency.
                    while channel + 16 <= vectorChannels {
                        var a = bias.map { load($0 + channel) } ?? Lanes(repeating: 0)
                        var b = bias.map { load($0 + channel + 8) } ?? Lanes(repeating: 0)
                        for ky in kyLow..<kyHigh {
                            let row = image + ((y0 + ky) * width + x0) * channels + channel
                            let taps = filters + (ky * k) * channels + channel
                            for kx in kxLow..<kxHigh {
                                a += load(taps + kx * channels) * load(row + kx * channels)
                                b += load(taps + kx * channels + 8) * load(row + kx * channels + 8)
                            }
                        }
                        store(a, out + channel)
                        store(b, out + channel + 8)
                        channel += 16
                    }
                    while channel < vectorChannels {
                        var a = bias.map { load($0 + channel) } ?? Lanes(repeating: 0)
                        for ky in kyLow..<kyHigh {
                            let row = image + ((y0 + ky) * width + x0) * channels + channel
                            let taps = filters + (ky * k) * channels + channel
                            for kx in kxLow..<kxHigh { a += load(taps + kx * channels) * load(row + kx * channels) }
                        }
                        store(a, out + channel)
                        channel += 8
                    }
                    while channel < channels {
                        var a = bias?[channel] ?? 0
                        for ky in kyLow..<kyHigh {
                            for kx in kxLow..<kxHigh {
                                a += filters[(ky * k + kx) * channels + channel] * image[((y0 + ky) * width + x0 + kx) * channels + channel]
                            }
                        }
                        out[channel] = a
                        channel += 1
                    }
                }
            }
        }
    }

    /// LayerNorm over the channels of each of `positions` positions, in place (biased variance,
    /// as PyTorch).
    static func layerNorm(_ data: UnsafeMutablePointer<Float>, positions: Int, channels: Int, epsilon: Float,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>) {
        let vectorChannels = channels & ~7
        let inverseCount = 1 / Float(channels)
        for p in 0..<positions {
            let x = data + p * channels
            var sums = Lanes(repeating: 0)
            var c = 0
            while c < vectorChannels {
                sums += load(x + c)
                c += 8
            }
            var sum = sums.sum()
            while c < channels {
                sum += x[c]
                c += 1
            }
            let mean = sum * inverseCount
            let shift = Lanes(repeating: mean)
            var squares = Lanes(repeating: 0)
            c = 0
            while c < vectorChannels {
                let d = load(x + c) - shift
                squares += d * d
                c += 8
            }
            var square = squares.sum()
            while c < channels {
                let d = x[c] - mean
                square += d * d
                c += 1
            }
            let scale = 1 / (square * inverseCount + epsilon).squareRoot()
            let scales = Lanes(repeating: scale)
            c = 0
            while c < vectorChannels {
                store((load(x + c) - shift) * scales * load(weight + c) + load(bias + c), x + c)
                c += 8
            }
            while c < channels {
                x[c] = (x[c] - mean) * scale * weight[c] + bias[c]
                c += 1
            }
        }
    }

    /// ConvNeXt V2's GRN on each of `images` images of `positions` positions, in place (see
    /// `GlobalResponseNorm`); `scratch` holds 2 × channels floats.
    static func globalResponseNorm(_ data: UnsafeMutablePointer<Float>, images: Int, positions: Int, channels: Int,
                                   weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let vectorChannels = channels & ~7
        let norms = scratch, scales = scratch + channels
        for n in 0..<images {
            let image = data + n * positions * channels
            norms.update(repeating: 0, count: channels)
            for p in 0..<positions {
                let x = image + p * channels
                var c = 0
                while c < vectorChannels {
                    let v = load(x + c)
                    store(load(norms + c) + v * v, norms + c)
                    c += 8
                }
                while c < channels {
                    norms[c] += x[c] * x[c]
                    c += 1
                }
            }
            var total = 0.0
            for c in 0..<channels {
                norms[c] = norms[c].squareRoot()
                total += Double(norms[c])
            }
            let denominator = Float(total / Double(channels)) + 1e-6
            // y = weight·(x·N) + bias + x = x·(1 + weight·N) + bias.
            for c in 0..<channels { scales[c] = 1 + weight[c] * (norms[c] / denominator) }
            for p in 0..<positions {
                let x = image + p * channels
                var c = 0
                while c < vectorChannels {
                    store(load(x + c) * load(scales + c) + load(bias + c), x + c)
                    c += 8
                }
                while c < channels {
                    x[c] = x[c] * scales[c] + bias[c]
                    c += 1
                }
            }
        }
    }

    /// The activation in place; exact GELU vectorized (`FastGELU`), the others by `Activation`.
    static func activate(_ activation: Activation, _ data: UnsafeMutablePointer<Float>, count: Int) {
        guard activation == .gelu else {
            activation.apply(data, count: count)
            return
        }
        FastGELU.apply(data, count: count)
    }

    /// x[p, c] ·= γ[c] at every position.
    static func layerScale(_ data: UnsafeMutablePointer<Float>, positions: Int, channels: Int, scale: UnsafePointer<Float>) {
        for p in 0..<positions {
            let x = data + p * channels
            for c in 0..<channels { x[c] *= scale[c] }
        }
    }

    /// Mean over positions: [images, positions, channels] → [images, channels].
    static func globalAveragePool(_ input: UnsafePointer<Float>, images: Int, positions: Int, channels: Int,
                                  output: UnsafeMutablePointer<Float>) {
        let inverse = 1 / Float(positions)
        for n in 0..<images {
            let out = output + n * channels
            out.update(repeating: 0, count: channels)
            for p in 0..<positions {
                let x = input + (n * positions + p) * channels
                for c in 0..<channels { out[c] += x[c] }
            }
            for c in 0..<channels { out[c] *= inverse }
        }
    }

    static func add(_ from: UnsafePointer<Float>, into to: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            store(load(to + i) + load(from + i), to + i)
            i += 8
        }
        while i < count {
            to[i] += from[i]
            i += 1
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    }
}
