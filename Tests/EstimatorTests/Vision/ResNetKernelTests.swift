import Testing
@testable import Estimator

/// ResNet's kernels against plain loops written here from PyTorch's definitions.
@Suite struct ResNetKernelTests {
    static func convolution(inputs: Int, outputs: Int, kernel: Int, stride: Int, padding: Int, bias: Bool) -> Convolution {
        Convolution(weight: Parameter(name: "w", shape: [outputs, inputs, kernel, kernel], offset: 0),
                    bias: bias ? Parameter(name: "b", shape: [outputs], offset: outputs * inputs * kernel * kernel) : nil,
                    inputs: inputs, outputs: outputs, kernel: kernel, stride: stride, padding: padding)
    }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var random = TestRandom(seed: seed)
        return (0..<count).map { _ in Float(random.symmetric()) }
    }

    /// `nn.Conv2d` on channels-last data, summed in float64.
    static func naiveConvolution(_ c: Convolution, input: [Float], images: Int, height: Int, width: Int,
                                 weight: [Float], bias: [Float]?) -> [Float] {
        let (ho, wo, k) = (c.outputSize(height), c.outputSize(width), c.kernel)
        var out = [Float](repeating: 0, count: images * ho * wo * c.outputs)
        for n in 0..<images {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    for o in 0..<c.outputs {
                        var sum = bias.map { Double($0[o]) } ?? 0
                        for i in 0..<c.inputs {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let y = oy * c.stride - c.padding + ky, x = ox * c.stride - c.padding + kx
                                    guard y >= 0, y < height, x >= 0, x < width else { continue }
                                    sum += Double(input[((n * height + y) * width + x) * c.inputs + i])
                                        * Double(weight[((o * c.inputs + i) * k + ky) * k + kx])
                                }
                            }
                        }
                        out[((n * ho + oy) * wo + ox) * c.outputs + o] = Float(sum)
                    }
                }
            }
        }
        return out
    }

    /// Runs the kernel with exactly `convolutionScratch` floats of scratch, followed by guard
    /// values that must survive; the output starts as NaN so every element must be written.
    static func kernelConvolution(_ c: Convolution, input: [Float], images: Int, height: Int, width: Int,
                                  weight: [Float], bias: [Float]?) -> (output: [Float], guardsIntact: Bool) {
        let scratchCount = ResNetKernels.convolutionScratch(c, images: images, height: height, width: width)
        var scratch = [Float](repeating: 0, count: scratchCount + 16)
        for i in scratchCount..<scratch.count { scratch[i] = 12345 }
        var output = [Float](repeating: .nan, count: images * c.outputSize(height) * c.outputSize(width) * c.outputs)
        input.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                output.withUnsafeMutableBufferPointer { y in
                    scratch.withUnsafeMutableBufferPointer { s in
                        if let bias {
                            bias.withUnsafeBufferPointer { b in
                                ResNetKernels.convolution(c, input: x.baseAddress!, images: images, height: height, width: width,
                                                          weight: w.baseAddress!, bias: b.baseAddress!, output: y.baseAddress!, scratch: s.baseAddress!)
                            }
                        } else {
                            ResNetKernels.convolution(c, input: x.baseAddress!, images: images, height: height, width: width,
                                                      weight: w.baseAddress!, bias: nil, output: y.baseAddress!, scratch: s.baseAddress!)
                        }
                    }
                }
            }
        }
        return (output, scratch[scratchCount...].allSatisfy { $0 == 12345 })
    }

    struct Shape: Sendable, CustomTestStringConvertible {
        let images, height, width, inputs, outputs, kernel, stride, padding: Int
        let bias: Bool
        var testDescription: String {
            "\(images)×\(height)×\(width)×\(inputs) → \(kernel)×\(kernel)/\(stride) pad \(padding) → \(outputs)\(bias ? " +bias" : "")"
        }
    }

    static let shapes: [Shape] = [
        // ResNet's stem: 7×7 stride 2 padding 3, three channels.
        Shape(images: 2, height: 13, width: 11, inputs: 3, outputs: 8, kernel: 7, stride: 2, padding: 3, bias: false),
        // 3×3 stride 1 and 2, odd channel counts, non-square images.
        Shape(images: 3, height: 9, width: 7, inputs: 5, outputs: 7, kernel: 3, stride: 1, padding: 1, bias: true),
        Shape(images: 2, height: 8, width: 9, inputs: 13, outputs: 9, kernel: 3, stride: 2, padding: 1, bias: false),
        // A window wider than the image on one side, and padding beyond kernel/2.
        Shape(images: 1, height: 3, width: 2, inputs: 4, outputs: 3, kernel: 5, stride: 1, padding: 2, bias: true),
        Shape(images: 2, height: 5, width: 6, inputs: 3, outputs: 5, kernel: 3, stride: 3, padding: 2, bias: false),
        // 1×1: stride 1 (the input is the patch matrix), stride 2 (a gather of positions), padded.
        Shape(images: 3, height: 5, width: 4, inputs: 11, outputs: 6, kernel: 1, stride: 1, padding: 0, bias: true),
        Shape(images: 2, height: 7, width: 5, inputs: 9, outputs: 17, kernel: 1, stride: 2, padding: 0, bias: false),
        Shape(images: 1, height: 3, width: 3, inputs: 2, outputs: 3, kernel: 1, stride: 1, padding: 1, bias: false),
        // Non-overlapping patches (ConvNeXt's stem) and a kernel with no padding.
        Shape(images: 2, height: 8, width: 8, inputs: 3, outputs: 10, kernel: 2, stride: 2, padding: 0, bias: true),
        Shape(images: 2, height: 6, width: 7, inputs: 6, outputs: 4, kernel: 3, stride: 1, padding: 0, bias: false),
    ]

    @Test(arguments: shapes)
    func convolutionMatchesPlainLoop(_ s: Shape) {
        let c = Self.convolution(inputs: s.inputs, outputs: s.outputs, kernel: s.kernel, stride: s.stride, padding: s.padding, bias: s.bias)
        let input = Self.random(s.images * s.height * s.width * s.inputs, seed: 1)
        let weight = Self.random(s.outputs * s.inputs * s.kernel * s.kernel, seed: 2)
        let bias = s.bias ? Self.random(s.outputs, seed: 3) : nil
        let expected = Self.naiveConvolution(c, input: input, images: s.images, height: s.height, width: s.width, weight: weight, bias: bias)
        let (output, guardsIntact) = Self.kernelConvolution(c, input: input, images: s.images, height: s.height, width: s.width, weight: weight, bias: bias)
        #expect(guardsIntact)
        #expect(output.count == expected.count)
        let worst = zip(output, expected).map { abs($0 - $1) }.max()!
        #expect(worst < 2e-5)
    }

    /// More output positions than one block of patches: the blocks must tile the rows exactly.
    @Test func convolutionOverSeveralPatchBlocks() {
        let c = Self.convolution(inputs: 64, outputs: 5, kernel: 3, stride: 1, padding: 1, bias: true)
        let (images, height, width) = (4, 17, 15)
        let rows = images * height * width
        #expect(rows > 2 * ResNetKernels.patchRowsPerBlock(rowLength: 576))
        let input = Self.random(rows * 64, seed: 4), weight = Self.random(5 * 64 * 9, seed: 5), bias = Self.random(5, seed: 6)
        let expected = Self.naiveConvolution(c, input: input, images: images, height: height, width: width, weight: weight, bias: bias)
        let (output, guardsIntact) = Self.kernelConvolution(c, input: input, images: images, height: height, width: width, weight: weight, bias: bias)
        #expect(guardsIntact)
        #expect(zip(output, expected).map { abs($0 - $1) }.max()! < 2e-5)
    }

    @Test func pointwiseConvolutionNeedsNoScratch() {
        let c = Self.convolution(inputs: 64, outputs: 256, kernel: 1, stride: 1, padding: 0, bias: false)
        #expect(ResNetKernels.convolutionScratch(c, images: 128, height: 8, width: 8) == 0)
        let strided = Self.convolution(inputs: 64, outputs: 128, kernel: 1, stride: 2, padding: 0, bias: false)
        #expect(ResNetKernels.convolutionScratch(strided, images: 2, height: 8, width: 8) == 2 * 4 * 4 * 64)
    }

    static func batchNorm(channels: Int, epsilon: Float, seed: UInt64) -> BatchNorm {
        var random = TestRandom(seed: seed)
        return BatchNorm(weight: Parameter(name: "w", shape: [channels], offset: 0), bias: Parameter(name: "b", shape: [channels], offset: channels),
                         runningMean: (0..<channels).map { _ in Float(random.symmetric()) },
                         runningVariance: (0..<channels).map { _ in Float(0.01 + 2 * abs(random.symmetric())) },
                         channels: channels, epsilon: epsilon)
    }

    @Test(arguments: [(1, 3), (5, 8), (300, 17), (513, 64), (7, 1)])
    func batchNormMatchesFormula(positions: Int, channels: Int) {
        let b = Self.batchNorm(channels: channels, epsilon: 1e-5, seed: UInt64(channels))
        let weight = Self.random(channels, seed: 7), bias = Self.random(channels, seed: 8)
        let input = Self.random(positions * channels, seed: 9)
        var data = input
        data.withUnsafeMutableBufferPointer { x in
            ResNetKernels.batchNorm(b, data: x.baseAddress!, positions: positions, weight: weight, bias: bias)
        }
        var worst: Double = 0
        for p in 0..<positions {
            for c in 0..<channels {
                let x = Double(input[p * channels + c])
                let expected = (x - Double(b.runningMean[c])) / (Double(b.runningVariance[c]) + 1e-5).squareRoot() * Double(weight[c]) + Double(bias[c])
                worst = max(worst, abs(Double(data[p * channels + c]) - expected))
            }
        }
        #expect(worst < 1e-5)
    }

    @Test func batchNormUsesItsEpsilon() {
        // Variance 0: the output is (x − mean)/√ε·w + b, finite.
        let b = BatchNorm(weight: Parameter(name: "w", shape: [2], offset: 0), bias: Parameter(name: "b", shape: [2], offset: 2),
                          runningMean: [1, -1], runningVariance: [0, 0.25], channels: 2, epsilon: 0.01)
        var data: [Float] = [1.5, 0]
        data.withUnsafeMutableBufferPointer { x in
            ResNetKernels.batchNorm(b, data: x.baseAddress!, positions: 1, weight: [2, 1], bias: [0.5, 0])
        }
        #expect(abs(data[0] - (0.5 / 0.1 * 2 + 0.5)) < 1e-5)
        #expect(abs(data[1] - 1 / Float(0.26).squareRoot()) < 1e-5)
    }

    /// `nn.MaxPool2d` on channels-last data: padding never wins, a NaN anywhere in the window wins.
    static func naiveMaxPool(kernel: Int, stride: Int, padding: Int, input: [Float], images: Int, height: Int, width: Int, channels: Int) -> [Float] {
        let ho = (height + 2 * padding - kernel) / stride + 1, wo = (width + 2 * padding - kernel) / stride + 1
        var out: [Float] = []
        for n in 0..<images {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    for c in 0..<channels {
                        var m = -Float.infinity
                        for ky in 0..<kernel {
                            for kx in 0..<kernel {
                                let y = oy * stride - padding + ky, x = ox * stride - padding + kx
                                guard y >= 0, y < height, x >= 0, x < width else { continue }
                                let v = input[((n * height + y) * width + x) * channels + c]
                                if v.isNaN || m.isNaN { m = .nan } else { m = max(m, v) }
                            }
                        }
                        out.append(m)
                    }
                }
            }
        }
        return out
    }

    static func kernelMaxPool(kernel: Int, stride: Int, padding: Int, input: [Float], images: Int, height: Int, width: Int, channels: Int) -> [Float] {
        let ho = (height + 2 * padding - kernel) / stride + 1, wo = (width + 2 * padding - kernel) / stride + 1
        var output = [Float](repeating: 0, count: images * ho * wo * channels)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                ResNetKernels.maxPool(kernel: kernel, stride: stride, padding: padding, input: x.baseAddress!, images: images,
                                      height: height, width: width, channels: channels, output: y.baseAddress!)
            }
        }
        return output
    }

    @Test(arguments: [(7, 7, 3), (8, 6, 16), (5, 9, 21), (2, 2, 9), (1, 1, 8)])
    func maxPoolMatchesPlainLoop(height: Int, width: Int, channels: Int) {
        // Negative values everywhere: a zero padding would show.
        let input = Self.random(2 * height * width * channels, seed: 10).map { $0 - 2 }
        let expected = Self.naiveMaxPool(kernel: 3, stride: 2, padding: 1, input: input, images: 2, height: height, width: width, channels: channels)
        let output = Self.kernelMaxPool(kernel: 3, stride: 2, padding: 1, input: input, images: 2, height: height, width: width, channels: channels)
        #expect(output == expected)
        #expect(output.allSatisfy { $0 < -1 })
    }

    @Test func maxPoolPropagatesNaN() {
        // 4×4 image, 9 channels (a vector of eight and one more); NaN at (1, 1) in channels 2 and 8.
        let (height, width, channels) = (4, 4, 9)
        var input = Self.random(height * width * channels, seed: 11)
        for c in [2, 8] { input[(1 * width + 1) * channels + c] = .nan }
        let output = Self.kernelMaxPool(kernel: 3, stride: 2, padding: 1, input: input, images: 1, height: height, width: width, channels: channels)
        let expected = Self.naiveMaxPool(kernel: 3, stride: 2, padding: 1, input: input, images: 1, height: height, width: width, channels: channels)
        // Windows at output (0,0), (0,1), (1,0), (1,1) all cover input (1, 1).
        for p in 0..<4 {
            for c in 0..<channels {
                let v = output[p * channels + c]
                #expect(v.isNaN == (c == 2 || c == 8))
                #expect(v.isNaN || v == expected[p * channels + c])
            }
        }
    }
}
