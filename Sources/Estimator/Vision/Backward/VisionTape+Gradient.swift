/// Reverse mode over a tape: δ (the cotangent of an op's output, [images, shape]) runs back op
/// by op; each parameter's gradient is handed out per image, [images, parameter.count], as soon
/// as it is complete (every parameter is used once), so the caller can sum it, square it per
/// image or write Jacobian rows.
extension VisionTape {
    /// Receives one parameter's per-image gradients, [images, parameter.count].
    typealias Delivery = (Parameter, UnsafePointer<Scalar>) -> Void

    /// Runs `cotangents` ([images, classes]) back through `structure` at `theta`.
    func backward(_ structure: VisionStructure, cotangents: UnsafePointer<Scalar>, theta: UnsafePointer<Scalar>,
                  deliver: Delivery) {
        let delta = Array(UnsafeBufferPointer(start: cotangents, count: images * structure.classes))
        _ = Self.backward(structure.ops, records, delta, images: images, theta: theta, needInput: false, deliver: deliver)
    }

    /// δ of the ops' input (empty when `needInput` is false: the pixels need none).
    static func backward(_ ops: [VisionOp], _ records: [Record], _ delta: [Scalar], images: Int, theta: UnsafePointer<Scalar>,
                         needInput: Bool, deliver: Delivery) -> [Scalar] {
        var delta = delta
        for (index, (op, record)) in zip(ops, records).enumerated().reversed() {
            let needs = needInput || index > 0
            delta = backward(op, record, delta, images: images, theta: theta, needInput: needs, deliver: deliver)
        }
        return delta
    }

    static func backward(_ op: VisionOp, _ record: Record, _ delta: [Scalar], images: Int, theta: UnsafePointer<Scalar>,
                         needInput: Bool, deliver: Delivery) -> [Scalar] {
        let shape = record.shape
        let x = record.input
        let rows = images * shape.positions
        switch op {
        case .convolution(let c):
            return c.isDepthwise ? depthwise(c, record, delta, images: images, theta: theta, deliver: deliver)
                                 : convolution(c, record, delta, images: images, theta: theta, needInput: needInput, deliver: deliver)

        case .linear(let l):
            let positions = shape.positions
            var weight = [Scalar](repeating: 0, count: images * l.outputs * l.inputs)
            for n in 0..<images {
                Scalar.gemm(transA: true, transB: false, m: l.outputs, n: l.inputs, k: positions, alpha: 1,
                            a: pointer(delta) + n * positions * l.outputs, lda: l.outputs, b: pointer(x) + n * positions * l.inputs, ldb: l.inputs,
                            beta: 0, c: mutablePointer(&weight) + n * l.outputs * l.inputs, ldc: l.inputs)
            }
            deliver(l.weight, weight)
            if let bias = l.bias { deliver(bias, channelSums(delta, images: images, positions: positions, channels: l.outputs)) }
            guard needInput else { return [] }
            var dx = [Scalar](repeating: 0, count: rows * l.inputs)
            Scalar.gemm(transA: false, transB: false, m: rows, n: l.inputs, k: l.outputs, alpha: 1, a: delta, lda: l.outputs,
                        b: theta + l.weight.offset, ldb: l.inputs, beta: 0, c: &dx, ldc: l.inputs)
            return dx

        case .layerNorm(let norm):
            let channels = norm.channels
            let w = theta + norm.weight.offset
            var dWeight = [Scalar](repeating: 0, count: images * channels)
            var dx = delta
            var normalized = [Scalar](repeating: 0, count: channels)
            for r in 0..<rows {
                let n = r / shape.positions
                let (mean, inverse) = (record.statistics[2 * r], record.statistics[2 * r + 1])
                let base = r * channels
                var meanDelta = 0.0, meanProduct = 0.0
                for c in 0..<channels {
                    let xhat = (x[base + c] - mean) * inverse
                    normalized[c] = xhat
                    let d = delta[base + c]
                    dWeight[n * channels + c] += d * xhat
                    let dy = Double(d * w[c])
                    meanDelta += dy
                    meanProduct += dy * Double(xhat)
                }
                let (a, b) = (Scalar(meanDelta / Double(channels)), Scalar(meanProduct / Double(channels)))
                for c in 0..<channels { dx[base + c] = inverse * (delta[base + c] * w[c] - a - normalized[c] * b) }
            }
            deliver(norm.weight, dWeight)
            deliver(norm.bias, channelSums(delta, images: images, positions: shape.positions, channels: channels))
            return dx

        case .batchNorm(let b):
            let channels = b.channels
            let scale = b.scale(Scalar.self)
            let w = theta + b.weight.offset
            var dWeight = [Scalar](repeating: 0, count: images * channels)
            var dx = delta
            for r in 0..<rows {
                let n = r / shape.positions
                for c in 0..<channels {
                    let i = r * channels + c
                    dWeight[n * channels + c] += delta[i] * (x[i] - Scalar(b.runningMean[c])) * scale[c]
                    dx[i] = delta[i] * scale[c] * w[c]
                }
            }
            deliver(b.weight, dWeight)
            deliver(b.bias, channelSums(delta, images: images, positions: shape.positions, channels: channels))
            return dx

        case .globalResponseNorm(let g):
            return globalResponseNorm(g, record, delta, images: images, theta: theta, deliver: deliver)

        case .activation(let a):
            var dx = delta
            for i in dx.indices { dx[i] *= a.valueAndSlope(x[i]).slope }
            return dx

        case .layerScale(let gamma):
            let channels = gamma.count
            var dGamma = [Scalar](repeating: 0, count: images * channels)
            var dx = delta
            for r in 0..<rows {
                let n = r / shape.positions
                for c in 0..<channels {
                    let i = r * channels + c
                    dGamma[n * channels + c] += delta[i] * x[i]
                    dx[i] = delta[i] * theta[gamma.offset + c]
                }
            }
            deliver(gamma, dGamma)
            return dx

        case .maxPool:
            var dx = [Scalar](repeating: 0, count: x.count)
            let channels = shape.channels
            let outputs = delta.count / images / channels
            for n in 0..<images {
                for o in 0..<outputs {
                    for c in 0..<channels {
                        let i = (n * outputs + o) * channels + c
                        dx[(n * shape.positions + Int(record.argmax[i])) * channels + c] += delta[i]
                    }
                }
            }
            return dx

        case .globalAveragePool:
            var dx = [Scalar](repeating: 0, count: x.count)
            let (channels, scale) = (shape.channels, 1 / Scalar(shape.positions))
            for n in 0..<images {
                for p in 0..<shape.positions {
                    for c in 0..<channels { dx[(n * shape.positions + p) * channels + c] = delta[n * channels + c] * scale }
                }
            }
            return dx

        case .residual(let body, let shortcut):
            var dx = backward(body, record.body, delta, images: images, theta: theta, needInput: true, deliver: deliver)
            let dShortcut = shortcut.isEmpty ? delta
                : backward(shortcut, record.shortcut, delta, images: images, theta: theta, needInput: true, deliver: deliver)
            for i in dx.indices { dx[i] += dShortcut[i] }
            return dx
        }
    }

