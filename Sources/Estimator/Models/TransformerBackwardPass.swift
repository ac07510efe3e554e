/// Reverse mode for a transformer language model at its anchor, written against its own forward
/// pass (`TransformerActivations`; no autodiff framework).
///
/// An example is one token position t of one sequence. Its logits depend on every earlier
/// position through attention, so its Jacobian row J_tᵀg — the gradient of g·logits_t — is the
/// sum over the whole prefix 0…t of every weight's uses, and squaring it needs a backward pass of
/// its own: from a cotangent at t alone, over positions 0…t. Until the first attention layer
/// (counting from the output) the gradient lives at position t only; from there on it spreads
/// to the whole prefix. Each example's gradient is assembled in one D-long vector, so the tied
/// GPT-2 embedding gets both of its uses (output head and token lookup) before it is squared,
/// and an embedding row gathered at several positions gets their sum.
///
/// `Scalar` is `Float` in production (sgemm) and `Double` in the finite-difference tests.
struct TransformerBackwardPass<Scalar: BLASScalar>: BackwardPass {
    let structure: TransformerStructure
    let tokens: TokenContext
    let theta: [Scalar]
    let activations: TransformerActivations<Scalar>
    private let anchorProbabilities: AnchorProbabilities?

    /// The anchor's output distribution (not computed for a pass built with `anchor: false`).
    var anchor: AnchorProbabilities {
        guard let anchorProbabilities else { preconditionFailure("a TransformerBackwardPass built without its anchor probabilities") }
        return anchorProbabilities
    }

    var dimension: Int { theta.count }
    var examples: Int { tokens.tokens }

    /// The forward pass of `model` at `theta` (its anchor when nil) on `tokens`; `anchor: false`
    /// skips the output softmax that the curvature reads (the LLC's loss does not).
    init(model: LanguageModel, tokens: TokenContext, theta: [Scalar]? = nil, anchor computeAnchor: Bool = true) throws(EstimatorError) {
        let theta = theta ?? model.anchor.map { Scalar($0) }
        precondition(theta.count == model.layout.count)
        structure = model.structure
        self.tokens = tokens
        self.theta = theta
        activations = theta.withUnsafeBufferPointer {
            TransformerActivations(structure: model.structure, tokens: tokens, theta: $0.baseAddress!)
        }
        guard computeAnchor else {
            anchorProbabilities = nil
            return
        }
        let logits = activations.logits.map { Double($0) }
        anchorProbabilities = try logits.withUnsafeBufferPointer { (l) throws(EstimatorError) in
            try AnchorProbabilities(logits: l, rows: tokens.tokens, classes: model.structure.vocabulary, included: tokens.included)
        }
    }

    /// The forward pass of `model` at `theta` on `tokens` recomputed over `previous`'s buffers
    /// (no anchor probabilities): the LLC's sampler builds one per step.
    init(model: LanguageModel, tokens: TokenContext, theta: [Scalar], reusing previous: consuming TransformerActivations<Scalar>) {
        precondition(theta.count == model.layout.count)
        structure = model.structure
        self.tokens = tokens
        self.theta = theta
        var activations = previous
        theta.withUnsafeBufferPointer {
            activations.recompute(structure: model.structure, tokens: tokens, theta: $0.baseAddress!)
        }
        self.activations = activations
        anchorProbabilities = nil
    }

    /// Adds Σ_e J_eᵀg_e over every position of the batch to `sum` (`cotangents` is [tokens,
    /// vocabulary]), with δ buffers kept in `scratch` across calls (made when nil).
    func pullbackSum(cotangents: UnsafePointer<Scalar>, into sum: UnsafeMutablePointer<Scalar>, scratch: inout Scratch?) {
        if scratch == nil || scratch!.rows != tokens.tokens || scratch!.length != tokens.length {
            scratch = Scratch(structure, rows: tokens.tokens, length: tokens.length)
        }
        backwardAll(cotangents: cotangents, scratch: scratch!, into: sum)
    }

