// CONTRACT STUBS — the `convnext` helper implements these (and may move them into other files).
extension VisionModel {
    /// Logits [N·classes] (row-major [N, classes]) for channels-last pixel values [N, H, W, C]
    /// at parameters `theta` (flat, `layout` order).
    public func logits(pixels: Tensor<Float>, theta: [Float]) -> [Float] {
        fatalError("VisionModel.logits is not implemented yet")
    }

    public func klObjective(data: EvalData) throws(EstimatorError) -> any KLObjective {
        throw EstimatorError(code: "internal.unimplemented", "vision KL objective is not implemented yet")
    }

    public func lossObjective(data: EvalData, labels: [Int]?) throws(EstimatorError) -> any KLObjective {
        throw EstimatorError(code: "internal.unimplemented", "vision loss objective is not implemented yet")
    }
}
