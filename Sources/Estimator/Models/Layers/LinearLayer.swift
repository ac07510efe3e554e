extension TransformerStructure.Linear {
    /// y[rows, outputs] (row stride `ldy`) = x·W + b, or y += x·W + b when `accumulate`, with W and
    /// b read from `parameters`. `x` is [rows, inputs], contiguous.
    @inline(__always)
    func apply<P: ParameterSource>(_ x: UnsafePointer<Float>, rows: Int, parameters: P,
               into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool = false) {
        // The bias goes into y first and the product is added to it: one pass over y instead of
        // BLAS clearing it and a second pass adding the bias.
        if let bias {
            let b = parameters(bias)
            for r in 0..<rows {
                let row = y + r * ldy
                if accumulate {
                    for j in 0..<outputs { row[j] += b[j] }
                } else {
                    for j in 0..<outputs { row[j] = b[j] }
                }
            }
        }
        BLAS.gemm(transB: !inputMajor, m: rows, n: outputs, k: inputs,
                  a: x, lda: inputs,
                  b: parameters(weight), ldb: inputMajor ? outputs : inputs,
                  beta: accumulate || bias != nil ? 1 : 0,
                  c: y, ldc: ldy)
    }
}
