/// Reverse mode for a vision classifier at its anchor. An example is one image; its cotangent is
/// a row of [images, classes]. Images run in chunks of `imagesPerChunk`: the chunk's forward
/// pass is recomputed (`VisionTape`: a tape for every eval image would take gigabytes for an
/// Atto-width model) and δ runs back through it with GEMMs over the whole chunk; the weight
/// gradients are per image (one GEMM each), because squares and Jacobian rows are per image and a
/// convolution's gradient sums over the image's positions before it is squared.
///
/// Chunks run on `threads` workers. Sums and squares go to a fixed number of partitions of the
/// chunks (not one per thread), added in partition order: the result does not depend on the
/// thread count.
///
/// `Scalar` is `Float` in production (sgemm) and `Double` in the finite-difference tests.
struct VisionBackwardPass<Scalar: BLASScalar>: BackwardPass, Sendable {
    let structure: VisionStructure
    let theta: [Scalar]
    /// The eval images, channels-last [examples, shape].
    let pixels: [Scalar]
    let shape: FeatureShape
    let examples: Int
    let threads: Int
    let anchor: AnchorProbabilities
    /// The anchor's logits, [examples, classes].
    let logits: [Scalar]

    static var imagesPerChunk: Int { 8 }
    /// At most this many partial sums of D scalars each.
    static var partitions: Int { 4 }

    var dimension: Int { theta.count }
    var classes: Int { structure.classes }

    /// The anchor's forward pass of `structure` at `theta` on `pixels` [N, H, W, C] (channels-last).
    // Specialized: the pass is reached through `any BackwardPass<Float>`, whose witnesses would
    // otherwise run the generic code with boxed scalars (tens of times slower).
    @_specialize(where Scalar == Float)
    init(structure: VisionStructure, theta: [Scalar], pixels: Tensor<Float>, threads: Int = WorkerPool.coreCount) throws(EstimatorError) {
        precondition(pixels.rank == 4 && pixels.shape[3] == structure.inputChannels)
        self.structure = structure
        self.theta = theta
        self.pixels = pixels.scalars.map { Scalar($0) }
        shape = FeatureShape(height: pixels.shape[1], width: pixels.shape[2], channels: pixels.shape[3])
        let examples = pixels.shape[0]
        self.examples = examples
        let threads = max(1, threads)
        self.threads = threads
        let chunks = Self.chunks(0..<examples)
        let classes = structure.classes
        var logits = [Scalar](repeating: 0, count: examples * classes)
        let x = self.pixels
        let shape = self.shape
        logits.withUnsafeMutableBufferPointer { out in
            let out = SendableBuffer(out)
            WorkerPool.run(threads: threads, count: chunks.count) { _, i in
                let tape = Self.tape(structure, theta: theta, pixels: x, shape: shape, chunks[i], keep: false)
                for (j, v) in tape.logits.enumerated() { out.buffer[chunks[i].lowerBound * classes + j] = v }
            }
        }
        self.logits = logits
        let float64 = logits.map { Double($0) }
        anchor = try float64.withUnsafeBufferPointer { (l) throws(EstimatorError) in
            try AnchorProbabilities(logits: l, rows: examples, classes: classes)
        }
    }

    /// `range` cut into chunks of at most `imagesPerChunk` images.
    static func chunks(_ range: Range<Int>) -> [Range<Int>] {
        stride(from: range.lowerBound, to: range.upperBound, by: imagesPerChunk).map { $0..<min(range.upperBound, $0 + imagesPerChunk) }
    }

    /// The forward pass on the images `range` of `pixels`.
    static func tape(_ structure: VisionStructure, theta: [Scalar], pixels: [Scalar], shape: FeatureShape, _ range: Range<Int>,
                     keep: Bool = true) -> VisionTape<Scalar> {
        let x = Array(pixels[(range.lowerBound * shape.count)..<(range.upperBound * shape.count)])
        return theta.withUnsafeBufferPointer {
            VisionTape(structure, pixels: x, images: range.count, shape: shape, theta: $0.baseAddress!, keep: keep)
        }
    }

