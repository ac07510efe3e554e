// CONTRACT STUB — the `backward` helper implements this.
extension VisionModel: CurvatureModel {
    public func backwardPass(data: EvalData) throws(EstimatorError) -> any BackwardPass<Float> {
        throw EstimatorError(code: "internal.unimplemented", "vision backward pass is not implemented yet")
    }
}
