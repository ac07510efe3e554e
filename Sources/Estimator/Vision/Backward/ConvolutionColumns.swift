/// `Patches` (im2col, channels-last) in any `BLASScalar`, so that the backward pass runs in
/// float64 in the finite-difference tests: a groups = 1 convolution is one GEMM of the patches
/// [images·Ho·Wo, k·k·C] by the filters [out, k·k·C]ᵀ. Same column order as `Patches`.
enum ConvolutionColumns {
    static func gather<S: BLASScalar>(_ c: Convolution, input: UnsafePointer<S>, images: Int, height: Int, width: Int,
                                      into columns: UnsafeMutablePointer<S>) {
        let (ho, wo, k, channels) = (c.outputSize(height), c.outputSize(width), c.kernel, c.inputs)
        var out = columns
        for n in 0..<images {
            let image = input + n * height * width * channels
            for oy in 0..<ho {
                for ox in 0..<wo {
                    for ky in 0..<k {
                        let y = oy * c.stride - c.padding + ky
                        for kx in 0..<k {
                            let x = ox * c.stride - c.padding + kx
                            if y >= 0, y < height, x >= 0, x < width {
                                out.update(from: image + (y * width + x) * channels, count: channels)
                            } else {
                                out.update(repeating: 0, count: channels)
                            }
                            out += channels
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `gather`: each patch entry added back onto its input position.
    static func scatterAdd<S: BLASScalar>(_ c: Convolution, columns: UnsafePointer<S>, images: Int, height: Int, width: Int,
                                          into input: UnsafeMutablePointer<S>) {
        let (ho, wo, k, channels) = (c.outputSize(height), c.outputSize(width), c.kernel, c.inputs)
        var from = columns
        for n in 0..<images {
            let image = input + n * height * width * channels
            for oy in 0..<ho {
                for ox in 0..<wo {
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

    /// PyTorch's [out, in/groups, k, k] → [out, k, k, in/groups] (the patches' column order; for
    /// a depthwise filter, [C, 1, k, k] → [C, k, k]).
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
