/// θ0 + t·v for one stage of a transformer at a time — a block's weights, or the final norm's
/// and the output head's — written into one stage-sized buffer. A worker evaluating a ray thus
/// holds one block of perturbed weights instead of a whole perturbed copy of θ, and each weight
/// is still written once per evaluation: the forward pass runs stage by stage over all chunks of
/// the batch.
final class RayWeightWindow: ParameterSource {
    /// Each stage's parameters, in the order they are laid out in the window.
    let stages: [[Parameter]]
    private let window: UnsafeMutableBufferPointer<Float>
    /// Window position of each parameter of the current stage.
    private var positions: [Int]
    private var current = -1

    init(stages: [[Parameter]]) {
        self.stages = stages
        let widest = stages.map { $0.reduce(0) { $0 + $1.count } }.max() ?? 0
        window = .allocate(capacity: widest)
        positions = [Int](repeating: 0, count: stages.map(\.count).max() ?? 0)
    }

    deinit { window.deallocate() }

    var byteCount: Int { window.count * MemoryLayout<Float>.stride }

    /// Writes stage `index`'s parameters at anchor + t·direction into the window.
    func load(stage index: Int, anchor: UnsafePointer<Float>, direction: UnsafePointer<Float>, t: Float) {
        current = index
        var position = 0
        for (i, parameter) in stages[index].enumerated() {
            positions[i] = position
            let a = anchor + parameter.offset, v = direction + parameter.offset
            let out = window.baseAddress! + position
            for j in 0..<parameter.count { out[j] = a[j] + t * v[j] }
            position += parameter.count
        }
    }

    @inline(__always)
    func callAsFunction(_ parameter: Parameter) -> UnsafePointer<Float> {
        let stage = stages[current]
        for i in stage.indices where stage[i].offset == parameter.offset {
            return UnsafePointer(window.baseAddress! + positions[i])
        }
        preconditionFailure("\(parameter.name) is not in stage \(current)")
    }
}
