import DB

/// Names a run's series by their estimate keys: the preconditioner (with its parameters), the
/// cutoff, and a loss neighbourhood or parameter subset always, and each other part of the key (eval data, prior, its centre, σ rule,
/// directions, seed, tolerance) only when it differs among the keys, so that every series'
/// label is distinct and no longer than it must be.
struct SeriesLabels {
    /// The parts of a key named only when they differ.
    enum Part: CaseIterable {
        case eval, prior, priorCenter, sigmaRule, directions, seed, tolerance

        func text(_ key: EstimateKey) -> String {
            switch self {
            case .eval: PageFormat.eval(key.evalFingerprint)
            case .prior: "prior \(key.prior)"
            case .priorCenter: "centre \(key.priorCenter)"
            case .sigmaRule: "σ \(key.sigmaRule)"
            case .directions: "\(key.directions) directions"
            case .seed: "seed \(key.seed)"
            case .tolerance: "tolerance \(key.tolerance)"
            }
        }

        func value(_ key: EstimateKey) -> AnyHashable {
            switch self {
            case .eval: key.evalFingerprint
            case .prior: key.prior
            case .priorCenter: key.priorCenter
            case .sigmaRule: key.sigmaRule
            case .directions: key.directions
            case .seed: key.seed
            case .tolerance: key.tolerance
            }
        }
    }

    /// In `Part.allCases` order.
    let differing: [Part]

    init(_ keys: some Collection<EstimateKey>) {
        differing = Part.allCases.filter { part in
            guard let first = keys.first.map(part.value) else { return false }
            return keys.contains { part.value($0) != first }
        }
    }

    /// "adam:eps=0.001,exponent=0.5 · cutoff 0.01", then "loss" / "params: 0.*" where the key
    /// has them, then the differing parts, e.g.
    /// "· eval 3f2a9c1b · prior uniform · 64 directions".
    func label(_ key: EstimateKey) -> String {
        ([key.preconditionerName, "cutoff \(key.cutoff)"] + (key.seriesLabel.map { [$0] } ?? []) + differing.map { $0.text(key) })
            .joined(separator: " · ")
    }

    /// The order series are listed and coloured in: by preconditioner, its parameters, cutoff,
    /// then the rest of the key, so a series keeps its colour as points arrive.
    static func precedes(_ a: EstimateKey, _ b: EstimateKey) -> Bool {
        if a.preconditioner != b.preconditioner { return a.preconditioner < b.preconditioner }
        if a.preconditionerParams != b.preconditionerParams { return a.preconditionerParams < b.preconditionerParams }
        if a.cutoff != b.cutoff { return a.cutoff < b.cutoff }
        if a.evalFingerprint != b.evalFingerprint { return a.evalFingerprint < b.evalFingerprint }
        if a.prior != b.prior { return a.prior < b.prior }
        if a.priorCenter != b.priorCenter { return a.priorCenter < b.priorCenter }
        if a.sigmaRule != b.sigmaRule { return a.sigmaRule < b.sigmaRule }
        if a.directions != b.directions { return a.directions < b.directions }
        if a.seed != b.seed { return a.seed < b.seed }
        if a.tolerance != b.tolerance { return a.tolerance < b.tolerance }
        return (a.neighbourhood, a.parameters) < (b.neighbourhood, b.parameters)
    }
}
