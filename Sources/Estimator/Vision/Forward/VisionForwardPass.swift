/// The forward pass of a vision model over a fixed batch of channels-last pixel values along a
/// ray, segment by segment (`VisionProgram`): each segment's perturbed weights θ0 + t·v̂ are
/// written once into a window (and its convolution filters reordered), then its chunks of
/// images run on the lanes, each chunk through all of the segment's ops with activations in
/// that lane's slots. Between segments the batch's activations wait in a boundary buffer.
///
/// Each image's numbers depend only on the fixed chunking, never on which lane ran a chunk, so
/// the logits are the same bit for bit for any number of lanes.
struct VisionForwardPass: Sendable {
    let program: VisionProgram
    /// [images, height, width, channels].
    let pixels: [Float]
    let classes: Int

    init(structure: VisionStructure, pixels: Tensor<Float>, rowsPerChunk: Int = VisionProgram.defaultRowsPerChunk) {
        precondition(pixels.rank == 4 && pixels.shape[3] == structure.inputChannels)
        program = VisionProgram(structure: structure, height: pixels.shape[1], width: pixels.shape[2], images: pixels.shape[0],
                                rowsPerChunk: rowsPerChunk)
        self.pixels = pixels.scalars
        classes = structure.classes
    }

    var images: Int { program.images }

    /// The logits [images, classes] at anchor + t·direction (the anchor itself without a
    /// direction), into `state.logits`, on `state.lanes` threads.
    func evaluate(anchor a: UnsafePointer<Float>, direction: RayDirection?, t: Float, state: VisionForwardState) {
        let anchor = SendableAddress(a)
        let lanes = state.lanes
        pixels.withUnsafeBufferPointer { pixelBuffer in
            let pixelAddress = SendableAddress(pixelBuffer.baseAddress!)
            for (s, segment) in program.segments.enumerated() {
                state.load(segment, anchor: anchor.pointer, direction: direction, t: t)
                let input: UnsafePointer<Float> = s == 0 ? pixelAddress.pointer : UnsafePointer(state.boundary(s - 1))
                let output = s == program.segments.count - 1 ? state.logits.baseAddress! : state.boundary(s)
                let from = SendableAddress(input), to = SendableBuffer(UnsafeMutableBufferPointer(start: output, count: 0))
                let chunks = program.chunks(s)
                WorkerPool.run(threads: lanes, count: chunks.count) { lane, i in
                    let images = chunks[i]
                    state.lane(lane).run(segment, images: images.count,
                                         input: from.pointer + images.lowerBound * segment.input.count,
                                         output: to.buffer.baseAddress! + images.lowerBound * segment.output.count,
                                         weights: state.weights(segment), filters: state.filters.baseAddress!)
                }
            }
        }
    }
}

/// What one evaluator's forward passes write: the weight window and reordered filters, two
/// boundary buffers, the logits, and per lane its slots and scratch.
final class VisionForwardState: @unchecked Sendable {
    let lanes: Int
    let window: UnsafeMutableBufferPointer<Float>
    let filters: UnsafeMutableBufferPointer<Float>
    let boundaries: UnsafeMutableBufferPointer<Float>
    let logits: UnsafeMutableBufferPointer<Float>
    private let laneStates: [VisionLane]
    private let boundaryFloats: Int

    /// Window elements written as one piece of work: lanes share a segment's load.
    static let piece = 1 << 16

    init(_ pass: VisionForwardPass, lanes: Int) {
        let program = pass.program
        self.lanes = Self.lanes(program, lanes)
        window = .allocate(capacity: max(1, program.windowFloats))
        filters = .allocate(capacity: max(1, program.filterFloats))
        boundaryFloats = program.boundaryFloats
        boundaries = .allocate(capacity: max(1, 2 * program.boundaryFloats))
        logits = .allocate(capacity: program.images * pass.classes)
        laneStates = (0..<self.lanes).map { _ in VisionLane(program) }
    }

    deinit {
        window.deallocate()
        filters.deallocate()
        boundaries.deallocate()
        logits.deallocate()
    }

    /// More lanes than the widest segment has chunks would only wait.
    static func lanes(_ program: VisionProgram, _ lanes: Int) -> Int {
        max(1, min(lanes, program.segments.indices.map { program.chunks($0).count }.max()!))
    }

    /// Bytes a state for `pass` on `lanes` lanes holds, without allocating it.
    static func byteCount(_ pass: VisionForwardPass, lanes: Int) -> Int {
        let p = pass.program
        return (p.windowFloats + p.filterFloats + 2 * p.boundaryFloats + p.images * pass.classes
                + Self.lanes(p, lanes) * VisionLane.floats(p)) * MemoryLayout<Float>.stride
    }

    var byteCount: Int {
        (window.count + filters.count + boundaries.count + logits.count) * MemoryLayout<Float>.stride
            + laneStates.reduce(0) { $0 + $1.byteCount }
    }

    func lane(_ i: Int) -> VisionLane { laneStates[i] }

    /// The batch's activations after segment `s` (alternating buffers).
    func boundary(_ s: Int) -> UnsafeMutablePointer<Float> { boundaries.baseAddress! + (s % 2) * boundaryFloats }

    /// θ as the segment's instructions address it: window element 0 is θ element
    /// `segment.parameters.lowerBound`.
    func weights(_ segment: VisionProgram.Segment) -> UnsafePointer<Float> {
        UnsafePointer(window.baseAddress! - segment.parameters.lowerBound)
    }

