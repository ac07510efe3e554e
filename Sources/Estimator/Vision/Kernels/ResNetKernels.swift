/// ResNet's kernels over channels-last activations, called by the vision engine for ResNet ops:
/// the general (groups = 1) convolution as im2col + sgemm, eval-mode BatchNorm and max-pool
/// (`ResNetKernels+Normalization.swift`, `ResNetKernels+Pooling.swift`). None allocates: the
/// convolution works in caller-provided scratch of `convolutionScratch` floats.
enum ResNetKernels {
    /// Patch rows gathered per sgemm: about 1 MiB of patches, so a block stays in cache between
    /// its gather and the sgemm that reads it, and at least 256 rows so the sgemm stays efficient.
    static func patchRowsPerBlock(rowLength: Int) -> Int {
        max(256, (1 << 18) / max(rowLength, 1))
    }

    /// Scratch floats `convolution` needs for `images` images of `height` × `width`: the filters
    /// in patch order (kernels above 1×1) plus one block of patches (unless the input already is
    /// the patch matrix: a 1×1, stride-1, unpadded convolution needs none).
    static func convolutionScratch(_ c: Convolution, images: Int, height: Int, width: Int) -> Int {
        precondition(c.groups == 1, "ResNetKernels.convolution is for groups = 1")
        let rows = images * c.outputSize(height) * c.outputSize(width)
        let rowLength = c.kernel * c.kernel * c.inputs
        let filters = c.kernel > 1 ? c.outputs * rowLength : 0
        guard needsPatches(c) else { return filters }
        return filters + min(rows, patchRowsPerBlock(rowLength: rowLength)) * rowLength
    }

    /// A 1×1, stride-1, unpadded convolution reads its input as the patch matrix.
    static func needsPatches(_ c: Convolution) -> Bool {
        !(c.kernel == 1 && c.stride == 1 && c.padding == 0)
    }

    /// A general (groups = 1) convolution, channels-last: `input` [images, height, width, c.inputs]
    /// → `output` [images, Ho, Wo, c.outputs] (overwritten), filters in PyTorch's layout
    /// [out, in, k, k] (the perturbed weights), optional bias [out].
    ///
    /// Output rows (one per output position) are computed a block at a time: the block's patches
    /// [rows, k·k·in] are gathered and multiplied by the filters [out, k·k·in]ᵀ in one sgemm.
    /// A row's result does not depend on the block it falls in.
    static func convolution(_ c: Convolution, input: UnsafePointer<Float>, images: Int, height: Int, width: Int,
                            weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                            output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        precondition(c.groups == 1, "ResNetKernels.convolution is for groups = 1")
        let rows = images * c.outputSize(height) * c.outputSize(width)
        let rowLength = c.kernel * c.kernel * c.inputs
        guard rows > 0 else { return }
        if let bias {
            for r in 0..<rows { (output + r * c.outputs).update(from: bias, count: c.outputs) }
        }
        let beta: Float = bias == nil ? 0 : 1
        // [out, in, 1, 1] already is the patch order [out, 1, 1, in].
        var filters = weight
        var patches = scratch
        if c.kernel > 1 {
            Patches.filters(c, pytorch: weight, into: scratch)
            filters = UnsafePointer(scratch)
            patches = scratch + c.outputs * rowLength
        }
        guard needsPatches(c) else {
            BLAS.gemm(transB: true, m: rows, n: c.outputs, k: rowLength, a: input, lda: rowLength,
                      b: filters, ldb: rowLength, beta: beta, c: output, ldc: c.outputs)
            return
        }
        let block = patchRowsPerBlock(rowLength: rowLength)
        var start = 0
        while start < rows {
            let end = min(rows, start + block)
            Patches.gather(c, input: input, height: height, width: width, rows: start..<end, into: patches)
            BLAS.gemm(transB: true, m: end - start, n: c.outputs, k: rowLength, a: patches, lda: rowLength,
                      b: filters, ldb: rowLength, beta: beta, c: output + start * c.outputs, ldc: c.outputs)
            start = end
        }
    }
}
