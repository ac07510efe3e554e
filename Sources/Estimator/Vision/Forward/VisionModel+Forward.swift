extension VisionModel {
    /// Logits [N·classes] (row-major [N, classes]) for channels-last pixel values [N, H, W, C]
    /// at parameters `theta` (flat, `layout` order), by the evaluators' own forward pass.
    public func logits(pixels: Tensor<Float>, theta: [Float]) -> [Float] {
        precondition(theta.count == layout.count)
        let pass = VisionForwardPass(structure: structure, pixels: pixels)
        let state = VisionForwardState(pass, lanes: 1)
        theta.withUnsafeBufferPointer { pass.evaluate(anchor: $0.baseAddress!, direction: nil, t: 0, state: state) }
        return withExtendedLifetime(state) { Array(state.logits) }
    }

    public func klObjective(data: EvalData) throws(EstimatorError) -> any KLObjective {
        try VisionObjective(model: self, pixels: try pixels(data))
    }

    public func lossObjective(data: EvalData, labels: [Int]?) throws(EstimatorError) -> any KLObjective {
        let pixels = try pixels(data)
        let loss = try AnchorLoss.labels(labels, rows: pixels.shape[0], classes: classes)
        return try VisionObjective(model: self, pixels: pixels, loss: loss)
    }
}