    func pullback(examples: Range<Int>, cotangents: UnsafePointer<Scalar>,
                  sum: UnsafeMutablePointer<Scalar>?, squares: UnsafeMutablePointer<Scalar>?) {
        if let sum, squares == nil, examples == 0..<tokens.tokens {
            // Every position: one pass over the whole batch, with batch-wide weight GEMMs.
            let scratch = Scratch(structure, rows: tokens.tokens, length: tokens.length)
            backwardAll(cotangents: cotangents, scratch: scratch, into: sum)
            return
        }
        let scratch = Scratch(structure, rows: tokens.length, length: tokens.length)
        if let sum {
            // Σ_e J_eᵀg_e is linear: one pass per sequence from all of its cotangents at once.
            let length = tokens.length
            var start = examples.lowerBound
            while start < examples.upperBound {
                let sequence = start / length
                let end = min(examples.upperBound, (sequence + 1) * length)
                backward(sequence: sequence, length: end - sequence * length, first: start - sequence * length,
                         cotangents: cotangents + (start - examples.lowerBound) * structure.vocabulary,
                         scratch: scratch, into: sum)
                start = end
            }
        }
        if let squares {
            var gradient = [Scalar](repeating: 0, count: dimension)
            gradient.withUnsafeMutableBufferPointer { g in
                for example in examples {
                    let cotangent = cotangents + (example - examples.lowerBound) * structure.vocabulary
                    guard exampleGradient(example, cotangent: cotangent, scratch: scratch, into: g.baseAddress!) else { continue }
                    for i in 0..<g.count { squares[i] += g[i] * g[i] }
                }
            }
        }
    }

    func jacobianRows(examples: Range<Int>, cotangents: UnsafePointer<Scalar>, into rows: UnsafeMutablePointer<Scalar>) {
        let scratch = Scratch(structure, rows: tokens.length, length: tokens.length)
        for example in examples {
            let offset = example - examples.lowerBound
            let row = rows + offset * dimension
            if !exampleGradient(example, cotangent: cotangents + offset * structure.vocabulary, scratch: scratch, into: row) {
                row.update(repeating: 0, count: dimension)
            }
        }
    }

    /// Writes J_eᵀg of one position to `gradient` (D long); false, writing nothing, when g = 0
    /// (a position the KL does not count).
    private func exampleGradient(_ example: Int, cotangent: UnsafePointer<Scalar>, scratch: Scratch,
                                 into gradient: UnsafeMutablePointer<Scalar>) -> Bool {
        guard (0..<structure.vocabulary).contains(where: { cotangent[$0] != 0 }) else { return false }
        gradient.update(repeating: 0, count: dimension)
        let position = example % tokens.length
        backward(sequence: example / tokens.length, length: position + 1, first: position,
                 cotangents: cotangent, scratch: scratch, into: gradient)
        return true
    }

