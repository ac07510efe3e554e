// CONTRACT STUBS — the `resnet` helper implements these (fast, channels-last); the `convnext`
// helper's engine calls them for ResNet ops.
enum ResNetKernels {
    /// Scratch floats `convolution` needs for `images` images of `height` × `width`.
    static func convolutionScratch(_ c: Convolution, images: Int, height: Int, width: Int) -> Int {
        fatalError("ResNetKernels.convolutionScratch is not implemented yet")
    }

    /// A general (groups = 1) convolution, channels-last: `input` [images, height, width, c.inputs]
    /// → `output` [images, Ho, Wo, c.outputs] (overwritten), filters in PyTorch's layout
    /// [out, in, k, k] (the perturbed weights), optional bias [out].
    static func convolution(_ c: Convolution, input: UnsafePointer<Float>, images: Int, height: Int, width: Int,
                            weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                            output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        fatalError("ResNetKernels.convolution is not implemented yet")
    }

    /// Eval-mode BatchNorm in place on `positions` channels-last positions.
    static func batchNorm(_ b: BatchNorm, data: UnsafeMutablePointer<Float>, positions: Int,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>) {
        fatalError("ResNetKernels.batchNorm is not implemented yet")
    }

    /// Max-pool, channels-last: `input` [images, height, width, channels] → `output` [images, Ho, Wo, channels].
    static func maxPool(kernel: Int, stride: Int, padding: Int, input: UnsafePointer<Float>, images: Int, height: Int, width: Int,
                        channels: Int, output: UnsafeMutablePointer<Float>) {
        fatalError("ResNetKernels.maxPool is not implemented yet")
    }
}
