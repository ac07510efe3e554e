/// Channels-last im2col for a (groups = 1) convolution, and its adjoint: a convolution is then
/// one GEMM, patches [N·Ho·Wo, k·k·C] times the filters [out, k·k·C]ᵀ. Generic over the scalar
/// so that the backward pass also runs in float64 (the finite-difference tests).
enum Patches {
    /// Writes the patches of `input` [images, height, width, channels] into `columns`
    /// [images·Ho·Wo, kernel·kernel·channels], column order (row in window, column in window,
    /// channel); positions in the padding are 0.
    static func gather<S: BLASScalar>(_ c: Convolution, input: UnsafePointer<S>, images: Int, height: Int, width: Int,
                                      into columns: UnsafeMutablePointer<S>) {
        gather(c, input: input, height: height, width: width,
               rows: 0..<(images * c.outputSize(height) * c.outputSize(width)), into: columns)
    }

    /// The patch rows `rows` (output positions counted over all images, row-major) into
    /// `columns` [rows.count, kernel·kernel·channels]. Channels-last, a window row's in-bounds
    /// part is contiguous in the input, so each is one copy.
    static func gather<S: BLASScalar>(_ c: Convolution, input: UnsafePointer<S>, height: Int, width: Int,
                                      rows: Range<Int>, into columns: UnsafeMutablePointer<S>) {
        let (ho, wo, k, channels) = (c.outputSize(height), c.outputSize(width), c.kernel, c.inputs)
        let span = k * channels
        var out = columns
        for r in rows {
            let ox = r % wo, oy = (r / wo) % ho, n = r / (wo * ho)
            let image = input + n * height * width * channels
            let x0 = ox * c.stride - c.padding
            // Window columns [first, last) fall inside the image.
            let first = max(0, -x0), last = min(k, width - x0)
            for ky in 0..<k {
                let y = oy * c.stride - c.padding + ky
                if y >= 0, y < height, first < last {
                    out.update(repeating: 0, count: first * channels)
                    (out + first * channels).update(from: image + (y * width + x0 + first) * channels,
                                                    count: (last - first) * channels)
                    (out + last * channels).update(repeating: 0, count: (k - last) * channels)
                } else {
                    out.update(repeating: 0, count: span)
                }
                out += span
            }
        }
    }

    /// The adjoint of `gather`: adds each patch entry of `columns` back onto its input position
    /// in `input` (positions in the padding are dropped).
    static func scatterAdd<S: BLASScalar>(_ c: Convolution, columns: UnsafePointer<S>, images: Int, height: Int, width: Int,
                                          into input: UnsafeMutablePointer<S>) {
        let (ho, wo, k, channels) = (c.outputSize(height), c.outputSize(width), c.kernel, c.inputs)
        let rowLength = k * k * channels
        for n in 0..<images {
            let image = input + n * height * width * channels
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var from = columns + ((n * ho + oy) * wo + ox) * rowLength
                    for ky in 0..<k {
                        let y = oy * c.stride - c.padding + ky
                        for kx in 0..<k {
                            let x = ox * c.stride - c.padding + kx
                            if y >= 0, y < height, x >= 0, x < width {
                                let to = image + (y * width + x) * channels
                                for i in 0..<channels { to[i] += from[i] }
                            }
                            from += channels
                        }
                    }
                }
            }
        }
    }

    /// PyTorch's filter layout [out, in/groups, k, k] → the patches' [out, k, k, in/groups] (for a
    /// depthwise filter, [C, 1, k, k] → [C, k, k]).
    static func filters<S: BLASScalar>(_ c: Convolution, pytorch weight: UnsafePointer<S>, into out: UnsafeMutablePointer<S>) {
        let (k, channels) = (c.kernel, c.inputs / c.groups)
        for o in 0..<c.outputs {
            for i in 0..<channels {
                for ky in 0..<k {
                    for kx in 0..<k {
                        out[((o * k + ky) * k + kx) * channels + i] = weight[((o * channels + i) * k + ky) * k + kx]
                    }
                }
            }
        }
    }

    /// The inverse of `filters`: [out, k, k, in/groups] → PyTorch's layout, overwritten.
    static func pytorchFilters<S: BLASScalar>(_ c: Convolution, patches gradient: UnsafePointer<S>, into weight: UnsafeMutablePointer<S>) {
        let (k, channels) = (c.kernel, c.inputs / c.groups)
        for o in 0..<c.outputs {
            for i in 0..<channels {
                for ky in 0..<k {
                    for kx in 0..<k {
                        weight[((o * channels + i) * k + ky) * k + kx] = gradient[((o * k + ky) * k + kx) * channels + i]
                    }
                }
            }
        }
    }
}