    /// Adds the gradient of Σ_t g_t·logits_t over positions t in `first..<length` of `sequence`
    /// to `gradient`; `cotangents` is [length − first, vocabulary]. Only positions 0..<length
    /// are visited: later ones cannot influence these logits.
    private func backward(sequence: Int, length: Int, first: Int, cotangents: UnsafePointer<Scalar>,
                          scratch: Scratch, into gradient: UnsafeMutablePointer<Scalar>) {
        let s = structure
        let h = s.hidden
        let base = sequence * tokens.length
        let rows = length - first
        let dHidden = scratch.hidden, dNormed = scratch.normed
        theta.withUnsafeBufferPointer { theta in
            let theta = theta.baseAddress!
            // Output head: logits = x·Wᵀ with W [vocabulary, hidden].
            activations.finalNorm.output.withUnsafeBufferPointer { x in
                Scalar.gemm(transA: true, transB: false, m: s.vocabulary, n: h, k: rows, alpha: 1,
                            a: cotangents, lda: s.vocabulary, b: x.baseAddress! + (base + first) * h, ldb: h,
                            beta: 1, c: gradient + s.head.offset, ldc: h)
            }
            Scalar.gemm(transA: false, transB: false, m: rows, n: h, k: s.vocabulary, alpha: 1,
                        a: cotangents, lda: s.vocabulary, b: theta + s.head.offset, ldb: h,
                        beta: 0, c: dNormed + first * h, ldc: h)
            dHidden.update(repeating: 0, count: length * h)
            Self.normBackward(s.finalNorm, activations.finalNorm, dNormed + first * h, rows: first..<length, base: base,
                              width: h, theta: theta, into: dHidden + first * h, gradient: gradient)
            // Rows before `support` of δhidden are zero.
            var support = first
            for (block, recorded) in zip(s.blocks, activations.blocks).reversed() {
                // Sequential: h'' = h' + feedForward(norm₂(h')), h' = h + attention(norm₁(h)), so
                // attention reads δh' after the feed-forward branch added to it. Parallel:
                // h' = h + attention(norm₁(h)) + feedForward(norm₂(h)), both branches read δh'.
                let dAttentionOutput: UnsafeMutablePointer<Scalar>
                if block.parallelResidual {
                    scratch.output.update(from: dHidden, count: length * h)
                    dAttentionOutput = scratch.output
                } else {
                    dAttentionOutput = dHidden
                }
                feedForward(block.feedForward, recorded, dOutput: dHidden, rows: support..<length, base: base,
                            theta: theta, scratch: scratch, into: dNormed, gradient: gradient)
                Self.normBackward(block.feedForwardNorm, recorded.feedForwardNorm, dNormed + support * h,
                                  rows: support..<length, base: base, width: h, theta: theta,
                                  into: dHidden + support * h, gradient: gradient)
                attention(block.attention, recorded, dOutput: dAttentionOutput, length: length, first: support,
                          base: base, sequence: sequence, theta: theta, scratch: scratch, into: dNormed,
                          gradient: gradient)
                Self.normBackward(block.attentionNorm, recorded.attentionNorm, dNormed, rows: 0..<length, base: base,
                                  width: h, theta: theta, into: dHidden, gradient: gradient)
                support = 0
            }
            embeddingBackward(dHidden + support * h, tokens: (base + support)..<(base + length), into: gradient)
        }
    }

    /// Adds the gradient of Σ_t g_t·logits_t over every position of the batch to `gradient`
    /// (`cotangents` is [tokens, vocabulary]): the same computation as `backward` for each
    /// sequence in turn, but with each linear map's GEMMs over all the batch's rows at once;
    /// only the attention core runs sequence by sequence. `scratch` holds `tokens` rows.
    private func backwardAll(cotangents: UnsafePointer<Scalar>, scratch: Scratch, into gradient: UnsafeMutablePointer<Scalar>) {
        let s = structure
        let h = s.hidden
        let n = tokens.tokens
        let dHidden = scratch.hidden, dNormed = scratch.normed
        theta.withUnsafeBufferPointer { theta in
            let theta = theta.baseAddress!
            activations.finalNorm.output.withUnsafeBufferPointer { x in
                Scalar.gemm(transA: true, transB: false, m: s.vocabulary, n: h, k: n, alpha: 1,
                            a: cotangents, lda: s.vocabulary, b: x.baseAddress!, ldb: h,
                            beta: 1, c: gradient + s.head.offset, ldc: h)
            }
            Scalar.gemm(transA: false, transB: false, m: n, n: h, k: s.vocabulary, alpha: 1,
                        a: cotangents, lda: s.vocabulary, b: theta + s.head.offset, ldb: h,
                        beta: 0, c: dNormed, ldc: h)
            dHidden.update(repeating: 0, count: n * h)
            Self.normBackward(s.finalNorm, activations.finalNorm, dNormed, rows: 0..<n, base: 0,
                              width: h, theta: theta, into: dHidden, gradient: gradient)
            for (block, recorded) in zip(s.blocks, activations.blocks).reversed() {
                let dAttentionOutput: UnsafeMutablePointer<Scalar>
                if block.parallelResidual {
                    scratch.output.update(from: dHidden, count: n * h)
                    dAttentionOutput = scratch.output
                } else {
                    dAttentionOutput = dHidden
                }
                feedForward(block.feedForward, recorded, dOutput: dHidden, rows: 0..<n, base: 0,
                            theta: theta, scratch: scratch, into: dNormed, gradient: gradient)
                Self.normBackward(block.feedForwardNorm, recorded.feedForwardNorm, dNormed, rows: 0..<n, base: 0,
                                  width: h, theta: theta, into: dHidden, gradient: gradient)
                attentionAll(block.attention, recorded, dOutput: dAttentionOutput, theta: theta, scratch: scratch,
                             into: dNormed, gradient: gradient)
                Self.normBackward(block.attentionNorm, recorded.attentionNorm, dNormed, rows: 0..<n, base: 0,
                                  width: h, theta: theta, into: dHidden, gradient: gradient)
            }
            embeddingBackward(dHidden, tokens: 0..<n, into: gradient)
        }
    }