    /// Per image, the sum over positions of each channel: [images, channels].
    static func channelSums(_ delta: [Scalar], images: Int, positions: Int, channels: Int) -> [Scalar] {
        var sums = [Scalar](repeating: 0, count: images * channels)
        for n in 0..<images {
            for p in 0..<positions {
                for c in 0..<channels { sums[n * channels + c] += delta[(n * positions + p) * channels + c] }
            }
        }
        return sums
    }

    /// patches·filtersᵀ backward: per image δᵀ·patches for the filters, δ·filters scattered back
    /// for the input.
    static func convolution(_ c: Convolution, _ record: Record, _ delta: [Scalar], images: Int, theta: UnsafePointer<Scalar>,
                            needInput: Bool, deliver: Delivery) -> [Scalar] {
        let shape = record.shape
        let positions = c.outputSize(shape.height) * c.outputSize(shape.width)
        let columns = c.kernel * c.kernel * c.inputs
        let patches = self.patches(c, record.input, shape, images: images)
        var filterGradient = [Scalar](repeating: 0, count: c.outputs * columns)
        var weight = [Scalar](repeating: 0, count: images * c.weight.count)
        for n in 0..<images {
            Scalar.gemm(transA: true, transB: false, m: c.outputs, n: columns, k: positions, alpha: 1,
                        a: pointer(delta) + n * positions * c.outputs, lda: c.outputs, b: pointer(patches) + n * positions * columns, ldb: columns,
                        beta: 0, c: &filterGradient, ldc: columns)
            Patches.pytorchFilters(c, patches: filterGradient, into: mutablePointer(&weight) + n * c.weight.count)
        }
        deliver(c.weight, weight)
        if let bias = c.bias { deliver(bias, channelSums(delta, images: images, positions: positions, channels: c.outputs)) }
        guard needInput else { return [] }
        var filters = [Scalar](repeating: 0, count: c.outputs * columns)
        Patches.filters(c, pytorch: theta + c.weight.offset, into: &filters)
        var dPatches = [Scalar](repeating: 0, count: images * positions * columns)
        Scalar.gemm(transA: false, transB: false, m: images * positions, n: columns, k: c.outputs, alpha: 1, a: delta, lda: c.outputs,
                    b: filters, ldb: columns, beta: 0, c: &dPatches, ldc: columns)
        if c.kernel == 1, c.stride == 1, c.padding == 0 { return dPatches }
        var dx = [Scalar](repeating: 0, count: record.input.count)
        Patches.scatterAdd(c, columns: dPatches, images: images, height: shape.height, width: shape.width, into: &dx)
        return dx
    }