    /// Runs the images `range` back from `cotangents` ([range.count, classes]).
    func backward(_ range: Range<Int>, cotangents: UnsafePointer<Scalar>, deliver: VisionTape<Scalar>.Delivery) {
        let tape = Self.tape(structure, theta: theta, pixels: pixels, shape: shape, range)
        theta.withUnsafeBufferPointer {
            tape.backward(structure, cotangents: cotangents, theta: $0.baseAddress!, deliver: deliver)
        }
    }

    @_specialize(where Scalar == Float)
    func pullback(examples: Range<Int>, cotangents: UnsafePointer<Scalar>,
                  sum: UnsafeMutablePointer<Scalar>?, squares: UnsafeMutablePointer<Scalar>?) {
        guard sum != nil || squares != nil else { return }
        let chunks = Self.chunks(examples)
        let partitions = min(chunks.count, Self.partitions)
        guard partitions > 0 else { return }
        let d = dimension
        // Partition 0 adds into the caller's vectors; the others into zeroed partial sums.
        var partialSums = [Scalar](repeating: 0, count: sum == nil ? 0 : (partitions - 1) * d)
        var partialSquares = [Scalar](repeating: 0, count: squares == nil ? 0 : (partitions - 1) * d)
        let outputs = SendableAccumulators(sum: sum, squares: squares)
        let cotangents = SendableAddress(cotangents)
        let lower = examples.lowerBound
        partialSums.withUnsafeMutableBufferPointer { ps in
            partialSquares.withUnsafeMutableBufferPointer { pq in
                let (ps, pq) = (SendableBuffer(ps), SendableBuffer(pq))
                let pass = self
                WorkerPool.run(threads: threads, count: partitions) { _, q in
                    let sum = outputs.sum.map { q == 0 ? $0 : ps.buffer.baseAddress! + (q - 1) * d }
                    let squares = outputs.squares.map { q == 0 ? $0 : pq.buffer.baseAddress! + (q - 1) * d }
                    // Partition q takes a contiguous run of chunks.
                    let first = q * chunks.count / partitions, end = (q + 1) * chunks.count / partitions
                    for chunk in chunks[first..<end] {
                        pass.backward(chunk, cotangents: cotangents.pointer + (chunk.lowerBound - lower) * pass.classes) { parameter, g in
                            let images = chunk.count
                            let (count, offset) = (parameter.count, parameter.offset)
                            if let sum {
                                for n in 0..<images {
                                    for i in 0..<count { sum[offset + i] += g[n * count + i] }
                                }
                            }
                            if let squares {
                                for n in 0..<images {
                                    for i in 0..<count { squares[offset + i] += g[n * count + i] * g[n * count + i] }
                                }
                            }
                        }
                    }
                }
            }
        }
        for q in 1..<partitions {
            if let sum { for i in 0..<d { sum[i] += partialSums[(q - 1) * d + i] } }
            if let squares { for i in 0..<d { squares[i] += partialSquares[(q - 1) * d + i] } }
        }
    }

    @_specialize(where Scalar == Float)
    func jacobianRows(examples: Range<Int>, cotangents: UnsafePointer<Scalar>, into rows: UnsafeMutablePointer<Scalar>) {
        let d = dimension
        rows.update(repeating: 0, count: examples.count * d)
        let chunks = Self.chunks(examples)
        let (rows, cotangents) = (SendableBuffer(UnsafeMutableBufferPointer(start: rows, count: examples.count * d)), SendableAddress(cotangents))
        let lower = examples.lowerBound
        let pass = self
        WorkerPool.run(threads: threads, count: chunks.count) { _, i in
            let chunk = chunks[i]
            pass.backward(chunk, cotangents: cotangents.pointer + (chunk.lowerBound - lower) * pass.classes) { parameter, g in
                for n in 0..<chunk.count {
                    let row = rows.buffer.baseAddress! + (chunk.lowerBound - lower + n) * d + parameter.offset
                    row.update(from: g + n * parameter.count, count: parameter.count)
                }
            }
        }
    }
}

/// The caller's sum and squares vectors, written by partition 0's worker only.
private struct SendableAccumulators<Scalar>: @unchecked Sendable {
    let sum: UnsafeMutablePointer<Scalar>?
    let squares: UnsafeMutablePointer<Scalar>?
}