    /// `attention` over every sequence of the batch: the projections' and output map's GEMMs
    /// over all rows, the attention core per sequence.
    private func attentionAll(_ a: TransformerStructure.Attention, _ recorded: TransformerActivations<Scalar>.Block,
                              dOutput: UnsafePointer<Scalar>, theta: UnsafePointer<Scalar>, scratch: Scratch,
                              into dInput: UnsafeMutablePointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>) {
        let h = structure.hidden
        let n = tokens.tokens
        let length = tokens.length
        let outWidth = a.heads * a.headDimension
        let width = a.projectionWidth
        let dAttended = scratch.attended, dProjection = scratch.projection
        recorded.attended.withUnsafeBufferPointer { o in
            a.output.accumulateGradient(dOutput, ldy: h, input: o.baseAddress!, rows: n, into: gradient)
        }
        a.output.inputGradient(dOutput, ldy: h, rows: n, theta: theta, into: dAttended, accumulate: false)
        recorded.projection.withUnsafeBufferPointer { p in
            recorded.probabilities.withUnsafeBufferPointer { w in
                for sequence in 0..<tokens.rows {
                    let base = sequence * length
                    a.backward(length: length, first: 0, stride: length, rotary: tokens.rotary,
                               dAttended: dAttended + base * outWidth, projection: p.baseAddress! + base * width,
                               probabilities: w.baseAddress! + sequence * a.heads * length * length,
                               dScores: scratch.scores, into: dProjection + base * width)
                }
            }
        }
        recorded.attentionNorm.output.withUnsafeBufferPointer { x in
            projectionBackward(a, dProjection: dProjection, input: x.baseAddress!, rows: n, theta: theta,
                               into: dInput, gradient: gradient)
        }
    }

    /// A norm's backward pass over `rows` (positions of the sequence starting at token `base`):
    /// δ of its input added to `dx`, its parameters' gradient to `gradient`.
    private static func normBackward(_ norm: TransformerStructure.Norm, _ recorded: TransformerActivations<Scalar>.Normalized,
                                     _ dy: UnsafePointer<Scalar>, rows: Range<Int>, base: Int, width: Int,
                                     theta: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>,
                                     gradient: UnsafeMutablePointer<Scalar>) {
        recorded.standardized.withUnsafeBufferPointer { x in
            recorded.inverseScale.withUnsafeBufferPointer { r in
                norm.backward(dy, rows: rows.count, width: width,
                              standardized: x.baseAddress! + (base + rows.lowerBound) * width,
                              inverseScale: r.baseAddress! + base + rows.lowerBound,
                              theta: theta, inputGradient: dx, gradient: gradient)
            }
        }
    }

