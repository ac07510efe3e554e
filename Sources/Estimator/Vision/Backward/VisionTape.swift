/// The forward pass of a `VisionStructure` on a few images that keeps what reverse mode needs:
/// each op's input, LayerNorm's per-position mean and 1/σ, GRN's per-channel norms and the
/// max-pool's argmax. Written for the backward pass alone — plain and in any `BLASScalar` (the
/// finite-difference tests run it in float64); the fast evaluation engine is `VisionModel.logits`.
/// Activations are channels-last, [images, height, width, channels].
struct VisionTape<Scalar: BLASScalar> {
    /// One op's record.
    struct Record {
        /// The op's input, [images, shape].
        var input: [Scalar]
        /// The shape of one image's input.
        var shape: FeatureShape
        /// LayerNorm: (mean, 1/σ) per position. GRN: per image, the channels' norms G, the
        /// normalized N = G/(mean G + 1e-6), then mean G + 1e-6.
        var statistics: [Scalar] = []
        /// Max-pool: per output entry, the input position (in the image) of the window's maximum.
        var argmax: [Int32] = []
        var body: [Record] = []
        var shortcut: [Record] = []
    }

    let images: Int
    let records: [Record]
    /// [images, classes].
    let logits: [Scalar]

    /// Runs `structure` on `pixels` ([images, shape], channels-last) at `theta`; `keep: false`
    /// keeps only the logits.
    init(_ structure: VisionStructure, pixels: [Scalar], images: Int, shape: FeatureShape, theta: UnsafePointer<Scalar>, keep: Bool = true) {
        self.images = images
        var records: [Record] = []
        let (output, _) = Self.run(structure.ops, pixels, shape, images: images, theta: theta, keep: keep, into: &records)
        self.records = records
        logits = output
    }

    static func run(_ ops: [VisionOp], _ input: [Scalar], _ shape: FeatureShape, images: Int, theta: UnsafePointer<Scalar>,
                    keep: Bool, into records: inout [Record]) -> ([Scalar], FeatureShape) {
        var x = input
        var shape = shape
        for op in ops {
            var record = Record(input: [], shape: shape)
            let next = shape.after(op)!
            var y: [Scalar]
            switch op {
            case .convolution(let c):
                y = c.isDepthwise ? depthwise(c, x, shape, images: images, theta: theta)
                                  : convolution(c, x, shape, images: images, theta: theta)
            case .linear(let l):
                y = linear(l, x, rows: images * shape.positions, theta: theta)
            case .layerNorm(let n):
                (y, record.statistics) = layerNorm(n, x, rows: images * shape.positions, theta: theta)
            case .batchNorm(let b):
                y = x
                let scale = b.scale(Scalar.self)
                let (w, bias) = (theta + b.weight.offset, theta + b.bias.offset)
                for p in 0..<(images * shape.positions) {
                    for c in 0..<b.channels {
                        y[p * b.channels + c] = (x[p * b.channels + c] - Scalar(b.runningMean[c])) * scale[c] * w[c] + bias[c]
                    }
                }
            case .globalResponseNorm(let g):
                (y, record.statistics) = globalResponseNorm(g, x, shape, images: images, theta: theta)
            case .activation(let a):
                y = x.map { a.valueAndSlope($0).value }
            case .layerScale(let gamma):
                y = x
                let channels = gamma.count
                for i in y.indices { y[i] *= theta[gamma.offset + i % channels] }
            case .maxPool(let kernel, let stride, let padding):
                (y, record.argmax) = maxPool(kernel: kernel, stride: stride, padding: padding, x, shape, next, images: images)
            case .globalAveragePool:
                y = [Scalar](repeating: 0, count: images * shape.channels)
                let scale = 1 / Scalar(shape.positions)
                for n in 0..<images {
                    for p in 0..<shape.positions {
                        for c in 0..<shape.channels { y[n * shape.channels + c] += x[(n * shape.positions + p) * shape.channels + c] }
                    }
                }
                for i in y.indices { y[i] *= scale }
            case .residual(let body, let shortcut):
                let (a, _) = run(body, x, shape, images: images, theta: theta, keep: keep, into: &record.body)
                let (b, _) = run(shortcut, x, shape, images: images, theta: theta, keep: keep, into: &record.shortcut)
                y = a
                for i in y.indices { y[i] += b[i] }
            }
            if keep {
                record.input = x
                records.append(record)
            }
            x = y
            shape = next
        }
        return (x, shape)
    }