    static func depthwise(_ c: Convolution, _ record: Record, _ delta: [Scalar], images: Int, theta: UnsafePointer<Scalar>,
                          deliver: Delivery) -> [Scalar] {
        let shape = record.shape
        let (h, w, channels, k) = (shape.height, shape.width, shape.channels, c.kernel)
        let (ho, wo) = (c.outputSize(h), c.outputSize(w))
        let filters = depthwiseFilters(c, theta: theta)
        var dFilters = [Scalar](repeating: 0, count: k * k * channels)
        var weight = [Scalar](repeating: 0, count: images * c.weight.count)
        var dx = [Scalar](repeating: 0, count: record.input.count)
        let x = pointer(record.input), d = pointer(delta), f = pointer(filters)
        let dxp = mutablePointer(&dx), df = mutablePointer(&dFilters)
        for n in 0..<images {
            df.update(repeating: 0, count: k * k * channels)
            for oy in 0..<ho {
                for ox in 0..<wo {
                    let out = d + ((n * ho + oy) * wo + ox) * channels
                    for ky in 0..<k {
                        let iy = oy * c.stride - c.padding + ky
                        guard iy >= 0, iy < h else { continue }
                        for kx in 0..<k {
                            let ix = ox * c.stride - c.padding + kx
                            guard ix >= 0, ix < w else { continue }
                            let at = ((n * h + iy) * w + ix) * channels
                            let tap = (ky * k + kx) * channels
                            for ch in 0..<channels {
                                df[tap + ch] += out[ch] * x[at + ch]
                                dxp[at + ch] += out[ch] * f[tap + ch]
                            }
                        }
                    }
                }
            }
            let image = mutablePointer(&weight) + n * c.weight.count
            for ch in 0..<channels {
                for t in 0..<(k * k) { image[ch * k * k + t] = df[t * channels + ch] }
            }
        }
        deliver(c.weight, weight)
        if let bias = c.bias { deliver(bias, channelSums(delta, images: images, positions: ho * wo, channels: channels)) }
        return dx
    }

    /// y = w∘(x∘N) + b + x with N_c = G_c/m, m = mean_j G_j + 1e-6, G_c = ‖x_{·,c}‖:
    /// ∂/∂x_{p,c} = δ_{p,c}(1 + w_c N_c) + x_{p,c}/G_c · (dN_c/m − Σ_j dN_j G_j/(C m²)),
    /// with dN_c = Σ_p δ_{p,c} w_c x_{p,c}.
    static func globalResponseNorm(_ g: GlobalResponseNorm, _ record: Record, _ delta: [Scalar], images: Int,
                                   theta: UnsafePointer<Scalar>, deliver: Delivery) -> [Scalar] {
        let (channels, positions) = (g.channels, record.shape.positions)
        let w = theta + g.weight.offset
        let x = record.input
        var dWeight = [Scalar](repeating: 0, count: images * channels)
        var dx = delta
        var dNorm = [Double](repeating: 0, count: channels)
        for n in 0..<images {
            let base = n * positions * channels
            let statistics = n * (2 * channels + 1)
            let norms = record.statistics[statistics..<(statistics + channels)]
            let normalized = record.statistics[(statistics + channels)..<(statistics + 2 * channels)]
            let m = Double(record.statistics[statistics + 2 * channels])
            for c in 0..<channels { dNorm[c] = 0 }
            for p in 0..<positions {
                for c in 0..<channels {
                    let i = base + p * channels + c
                    dNorm[c] += Double(delta[i] * x[i])
                }
            }
            var coupling = 0.0
            for c in 0..<channels {
                dWeight[n * channels + c] = Scalar(dNorm[c]) * normalized[normalized.startIndex + c]
                dNorm[c] *= Double(w[c])
                coupling += dNorm[c] * Double(norms[norms.startIndex + c])
            }
            coupling /= Double(channels) * m * m
            for c in 0..<channels {
                let gc = Double(norms[norms.startIndex + c])
                // Through G: dG_c·x/G_c (G_c = 0 only when the channel is all zeros: no gradient, as torch's norm at 0).
                let throughNorm = gc > 0 ? Scalar((dNorm[c] / m - coupling) / gc) : 0
                let direct = 1 + w[c] * normalized[normalized.startIndex + c]
                for p in 0..<positions {
                    let i = base + p * channels + c
                    dx[i] = delta[i] * direct + x[i] * throughNorm
                }
            }
        }
        deliver(g.weight, dWeight)
        deliver(g.bias, channelSums(delta, images: images, positions: positions, channels: channels))
        return dx
    }
}

/// The storage of an array the caller keeps alive and unchanged for the pointer's use.
@inline(__always) private func pointer<S>(_ a: [S]) -> UnsafePointer<S> {
    a.withUnsafeBufferPointer { $0.baseAddress! }
}

@inline(__always) private func mutablePointer<S>(_ a: inout [S]) -> UnsafeMutablePointer<S> {
    a.withUnsafeMutableBufferPointer { $0.baseAddress! }
}