    /// The feed-forward branch from δ of its output (`dOutput`, [length, hidden], rows `rows`)
    /// to δ of its input, written to the same rows of `dInput`.
    private func feedForward(_ f: TransformerStructure.FeedForward, _ recorded: TransformerActivations<Scalar>.Block,
                             dOutput: UnsafePointer<Scalar>, rows: Range<Int>, base: Int, theta: UnsafePointer<Scalar>,
                             scratch: Scratch, into dInput: UnsafeMutablePointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>) {
        let h = structure.hidden
        let inner = f.up.outputs
        let count = rows.count
        let first = base + rows.lowerBound
        let dOutput = dOutput + rows.lowerBound * h
        let dInner = scratch.inner, dGate = scratch.gate
        recorded.activated.withUnsafeBufferPointer { m in
            f.down.accumulateGradient(dOutput, ldy: h, input: m.baseAddress! + first * inner, rows: count, into: gradient)
        }
        f.down.inputGradient(dOutput, ldy: h, rows: count, theta: theta, into: dInner, accumulate: false)
        recorded.slope.withUnsafeBufferPointer { slope in
            let slope = slope.baseAddress! + first * inner
            if f.gate != nil {
                // m = f(g)∘u: δu = δm∘f(g), δg = δm∘u∘f′(g).
                recorded.up.withUnsafeBufferPointer { u in
                    recorded.gateActivated.withUnsafeBufferPointer { fg in
                        let u = u.baseAddress! + first * inner, fg = fg.baseAddress! + first * inner
                        for i in 0..<(count * inner) {
                            let dm = dInner[i]
                            dGate[i] = dm * u[i] * slope[i]
                            dInner[i] = dm * fg[i]
                        }
                    }
                }
            } else {
                for i in 0..<(count * inner) { dInner[i] *= slope[i] }
            }
        }
        let dx = dInput + rows.lowerBound * h
        recorded.feedForwardNorm.output.withUnsafeBufferPointer { x in
            let x = x.baseAddress! + first * h
            f.up.accumulateGradient(dInner, ldy: inner, input: x, rows: count, into: gradient)
            f.up.inputGradient(dInner, ldy: inner, rows: count, theta: theta, into: dx, accumulate: false)
            if let gate = f.gate {
                gate.accumulateGradient(dGate, ldy: inner, input: x, rows: count, into: gradient)
                gate.inputGradient(dGate, ldy: inner, rows: count, theta: theta, into: dx, accumulate: true)
            }
        }
    }

    /// The attention branch from δ of its output (`dOutput`, [length, hidden], nonzero in rows
    /// `first..<length`) to δ of its input over all rows 0..<length, written to `dInput`.
    private func attention(_ a: TransformerStructure.Attention, _ recorded: TransformerActivations<Scalar>.Block,
                           dOutput: UnsafePointer<Scalar>, length: Int, first: Int, base: Int, sequence: Int,
                           theta: UnsafePointer<Scalar>, scratch: Scratch,
                           into dInput: UnsafeMutablePointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>) {
        let h = structure.hidden
        let outWidth = a.heads * a.headDimension
        let width = a.projectionWidth
        let rows = length - first
        let dAttended = scratch.attended, dProjection = scratch.projection
        let dOutput = dOutput + first * h
        recorded.attended.withUnsafeBufferPointer { o in
            a.output.accumulateGradient(dOutput, ldy: h, input: o.baseAddress! + (base + first) * outWidth, rows: rows, into: gradient)
        }
        a.output.inputGradient(dOutput, ldy: h, rows: rows, theta: theta, into: dAttended + first * outWidth, accumulate: false)
        recorded.projection.withUnsafeBufferPointer { p in
            recorded.probabilities.withUnsafeBufferPointer { w in
                let stride = tokens.length
                a.backward(length: length, first: first, stride: stride, rotary: tokens.rotary,
                           dAttended: dAttended, projection: p.baseAddress! + base * width,
                           probabilities: w.baseAddress! + sequence * a.heads * stride * stride,
                           dScores: scratch.scores, into: dProjection)
            }
        }
        recorded.attentionNorm.output.withUnsafeBufferPointer { x in
            projectionBackward(a, dProjection: dProjection, input: x.baseAddress! + base * h, rows: length, theta: theta,
                               into: dInput, gradient: gradient)
        }
    }