    /// y = x·Wᵀ + b over `rows` positions.
    static func linear(_ l: PointwiseLinear, _ x: [Scalar], rows: Int, theta: UnsafePointer<Scalar>) -> [Scalar] {
        var y = [Scalar](repeating: 0, count: rows * l.outputs)
        if let bias = l.bias {
            for r in 0..<rows { (y.withUnsafeMutableBufferPointer { $0.baseAddress! } + r * l.outputs).update(from: theta + bias.offset, count: l.outputs) }
        }
        Scalar.gemm(transA: false, transB: true, m: rows, n: l.outputs, k: l.inputs, alpha: 1, a: x, lda: l.inputs,
                    b: theta + l.weight.offset, ldb: l.inputs, beta: l.bias == nil ? 0 : 1, c: &y, ldc: l.outputs)
        return y
    }

    /// A groups = 1 convolution as patches × filtersᵀ.
    static func convolution(_ c: Convolution, _ x: [Scalar], _ shape: FeatureShape, images: Int, theta: UnsafePointer<Scalar>) -> [Scalar] {
        let (ho, wo) = (c.outputSize(shape.height), c.outputSize(shape.width))
        let rows = images * ho * wo
        let columns = c.kernel * c.kernel * c.inputs
        let patches = Self.patches(c, x, shape, images: images)
        var filters = [Scalar](repeating: 0, count: c.outputs * columns)
        Patches.filters(c, pytorch: theta + c.weight.offset, into: &filters)
        var y = [Scalar](repeating: 0, count: rows * c.outputs)
        if let bias = c.bias {
            for r in 0..<rows {
                for o in 0..<c.outputs { y[r * c.outputs + o] = theta[bias.offset + o] }
            }
        }
        Scalar.gemm(transA: false, transB: true, m: rows, n: c.outputs, k: columns, alpha: 1, a: patches, lda: columns,
                    b: filters, ldb: columns, beta: 1, c: &y, ldc: c.outputs)
        return y
    }

    /// The im2col patches of `x` (`x` itself for a 1×1 stride-1 convolution without padding).
    static func patches(_ c: Convolution, _ x: [Scalar], _ shape: FeatureShape, images: Int) -> [Scalar] {
        if c.kernel == 1, c.stride == 1, c.padding == 0 { return x }
        let rows = images * c.outputSize(shape.height) * c.outputSize(shape.width)
        var patches = [Scalar](repeating: 0, count: rows * c.kernel * c.kernel * c.inputs)
        x.withUnsafeBufferPointer { x in
            patches.withUnsafeMutableBufferPointer { p in
                Patches.gather(c, input: x.baseAddress!, images: images, height: shape.height, width: shape.width, into: p.baseAddress!)
            }
        }
        return patches
    }

