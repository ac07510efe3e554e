/// The affine map in any `BLASScalar`, for the curvature's backward pass: its own forward pass,
/// the gradient of the input and the gradient of the weights. Written as y = x·M + b with
/// M = Wᵀ for a weight stored [out, in] (`torch.nn.Linear`) and M = W for [in, out] (`Conv1D`).
extension TransformerStructure.Linear {
    /// y[rows, outputs] (row stride `ldy`) = x·M + b, or y += x·M + b when `accumulate`.
    /// `x` is [rows, inputs], contiguous.
    func forward<S: BLASScalar>(_ x: UnsafePointer<S>, rows: Int, theta: UnsafePointer<S>,
                                into y: UnsafeMutablePointer<S>, ldy: Int, accumulate: Bool = false) {
        S.gemm(transA: false, transB: !inputMajor, m: rows, n: outputs, k: inputs, alpha: 1,
               a: x, lda: inputs, b: theta + weight.offset, ldb: inputMajor ? outputs : inputs,
               beta: accumulate ? 1 : 0, c: y, ldc: ldy)
        if let bias {
            let b = theta + bias.offset
            for r in 0..<rows {
                let row = y + r * ldy
                for j in 0..<outputs { row[j] += b[j] }
            }
        }
    }

    /// δx = δy·Mᵀ, or δx += δy·Mᵀ when `accumulate`: δy is [rows, outputs] (row stride `ldy`),
    /// δx [rows, inputs], contiguous.
    func inputGradient<S: BLASScalar>(_ dy: UnsafePointer<S>, ldy: Int, rows: Int, theta: UnsafePointer<S>,
                                      into dx: UnsafeMutablePointer<S>, accumulate: Bool) {
        S.gemm(transA: false, transB: inputMajor, m: rows, n: inputs, k: outputs, alpha: 1,
               a: dy, lda: ldy, b: theta + weight.offset, ldb: inputMajor ? outputs : inputs,
               beta: accumulate ? 1 : 0, c: dx, ldc: inputs)
    }

    /// Adds the gradient of Σ δy·y over `rows` rows to `gradient` (flat layout): δyᵀ·x at a
    /// [out, in] weight, xᵀ·δy at an [in, out] one, Σ δy at the bias. `x` is the rows' input,
    /// [rows, inputs], contiguous.
    func accumulateGradient<S: BLASScalar>(_ dy: UnsafePointer<S>, ldy: Int, input x: UnsafePointer<S>, rows: Int,
                                           into gradient: UnsafeMutablePointer<S>) {
        if inputMajor {
            S.gemm(transA: true, transB: false, m: inputs, n: outputs, k: rows, alpha: 1,
                   a: x, lda: inputs, b: dy, ldb: ldy, beta: 1, c: gradient + weight.offset, ldc: outputs)
        } else {
            S.gemm(transA: true, transB: false, m: outputs, n: inputs, k: rows, alpha: 1,
                   a: dy, lda: ldy, b: x, ldb: inputs, beta: 1, c: gradient + weight.offset, ldc: inputs)
        }
        if let bias {
            let b = gradient + bias.offset
            for r in 0..<rows {
                let row = dy + r * ldy
                for j in 0..<outputs { b[j] += row[j] }
            }
        }
    }
}