    /// Writes the segment's weights at anchor + t·direction into the window, in pieces shared by
    /// the lanes (each element by the same arithmetic whatever their number), then its
    /// reordered filters.
    func load(_ segment: VisionProgram.Segment, anchor: UnsafePointer<Float>, direction: RayDirection?, t: Float) {
        let range = segment.parameters
        let pieces = (range.count + Self.piece - 1) / Self.piece
        let anchorAddress = SendableAddress(anchor), window = SendableBuffer(self.window)
        WorkerPool.run(threads: lanes, count: pieces) { _, piece in
            let lo = range.lowerBound + piece * Self.piece, hi = min(range.upperBound, lo + Self.piece)
            let out = window.buffer.baseAddress! + (lo - range.lowerBound)
            if let direction {
                direction.perturbed(lo..<hi, anchor: anchorAddress.pointer + lo, t: t, into: out)
            } else {
                out.update(from: anchorAddress.pointer + lo, count: hi - lo)
            }
        }
        let theta = weights(segment)
        for filter in segment.filters {
            let c = filter.convolution
            let to = filters.baseAddress! + filter.offset
            if c.isDepthwise {
                ConvNeXtKernels.depthwiseFilters(c, pytorch: theta + c.weight.offset, into: to)
            } else {
                Patches.filters(c, pytorch: theta + c.weight.offset, into: to)
            }
        }
    }
}

/// One lane's slots and scratch, and the interpreter of a segment's instructions.
final class VisionLane: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Float>
    private let scratch: UnsafeMutableBufferPointer<Float>
    private let slotFloats: Int

    init(_ program: VisionProgram) {
        slotFloats = program.slotFloats
        slots = .allocate(capacity: program.slots * program.slotFloats)
        scratch = .allocate(capacity: max(1, program.scratchFloats))
    }

    deinit {
        slots.deallocate()
        scratch.deallocate()
    }

    static func floats(_ program: VisionProgram) -> Int {
        program.slots * program.slotFloats + max(1, program.scratchFloats)
    }

    var byteCount: Int { (slots.count + scratch.count) * MemoryLayout<Float>.stride }

    private func slot(_ i: Int) -> UnsafeMutablePointer<Float> { slots.baseAddress! + i * slotFloats }

    /// Runs `segment` on `images` images from `input` into `output`, with θ addressed by
    /// `weights` and the reordered filters in `filters`.
    func run(_ segment: VisionProgram.Segment, images: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
             weights w: UnsafePointer<Float>, filters: UnsafePointer<Float>) {
        slot(0).update(from: input, count: images * segment.input.count)
        let scratch = self.scratch.baseAddress!
        for instruction in segment.instructions {
            switch instruction {
            case .patchwise(let c, let from, let to, let shape, let offset):
                ConvNeXtKernels.patchwise(c, input: slot(from), images: images, shape: shape,
                                          filters: offset.map { filters + $0 } ?? w + c.weight.offset,
                                          bias: c.bias.map { w + $0.offset }, output: slot(to), scratch: scratch)
            case .depthwise(let c, let from, let to, let shape, let offset):
                ConvNeXtKernels.depthwise(c, input: slot(from), images: images, shape: shape, filters: filters + offset,
                                          bias: c.bias.map { w + $0.offset }, output: slot(to))
            case .convolution(let c, let from, let to, let shape):
                ResNetKernels.convolution(c, input: slot(from), images: images, height: shape.height, width: shape.width,
                                          weight: w + c.weight.offset, bias: c.bias.map { w + $0.offset },
                                          output: slot(to), scratch: scratch)
            case .layerNorm(let n, let s, let positions):
                ConvNeXtKernels.layerNorm(slot(s), positions: images * positions, channels: n.channels, epsilon: n.epsilon,
                                          weight: w + n.weight.offset, bias: w + n.bias.offset)
            case .batchNorm(let n, let s, let positions):
                ResNetKernels.batchNorm(n, data: slot(s), positions: images * positions,
                                        weight: w + n.weight.offset, bias: w + n.bias.offset)
            case .globalResponseNorm(let g, let s, let positions):
                ConvNeXtKernels.globalResponseNorm(slot(s), images: images, positions: positions, channels: g.channels,
                                                   weight: w + g.weight.offset, bias: w + g.bias.offset, scratch: scratch)
            case .activation(let a, let s, let count):
                ConvNeXtKernels.activate(a, slot(s), count: images * count)
            case .layerScale(let p, let s, let positions):
                ConvNeXtKernels.layerScale(slot(s), positions: images * positions, channels: p.count, scale: w + p.offset)
            case .maxPool(let kernel, let stride, let padding, let from, let to, let shape):
                ResNetKernels.maxPool(kernel: kernel, stride: stride, padding: padding, input: slot(from), images: images,
                                      height: shape.height, width: shape.width, channels: shape.channels, output: slot(to))
            case .globalAveragePool(let from, let to, let shape):
                ConvNeXtKernels.globalAveragePool(slot(from), images: images, positions: shape.positions, channels: shape.channels,
                                                  output: slot(to))
            case .linear(let l, let from, let to, let positions):
                MLP.linear(slot(from), rows: images * positions, inputs: l.inputs, outputs: l.outputs,
                           weight: w + l.weight.offset, bias: l.bias.map { w + $0.offset }, into: slot(to))
            case .copy(let from, let to, let count):
                slot(to).update(from: slot(from), count: images * count)
            case .add(let from, let into, let count):
                ConvNeXtKernels.add(slot(from), into: slot(into), count: images * count)
            }
        }
        output.update(from: slot(segment.outputSlot), count: images * segment.output.count)
    }
}
