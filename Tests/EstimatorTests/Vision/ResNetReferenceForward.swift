@testable import Estimator

/// A test-only ResNet forward pass: ResNet's kernels chained over a `VisionStructure`, with plain
/// loops for what the vision engine owns (activations, pooling, the classifier). Checks the
/// kernels and the builder against transformers' logits independently of the engine.
enum ResNetReferenceForward {
    /// Logits [N·classes] for channels-last pixel values [N, H, W, C].
    static func logits(_ model: VisionModel, pixels: Tensor<Float>, theta: [Float]) -> [Float] {
        let shape = FeatureShape(height: pixels.shape[1], width: pixels.shape[2], channels: pixels.shape[3])
        return run(model.structure.ops, pixels.scalars, shape, images: pixels.shape[0], theta: theta).0
    }

    static func run(_ ops: [VisionOp], _ input: [Float], _ inputShape: FeatureShape, images: Int, theta: [Float]) -> ([Float], FeatureShape) {
        var x = input, shape = inputShape
        for op in ops {
            let next = shape.after(op)!
            theta.withUnsafeBufferPointer { t in
                let theta = t.baseAddress!
                switch op {
                case .convolution(let c):
                    var y = [Float](repeating: 0, count: images * next.count)
                    var scratch = [Float](repeating: 0, count: ResNetKernels.convolutionScratch(c, images: images, height: shape.height, width: shape.width))
                    ResNetKernels.convolution(c, input: x, images: images, height: shape.height, width: shape.width,
                                              weight: theta + c.weight.offset, bias: c.bias.map { theta + $0.offset },
                                              output: &y, scratch: &scratch)
                    x = y
                case .batchNorm(let b):
                    ResNetKernels.batchNorm(b, data: &x, positions: images * shape.positions,
                                            weight: theta + b.weight.offset, bias: theta + b.bias.offset)
                case .activation(let a):
                    x.withUnsafeMutableBufferPointer { a.apply($0.baseAddress!, count: $0.count) }
                case .maxPool(let kernel, let stride, let padding):
                    var y = [Float](repeating: 0, count: images * next.count)
                    ResNetKernels.maxPool(kernel: kernel, stride: stride, padding: padding, input: x, images: images,
                                          height: shape.height, width: shape.width, channels: shape.channels, output: &y)
                    x = y
                case .globalAveragePool:
                    var y = [Float](repeating: 0, count: images * shape.channels)
                    for n in 0..<images {
                        for c in 0..<shape.channels {
                            var sum: Double = 0
                            for p in 0..<shape.positions { sum += Double(x[(n * shape.positions + p) * shape.channels + c]) }
                            y[n * shape.channels + c] = Float(sum / Double(shape.positions))
                        }
                    }
                    x = y
                case .linear(let l):
                    let rows = images * shape.positions
                    var y = [Float](repeating: 0, count: rows * l.outputs)
                    for r in 0..<rows {
                        for o in 0..<l.outputs {
                            var sum = l.bias.map { Double(theta[$0.offset + o]) } ?? 0
                            for i in 0..<l.inputs { sum += Double(x[r * l.inputs + i]) * Double(theta[l.weight.offset + o * l.inputs + i]) }
                            y[r * l.outputs + o] = Float(sum)
                        }
                    }
                    x = y
                case .residual(let body, let shortcut):
                    let (a, _) = run(body, x, shape, images: images, theta: Array(t))
                    let (b, _) = run(shortcut, x, shape, images: images, theta: Array(t))
                    x = zip(a, b).map { $0 + $1 }
                case .layerNorm, .globalResponseNorm, .layerScale:
                    fatalError("not a ResNet op: \(op)")
                }
            }
            shape = next
        }
        return (x, shape)
    }
}