    /// The query/key/value projections' backward pass over `rows` rows of `input` (the attention
    /// norm's output): their weights' gradient added to `gradient`, δ of the input written to `dInput`.
    private func projectionBackward(_ a: TransformerStructure.Attention, dProjection: UnsafePointer<Scalar>,
                                    input x: UnsafePointer<Scalar>, rows: Int, theta: UnsafePointer<Scalar>,
                                    into dInput: UnsafeMutablePointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>) {
        let width = a.projectionWidth
        switch a.projection {
        case .fused(let qkv):
            qkv.accumulateGradient(dProjection, ldy: width, input: x, rows: rows, into: gradient)
            qkv.inputGradient(dProjection, ldy: width, rows: rows, theta: theta, into: dInput, accumulate: false)
        case .separate(let q, let k, let v):
            q.accumulateGradient(dProjection + a.queryColumns[0], ldy: width, input: x, rows: rows, into: gradient)
            k.accumulateGradient(dProjection + a.keyColumns[0], ldy: width, input: x, rows: rows, into: gradient)
            v.accumulateGradient(dProjection + a.valueColumns[0], ldy: width, input: x, rows: rows, into: gradient)
            q.inputGradient(dProjection + a.queryColumns[0], ldy: width, rows: rows, theta: theta, into: dInput, accumulate: false)
            k.inputGradient(dProjection + a.keyColumns[0], ldy: width, rows: rows, theta: theta, into: dInput, accumulate: true)
            v.inputGradient(dProjection + a.valueColumns[0], ldy: width, rows: rows, theta: theta, into: dInput, accumulate: true)
        }
    }

    /// Embedding lookups of the batch's tokens `range` (δ of their rows from `dHidden`, which
    /// starts at `range.lowerBound`): a row gathered at several positions gets their sum.
    private func embeddingBackward(_ dHidden: UnsafePointer<Scalar>, tokens range: Range<Int>,
                                   into gradient: UnsafeMutablePointer<Scalar>) {
        let s = structure
        let h = s.hidden
        for token in range {
            let d = dHidden + (token - range.lowerBound) * h
            let row = gradient + s.tokenEmbedding.offset + tokens.ids[token] * h
            for j in 0..<h { row[j] += d[j] }
            if let positions = s.positionEmbedding {
                let row = gradient + positions.offset + (token % tokens.length) * h
                for j in 0..<h { row[j] += d[j] }
            }
        }
    }

    /// δ buffers for one sequence's backward pass, allocated once per `pullback` call.
    final class Scratch {
        let rows: Int
        let length: Int
        /// δ of the residual stream, [length, hidden].
        let hidden: UnsafeMutablePointer<Scalar>
        /// δ of a norm's output, [length, hidden].
        let normed: UnsafeMutablePointer<Scalar>
        /// δ of a parallel block's output, [length, hidden].
        let output: UnsafeMutablePointer<Scalar>
        let projection: UnsafeMutablePointer<Scalar>
        let attended: UnsafeMutablePointer<Scalar>
        let inner: UnsafeMutablePointer<Scalar>
        let gate: UnsafeMutablePointer<Scalar>
        /// [length, length].
        let scores: UnsafeMutablePointer<Scalar>
        private let buffers: [UnsafeMutablePointer<Scalar>]

        /// Buffers for `rows` positions (one sequence, or the whole batch) of sequences `length` long.
        init(_ s: TransformerStructure, rows: Int, length: Int) {
            (self.rows, self.length) = (rows, length)
            let sizes = [s.hidden, s.hidden, s.hidden, s.widestProjection, s.widestAttentionOutput,
                         s.widestFeedForward, s.widestFeedForward].map { $0 * rows } + [length * length]
            buffers = sizes.map { UnsafeMutablePointer<Scalar>.allocate(capacity: max(1, $0)) }
            (hidden, normed, output, projection) = (buffers[0], buffers[1], buffers[2], buffers[3])
            (attended, inner, gate, scores) = (buffers[4], buffers[5], buffers[6], buffers[7])
        }

        deinit {
            for buffer in buffers { buffer.deallocate() }
        }
    }
}

extension LanguageModel: CurvatureModel {
    public func backwardPass(data: EvalData) throws(EstimatorError) -> any BackwardPass<Float> {
        try TransformerBackwardPass<Float>(model: self, tokens: try tokenContext(data))
    }
}
