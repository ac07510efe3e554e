/// The mean cross-entropy of an MLP's logits against the eval file's `labels`, with its gradient
/// through `MLPBackwardPass` built at θ (`Scalar` is `Float` for SGLD, `Double` in the
/// finite-difference tests).
struct MLPCrossEntropy<Scalar: BLASScalar>: SGLDLoss {
    struct Batch: Sendable {
        let inputs: Tensor<Float>
        let labels: [Int]
    }

    let model: MLP
    let inputs: Tensor<Float>
    let labels: [Int]

    /// Checks the labels: one per row, each a class of the model. `file` names the eval data in errors.
    init(model: MLP, inputs: Tensor<Float>, labels: [Int]?, file: String) throws(EstimatorError) {
        guard let labels else {
            throw EstimatorError(code: "llc.no_labels",
                                 "the LLC of an MLP needs class labels: the eval file \(file) has no 'labels' tensor")
        }
        guard labels.count == inputs.shape[0] else {
            throw EstimatorError(code: "llc.bad_label",
                                 "the eval file \(file) has \(labels.count) labels for \(inputs.shape[0]) rows")
        }
        if let row = labels.firstIndex(where: { $0 < 0 || $0 >= model.classes }) {
            throw EstimatorError(code: "llc.bad_label",
                                 "label \(labels[row]) at row \(row) of \(file) is not a class of this MLP (0…\(model.classes - 1))")
        }
        self.model = model
        self.inputs = inputs
        self.labels = labels
    }

    var dimension: Int { model.layout.count }
    var rows: Int { inputs.shape[0] }

    func batch(_ rows: [Int]) -> Batch {
        let width = inputs.shape[1]
        var scalars: [Float] = []
        scalars.reserveCapacity(rows.count * width)
        for r in rows { scalars.append(contentsOf: inputs.scalars[(r * width)..<((r + 1) * width)]) }
        return Batch(inputs: Tensor(shape: [rows.count, width], scalars: scalars), labels: rows.map { labels[$0] })
    }

    func lossAndGradient(at theta: [Scalar], batch: Batch, gradient: UnsafeMutablePointer<Scalar>) -> Double {
        // The pass's anchor probabilities refuse non-finite logits: the loss is then not finite.
        guard let pass = try? MLPBackwardPass<Scalar>(model: model, inputs: batch.inputs, theta: theta) else { return .nan }
        let classes = model.classes
        var cotangents = [Scalar](repeating: 0, count: batch.labels.count * classes)
        let loss = pass.logits.withUnsafeBufferPointer { logits in
            batch.labels.withUnsafeBufferPointer { targets in
                cotangents.withUnsafeMutableBufferPointer { g in
                    CrossEntropy.meanAndCotangents(logits: logits.baseAddress!, classes: classes, targets: targets,
                                                   counted: targets.count, cotangents: g.baseAddress!)
                }
            }
        }
        guard loss.isFinite else { return loss }
        gradient.update(repeating: 0, count: dimension)
        cotangents.withUnsafeBufferPointer {
            pass.pullback(examples: 0..<batch.labels.count, cotangents: $0.baseAddress!, sum: gradient, squares: nil)
        }
        return loss
    }
}
