extension VisionModel: CurvatureModel {
    /// The anchor's forward pass on the eval images (`VisionBackwardPass`).
    public func backwardPass(data: EvalData) throws(EstimatorError) -> any BackwardPass<Float> {
        try VisionBackwardPass<Float>(structure: structure, theta: anchor, pixels: try pixels(data))
    }
}
