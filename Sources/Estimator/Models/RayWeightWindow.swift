/// θ0 + t·v̂ for one stage of a transformer at a time — a block's weights, or the final norm's
/// and the output head's — written into one stage-sized buffer. A worker evaluating a ray thus
/// holds one block of perturbed weights instead of a whole perturbed copy of θ, and each weight
/// is still written once per evaluation: the forward pass runs stage by stage over all chunks of
/// the batch.
final class RayWeightWindow: ParameterSource, @unchecked Sendable {
    /// Each stage's parameters, in the order they are laid out in the window.
    let stages: [[Parameter]]
    private let window: UnsafeMutableBufferPointer<Float>
    /// Window position of each parameter of each stage.
    private let positions: [[Int]]
    private var current = -1

    /// Window elements written as one piece of work: lanes share a stage's load piece by piece.
    static let piece = 1 << 16

    init(stages: [[Parameter]]) {
        self.stages = stages
        window = .allocate(capacity: Self.widestStage(stages))
        positions = stages.map { stage in
            var position = 0
            return stage.map { parameter in
                defer { position += parameter.count }
                return position
            }
        }
    }

    deinit { window.deallocate() }

    var byteCount: Int { window.count * MemoryLayout<Float>.stride }

    /// Floats of the widest stage: the window's size.
    static func widestStage(_ stages: [[Parameter]]) -> Int {
        stages.map { $0.reduce(0) { $0 + $1.count } }.max() ?? 0
    }

    /// Writes stage `index`'s parameters at anchor + t·direction into the window (the anchor's own
    /// values without a direction), in pieces shared by `lanes` threads. Every element is written
    /// by the same arithmetic whatever the number of lanes.
    func load(stage index: Int, anchor: UnsafePointer<Float>, direction: RayDirection?, t: Float, lanes: Int) {
        current = index
        let stage = stages[index]
        let starts = positions[index]
        let size = stage.reduce(0) { $0 + $1.count }
        let pieces = (size + Self.piece - 1) / Self.piece
        let anchorAddress = SendableAddress(anchor)
        WorkerPool.run(threads: lanes, count: pieces) { _, piece in
            let window = self.window.baseAddress!
            let lo = piece * Self.piece, hi = min(size, lo + Self.piece)
            for (parameter, start) in zip(stage, starts) where start < hi && start + parameter.count > lo {
                let from = max(lo, start), to = min(hi, start + parameter.count)
                let offset = parameter.offset + from - start
                let a = anchorAddress.pointer + offset
                let out = window + from
                if let direction {
                    direction.perturbed(offset..<(offset + to - from), anchor: a, t: t, into: out)
                } else {
                    out.update(from: a, count: to - from)
                }
            }
        }
    }

    @inline(__always)
    func callAsFunction(_ parameter: Parameter) -> UnsafePointer<Float> {
        let stage = stages[current]
        for i in stage.indices where stage[i].offset == parameter.offset {
            return UnsafePointer(window.baseAddress! + positions[current][i])
        }
        preconditionFailure("\(parameter.name) is not in stage \(current)")
    }
}
