/// A `VisionStructure` compiled for one image size: its ops as instructions over numbered
/// activation slots, cut into segments at the ops that shrink the image (the stem when it
/// strides, each stage's downsampling, the pooling before the head).
///
/// A segment runs over the eval batch in chunks of whole images, each chunk on one lane through
/// all the segment's instructions; the next segment starts from the batch's activations at the
/// boundary. Chunks hold about `rowsPerChunk` positions (images × height × width), so later
/// segments, with fewer positions per image, take more images at once: their pointwise layers
/// stay sgemms of a useful height while their weights are read once per chunk.
struct VisionProgram: Sendable {
    enum Instruction: Sendable {
        /// Non-overlapping convolution (kernel = stride, no padding): patches gathered into the
        /// scratch (unless the kernel is 1×1) and one sgemm against the filters reordered to
        /// [out, k, k, in] at `filters` in the prepared-filter buffer (`nil`: 1×1, read in place).
        case patchwise(Convolution, from: Int, to: Int, input: FeatureShape, filters: Int?)
        /// Depthwise convolution, filters reordered to [k, k, channels] at `filters`.
        case depthwise(Convolution, from: Int, to: Int, input: FeatureShape, filters: Int)
        /// Any other convolution (ResNet's), by `ResNetKernels`.
        case convolution(Convolution, from: Int, to: Int, input: FeatureShape)
        case layerNorm(ChannelNorm, slot: Int, positions: Int)
        case batchNorm(BatchNorm, slot: Int, positions: Int)
        case globalResponseNorm(GlobalResponseNorm, slot: Int, positions: Int)
        /// `count` elements per image.
        case activation(Activation, slot: Int, count: Int)
        case layerScale(Parameter, slot: Int, positions: Int)
        case maxPool(kernel: Int, stride: Int, padding: Int, from: Int, to: Int, input: FeatureShape)
        case globalAveragePool(from: Int, to: Int, input: FeatureShape)
        case linear(PointwiseLinear, from: Int, to: Int, positions: Int)
        /// `count` elements per image.
        case copy(from: Int, to: Int, count: Int)
        case add(from: Int, into: Int, count: Int)
    }

    /// A filter to reorder after a segment's weights are written.
    struct PreparedFilter: Sendable {
        let convolution: Convolution
        let offset: Int
    }

    struct Segment: Sendable {
        let instructions: [Instruction]
        let input: FeatureShape
        let output: FeatureShape
        /// The slot holding the output after the last instruction (the input is in slot 0).
        let outputSlot: Int
        /// The θ elements the segment reads: one window of perturbed weights.
        let parameters: Range<Int>
        let filters: [PreparedFilter]
        let imagesPerChunk: Int
        /// The largest per-image activation of any slot.
        let widestImage: Int
        /// Scratch floats per image (gathered patches, GRN's norms).
        let scratchPerImage: Int
        /// Scratch floats of ResNet's convolutions for a full chunk.
        let convolutionScratch: Int
    }

    let segments: [Segment]
    let images: Int
    let slots: Int
    /// Floats of one slot: the widest chunk of any segment.
    let slotFloats: Int
    let scratchFloats: Int
    let filterFloats: Int
    /// The widest segment window.
    let windowFloats: Int
    /// Floats of a batch-wide boundary buffer.
    let boundaryFloats: Int
    /// One forward pass over `images` images: 2 × multiply-adds of convolutions and linears.
    let flops: Int

    /// Chunks of about this many positions by default (see `VisionObjective`).
    static let defaultRowsPerChunk = 1024

    init(structure: VisionStructure, height: Int, width: Int, images: Int, rowsPerChunk: Int = defaultRowsPerChunk) {
        precondition(images > 0 && structure.output(height: height, width: width) != nil)
        self.images = images
        var compiler = Compiler()
        var shape = FeatureShape(height: height, width: width, channels: structure.inputChannels)
        var segments: [Segment] = []
        var pending: [VisionOp] = []
        func close() {
            guard !pending.isEmpty else { return }
            segments.append(compiler.segment(pending, input: shape, images: images, rowsPerChunk: rowsPerChunk))
            shape = segments.last!.output
            pending = []
        }
        var current = shape
        for op in structure.ops {
            let next = current.after(op)!
            if next.positions < current.positions { close() }
            pending.append(op)
            current = next
        }
        close()
        self.segments = segments
        slots = compiler.slotCount
        slotFloats = segments.map { $0.imagesPerChunk * $0.widestImage }.max()!
        scratchFloats = segments.map { max($0.imagesPerChunk * $0.scratchPerImage, $0.convolutionScratch) }.max()!
        filterFloats = compiler.filterFloats
        windowFloats = segments.map(\.parameters.count).max()!
        boundaryFloats = images * segments.dropLast().map(\.output.count).max(or: 0)
        flops = images * compiler.flopsPerImage
    }

    /// The chunks of segment `s`: image ranges in order.
    func chunks(_ s: Int) -> [Range<Int>] {
        let per = segments[s].imagesPerChunk
        return stride(from: 0, to: images, by: per).map { $0..<min(images, $0 + per) }
    }
}

private extension Sequence where Element == Int {
    func max(or fallback: Int) -> Int { self.max() ?? fallback }
}