    /// One k×k filter per channel, channels innermost.
    static func depthwise(_ c: Convolution, _ x: [Scalar], _ shape: FeatureShape, images: Int, theta: UnsafePointer<Scalar>) -> [Scalar] {
        let (h, w, channels, k) = (shape.height, shape.width, shape.channels, c.kernel)
        let (ho, wo) = (c.outputSize(h), c.outputSize(w))
        let filters = depthwiseFilters(c, theta: theta)
        var y = [Scalar](repeating: 0, count: images * ho * wo * channels)
        y.withUnsafeMutableBufferPointer { y in
            x.withUnsafeBufferPointer { x in
                for n in 0..<images {
                    for oy in 0..<ho {
                        for ox in 0..<wo {
                            let out = y.baseAddress! + ((n * ho + oy) * wo + ox) * channels
                            if let bias = c.bias { out.update(from: theta + bias.offset, count: channels) }
                            for ky in 0..<k {
                                let iy = oy * c.stride - c.padding + ky
                                guard iy >= 0, iy < h else { continue }
                                for kx in 0..<k {
                                    let ix = ox * c.stride - c.padding + kx
                                    guard ix >= 0, ix < w else { continue }
                                    let input = x.baseAddress! + ((n * h + iy) * w + ix) * channels
                                    let filter = filters.withUnsafeBufferPointer { $0.baseAddress! } + (ky * k + kx) * channels
                                    for ch in 0..<channels { out[ch] += input[ch] * filter[ch] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// PyTorch's depthwise weight [C, 1, k, k] as [k, k, C].
    static func depthwiseFilters(_ c: Convolution, theta: UnsafePointer<Scalar>) -> [Scalar] {
        let (k, channels) = (c.kernel, c.outputs)
        var filters = [Scalar](repeating: 0, count: k * k * channels)
        for ch in 0..<channels {
            for t in 0..<(k * k) { filters[t * channels + ch] = theta[c.weight.offset + ch * k * k + t] }
        }
        return filters
    }

    /// LayerNorm over the channels of each of `rows` positions; statistics (mean, 1/σ) per position.
    static func layerNorm(_ n: ChannelNorm, _ x: [Scalar], rows: Int, theta: UnsafePointer<Scalar>) -> ([Scalar], [Scalar]) {
        let channels = n.channels
        var y = x
        var statistics = [Scalar](repeating: 0, count: 2 * rows)
        let (w, b) = (theta + n.weight.offset, theta + n.bias.offset)
        for r in 0..<rows {
            let base = r * channels
            var sum = 0.0
            for c in 0..<channels { sum += Double(x[base + c]) }
            let mean = sum / Double(channels)
            var squares = 0.0
            for c in 0..<channels {
                let d = Double(x[base + c]) - mean
                squares += d * d
            }
            let inverse = 1 / (squares / Double(channels) + Double(n.epsilon)).squareRoot()
            let (m, s) = (Scalar(mean), Scalar(inverse))
            statistics[2 * r] = m
            statistics[2 * r + 1] = s
            for c in 0..<channels { y[base + c] = (x[base + c] - m) * s * w[c] + b[c] }
        }
        return (y, statistics)
    }

    /// GRN per image: G_c = ‖x_{·,c}‖₂ over positions, N_c = G_c/(mean_c G + 1e-6),
    /// y = w∘(x∘N) + b + x.
    static func globalResponseNorm(_ g: GlobalResponseNorm, _ x: [Scalar], _ shape: FeatureShape, images: Int,
                                   theta: UnsafePointer<Scalar>) -> ([Scalar], [Scalar]) {
        let (channels, positions) = (g.channels, shape.positions)
        let stride = 2 * channels + 1
        var statistics = [Scalar](repeating: 0, count: images * stride)
        var y = x
        let (w, b) = (theta + g.weight.offset, theta + g.bias.offset)
        var norms = [Double](repeating: 0, count: channels)
        for n in 0..<images {
            let base = n * positions * channels
            for c in 0..<channels { norms[c] = 0 }
            for p in 0..<positions {
                for c in 0..<channels {
                    let v = Double(x[base + p * channels + c])
                    norms[c] += v * v
                }
            }
            var mean = 0.0
            for c in 0..<channels {
                norms[c] = norms[c].squareRoot()
                mean += norms[c]
            }
            let denominator = mean / Double(channels) + 1e-6
            let s = n * stride
            for c in 0..<channels {
                statistics[s + c] = Scalar(norms[c])
                statistics[s + channels + c] = Scalar(norms[c] / denominator)
            }
            statistics[s + 2 * channels] = Scalar(denominator)
            for p in 0..<positions {
                for c in 0..<channels {
                    let i = base + p * channels + c
                    y[i] = w[c] * (x[i] * statistics[s + channels + c]) + b[c] + x[i]
                }
            }
        }
        return (y, statistics)
    }

    /// Max over each window (padding never wins); the first maximum in window order is the one
    /// recorded, as PyTorch picks it.
    static func maxPool(kernel: Int, stride: Int, padding: Int, _ x: [Scalar], _ shape: FeatureShape, _ out: FeatureShape,
                        images: Int) -> ([Scalar], [Int32]) {
        let (h, w, channels) = (shape.height, shape.width, shape.channels)
        var y = [Scalar](repeating: 0, count: images * out.count)
        var argmax = [Int32](repeating: 0, count: images * out.count)
        for n in 0..<images {
            for oy in 0..<out.height {
                for ox in 0..<out.width {
                    for c in 0..<channels {
                        var best = -Scalar.infinity
                        var at = -1
                        for ky in 0..<kernel {
                            let iy = oy * stride - padding + ky
                            guard iy >= 0, iy < h else { continue }
                            for kx in 0..<kernel {
                                let ix = ox * stride - padding + kx
                                guard ix >= 0, ix < w else { continue }
                                let v = x[((n * h + iy) * w + ix) * channels + c]
                                if at < 0 || v > best || v.isNaN { best = v; at = iy * w + ix }
                            }
                        }
                        let o = ((n * out.height + oy) * out.width + ox) * channels + c
                        y[o] = best
                        argmax[o] = Int32(at)
                    }
                }
            }
        }
        return (y, argmax)
    }
}

extension BatchNorm {
    /// 1/√(running variance + ε) per channel.
    func scale<S: BLASScalar>(_: S.Type) -> [S] {
        runningVariance.map { S(1 / (Double($0) + Double(epsilon)).squareRoot()) }
    }
}