/// Assigns slots and filter storage while walking the ops.
private struct Compiler {
    var slotCount = 1
    var inUse: Set<Int> = []
    var filterFloats = 0
    var flopsPerImage = 0
    // Per segment, reset by `segment`.
    var instructions: [VisionProgram.Instruction] = []
    var filters: [VisionProgram.PreparedFilter] = []
    var parameters: [Parameter] = []
    var widest = 0
    var scratch = 0
    var convolutionScratch = 0
    var images = 0

    mutating func acquire() -> Int {
        var slot = 0
        while inUse.contains(slot) { slot += 1 }
        inUse.insert(slot)
        slotCount = max(slotCount, slot + 1)
        return slot
    }

    mutating func release(_ slot: Int) { inUse.remove(slot) }

    mutating func segment(_ ops: [VisionOp], input: FeatureShape, images: Int, rowsPerChunk: Int) -> VisionProgram.Segment {
        instructions = []
        filters = []
        parameters = []
        scratch = 0
        convolutionScratch = 0
        inUse = []
        // Sized by the first op's output: a segment's first op is the one that shrinks the image.
        let positions = input.after(ops[0])!.positions
        let perChunk = min(images, max(1, rowsPerChunk / positions))
        self.images = perChunk
        widest = input.count
        let start = acquire()
        let (output, slot) = compile(ops, shape: input, slot: start)
        let lo = parameters.map(\.offset).min() ?? 0
        let hi = parameters.map { $0.offset + $0.count }.max() ?? 0
        return VisionProgram.Segment(instructions: instructions, input: input, output: output, outputSlot: slot,
                                     parameters: lo..<max(lo, hi), filters: filters, imagesPerChunk: perChunk,
                                     widestImage: widest, scratchPerImage: scratch, convolutionScratch: convolutionScratch)
    }

    /// Emits `ops` on the activations in `slot`; returns the output's shape and slot.
    mutating func compile(_ ops: [VisionOp], shape input: FeatureShape, slot input0: Int) -> (FeatureShape, Int) {
        var shape = input, slot = input0
        for op in ops {
            let next = shape.after(op)!
            widest = max(widest, next.count)
            switch op {
            case .convolution(let c):
                let to = acquire()
                uses(c.weight, c.bias)
                flopsPerImage += 2 * next.positions * c.outputs * c.kernel * c.kernel * (c.inputs / c.groups)
                if c.isPatchwise {
                    var offset: Int? = nil
                    if c.kernel > 1 {
                        offset = filterFloats
                        filters.append(.init(convolution: c, offset: filterFloats))
                        filterFloats += c.weight.count
                        scratch = max(scratch, next.positions * c.kernel * c.kernel * c.inputs)
                    }
                    instructions.append(.patchwise(c, from: slot, to: to, input: shape, filters: offset))
                } else if c.isDepthwise {
                    filters.append(.init(convolution: c, offset: filterFloats))
                    instructions.append(.depthwise(c, from: slot, to: to, input: shape, filters: filterFloats))
                    filterFloats += c.weight.count
                } else {
                    convolutionScratch = max(convolutionScratch,
                                             ResNetKernels.convolutionScratch(c, images: images, height: shape.height, width: shape.width))
                    instructions.append(.convolution(c, from: slot, to: to, input: shape))
                }
                release(slot)
                slot = to
            case .layerNorm(let n):
                uses(n.weight, n.bias)
                instructions.append(.layerNorm(n, slot: slot, positions: shape.positions))
            case .batchNorm(let n):
                uses(n.weight, n.bias)
                instructions.append(.batchNorm(n, slot: slot, positions: shape.positions))
            case .globalResponseNorm(let g):
                uses(g.weight, g.bias)
                scratch = max(scratch, 2 * g.channels)
                instructions.append(.globalResponseNorm(g, slot: slot, positions: shape.positions))
            case .activation(let a):
                instructions.append(.activation(a, slot: slot, count: shape.count))
            case .layerScale(let p):
                uses(p, nil)
                instructions.append(.layerScale(p, slot: slot, positions: shape.positions))
            case .maxPool(let kernel, let stride, let padding):
                let to = acquire()
                instructions.append(.maxPool(kernel: kernel, stride: stride, padding: padding, from: slot, to: to, input: shape))
                release(slot)
                slot = to
            case .globalAveragePool:
                let to = acquire()
                instructions.append(.globalAveragePool(from: slot, to: to, input: shape))
                release(slot)
                slot = to
            case .linear(let l):
                let to = acquire()
                uses(l.weight, l.bias)
                flopsPerImage += 2 * shape.positions * l.inputs * l.outputs
                instructions.append(.linear(l, from: slot, to: to, positions: shape.positions))
                release(slot)
                slot = to
            case .residual(let body, let shortcut):
                // The shortcut runs first, on a copy, so that the body may work in place.
                let saved = acquire()
                instructions.append(.copy(from: slot, to: saved, count: shape.count))
                let (_, shortcutSlot) = compile(shortcut, shape: shape, slot: saved)
                let (_, bodySlot) = compile(body, shape: shape, slot: slot)
                instructions.append(.add(from: shortcutSlot, into: bodySlot, count: next.count))
                release(shortcutSlot)
                slot = bodySlot
            }
            shape = next
        }
        return (shape, slot)
    }

    mutating func uses(_ a: Parameter, _ b: Parameter?) {
        parameters.append(a)
        if let b { parameters.append(b) }
    }
}
