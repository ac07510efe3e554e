#if canImport(Glibc)
import Base
import Glibc
#endif

/// A checkpoint made ready for estimation: its model, eval data and the plan of what to
/// compute. Used by `volumed estimate` and by the daemon's workers alike.
public struct CheckpointEstimation: Sendable {
    public let folder: CheckpointFolder
    public let model: any Model
    public let eval: EvalDataSet
    public private(set) var plan: EstimationPlan
    /// The cost on the eval data the plan's neighbourhood names (KL, with the anchor's
    /// distribution computed once, or loss), over the plan's parameter subset when it has one.
    public let objective: any KLObjective
    /// The parameters the plan's `--params` patterns select; nil when every parameter moves.
    public let selection: ParameterSelection?
    /// θ0 of the coordinates that move (the subset's, or all of `model.anchor`): the anchor of
    /// the volume estimate, whose σ (rms) and prior centre are over these coordinates.
    public let anchor: [Float]
    /// Curvature for `fisher` and `hessian`, computed once and shared by every cutoff, seed and copy.
    private let curvature = CurvatureCache()
    /// The content files' stamps before anything was read from them, and the fingerprint they
    /// had to have, for `checkUnchanged()`.
    private let contentStamps: [FileSystem.Stamp?]
    private let fingerprint: String?

    /// Loads `path` (a checkpoint folder or a single safetensors file; its parent is the run).
    /// The plan is `base` with the run manifest's `[estimate]` laid over it, then `overrides`;
    /// `evalData` (from `--data`) replaces the run's eval data.
    public init(path: String, base: EstimationPlan = EstimationPlan(), overrides: EstimateOverrides = EstimateOverrides(),
                evalData: EvalDataSpec? = nil, architecture: String? = nil, activation: String? = nil) throws {
        let folder = try CheckpointFolder(path: path)
        var inputs = EstimationInputs(checkpoint: path, folder: folder, base: base)
        inputs.plan = overrides.applied(to: inputs.plan)
        if let evalData {
            inputs.evalData = evalData
            inputs.evalError = nil
        }
        try self.init(folder, inputs: inputs, fingerprint: nil, architecture: architecture, activation: activation)
    }

    /// Loads `path` with inputs resolved beforehand (when the estimate was planned). With a
    /// `fingerprint`, the content files must be those that were fingerprinted, and a loaded eval
    /// file must have the inputs' eval fingerprint; otherwise it throws
    /// `checkpoint.changed_since_scheduled` or `eval.changed_since_scheduled`.
    public init(path: String, inputs: EstimationInputs, fingerprint: String?) throws {
        try self.init(try CheckpointFolder(path: path), inputs: inputs, fingerprint: fingerprint)
    }

    private init(_ folder: CheckpointFolder, inputs: EstimationInputs, fingerprint: String?,
                 architecture: String? = nil, activation: String? = nil) throws {
        self.folder = folder
        // Stamped before the content is hashed or read: whatever changes afterwards,
        // `checkUnchanged()` sees.
        contentStamps = folder.contentFiles.map(FileSystem.stamp)
        self.fingerprint = fingerprint
        if !inputs.contentFiles.isEmpty, folder.contentFileNames != inputs.contentFiles {
            throw Self.changed(folder, "its content files are \(folder.contentFileNames) instead of \(inputs.contentFiles)")
        }
        if let fingerprint {
            let now = try folder.fingerprint()
            guard now == fingerprint else { throw Self.changed(folder, "its fingerprint is \(now) instead of \(fingerprint)") }
        }
        if let manifestError = inputs.manifestError { throw manifestError }
        plan = inputs.plan
        try plan.settings.validate()
        model = try ModelLoader.load(folder, manifest: RunManifest(architecture: inputs.architecture, activation: inputs.activation),
                                     architecture: architecture, activation: activation)
        if let evalError = inputs.evalError { throw evalError }
        guard let evalData = inputs.evalData else {
            throw CheckpointError(CheckpointError.Code.missingEvalData, file: folder.runFolder, "no eval data was resolved for the run")
        }
        eval = try EvalDataSet(spec: evalData, runFolder: folder.runFolder, checkpoint: folder)
        if let expected = inputs.evalFingerprint, eval.fingerprint != expected {
            throw CheckpointError(CheckpointError.Code.evalChanged, file: eval.path,
                                  "the eval data changed after the estimate was planned: its fingerprint is \(eval.fingerprint) instead of \(expected)")
        }
        let cost = try Self.cost(model, eval, plan.settings.neighbourhood)
        if plan.settings.parameters.isEmpty {
            selection = nil
            objective = cost
            anchor = model.anchor
        } else {
            let selection = try ParameterSelection(patterns: plan.settings.parameters, layout: model.layout)
            self.selection = selection
            objective = SubsetObjective(cost, selection: selection)
            anchor = selection.gather(model.anchor)
        }
    }

    /// The model's cost on `eval` for `neighbourhood`; eval-data errors name the eval file.
    private static func cost(_ model: any Model, _ eval: EvalDataSet,
                             _ neighbourhood: EstimateSettings.Neighbourhood) throws(EstimatorError) -> any KLObjective {
        let result = Result { () throws(EstimatorError) -> any KLObjective in
            switch neighbourhood {
            case .kl: try model.klObjective(data: eval.data)
            case .loss: try model.lossObjective(data: eval.data, labels: eval.labels)
            }
        }
        switch result {
        case .success(let objective): return objective
        case .failure(let error) where error.code.hasPrefix("eval."):
            throw EstimatorError(code: error.code, "\(eval.path): \(error.detail)")
        case .failure(let error): throw error
        }
    }

    /// The volume estimator of this checkpoint's objective and anchor under `settings` (the
    /// plan's, or a variant such as fewer cutoffs).
    public func volumeEstimator(settings: EstimateSettings, threads: Int) throws(EstimatorError) -> VolumeEstimator {
        try VolumeEstimator(objective: objective, anchor: anchor, settings: settings, threads: threads)
    }

    /// Throws `checkpoint.changed_since_scheduled` when a content file was rewritten or replaced
    /// since loading began with other content. Called after estimating, it vouches that
    /// everything read (the optimizer state is read when its preconditioner runs) came from the
    /// fingerprinted files. A rewrite with the same bytes (the stamps differ, the fingerprint
    /// does not) changes nothing read.
    public func checkUnchanged() throws(CheckpointError) {
        guard folder.contentFiles.map(FileSystem.stamp) != contentStamps else { return }
        if let fingerprint, (try? folder.fingerprint()) == fingerprint { return }
        throw Self.changed(folder, "a content file was rewritten or replaced while it was being estimated")
    }

    private static func changed(_ folder: CheckpointFolder, _ why: String) -> CheckpointError {
        CheckpointError(CheckpointError.Code.checkpointChanged, file: folder.path,
                        "the checkpoint changed after its estimate was planned (\(why)); its new version is estimated as a new checkpoint")
    }

    /// The same checkpoint, model, eval data and curvature with another seed: repeated seeds pay
    /// for the curvature preconditioners once.
    public func reseeded(_ seed: UInt64) -> CheckpointEstimation {
        var copy = self
        copy.plan.settings.seed = seed
        return copy
    }

    /// The preconditioner for `spec`, or the reason it cannot run for this checkpoint.
    /// A missing optimizer file or an empty Adam state (step 0) is a skip; a malformed or
    /// mismatched optimizer state is an error.
    public func preconditioner(_ spec: PreconditionerSpec) throws -> Result<Preconditioner, SkipReason> {
        let clock = ContinuousClock()
        let started = clock.now
        switch spec.kind {
        case .none:
            return .success(.identity)
        case .adam, .adamM:
            // Where the Adam state would be, for the skip reasons.
            let source = folder.form == .lightning ? "the Lightning checkpoint's optimizer_states"
                : CheckpointLayout.optimizerFileName(for: folder.form)
            guard folder.optimizerPath != nil else {
                switch folder.form {
                case .file, .stateDictFile: return .failure(SkipReason("a single-file checkpoint holds no optimizer state"))
                case .lightning: return .failure(SkipReason("no optimizer_states in the Lightning checkpoint (saved with save_weights_only)"))
                case .folder, .accelerateFolder: return .failure(SkipReason("no \(source) in the checkpoint"))
                }
            }
            guard let moment = try adamMoment(spec.kind == .adam ? .expAvgSq : .expAvg) else {
                return .failure(SkipReason("no Adam state in \(source) (step 0)"))
            }
            // A subset's entries are normalized over the subset alone.
            var p = try Preconditioner.moment(spec, selection.map { $0.gather(moment) } ?? moment)
            p.secondsToBuild = (clock.now - started).seconds
            return .success(p)
        case .fisher, .hessian:
            return try curvaturePreconditioner(spec)
        }
    }

    /// `fisher` and `hessian`: skipped for architectures without a backward pass and, for
    /// `hessian`, above the full matrix's size limit. `secondsToBuild` is the wall time of the
    /// curvature's one computation (the diagonal; the matrix and its eigendecomposition), the
    /// same number in every estimate that reuses it; the per-estimate scaling is O(D) and not counted.
    private func curvaturePreconditioner(_ spec: PreconditionerSpec) throws -> Result<Preconditioner, SkipReason> {
        guard let curved = model as? any CurvatureModel else {
            return .failure(SkipReason("\(spec.name) needs reverse-mode gradients, which the \(model.architecture) model does not have"))
        }
        switch spec.kind {
        case .fisher:
            let samples = Int(spec.value("samples"))
            let diagonal = try curvature.fisherDiagonal(samples: samples) {
                try curved.fisherDiagonal(data: eval.data, samples: samples)
            }
            var p = try Preconditioner.fisher(spec, diagonal: selection.map { $0.gather(diagonal.value.values) } ?? diagonal.value.values)
            p.secondsToBuild = diagonal.seconds
            p.relativeStandardError = diagonal.value.relativeStandardError
            return .success(p)
        case .hessian:
            let d = model.layout.count
            guard d <= GaussNewton.dimensionLimit else {
                return .failure(SkipReason("hessian builds the full D×D Gauss-Newton matrix only for D ≤ \(GaussNewton.dimensionLimit); this model has D = \(d) (fisher is the diagonal alternative)"))
            }
            // A subset's preconditioner is built from its block of the full matrix (the curvature
            // of the subset's coordinates with the rest at the anchor).
            let eigen = try curvature.gaussNewtonEigen {
                let matrix = try curved.gaussNewton(data: eval.data)
                guard let selection else { return try SymmetricEigen(symmetric: matrix, dimension: d) }
                return try SymmetricEigen(symmetric: Self.block(matrix, dimension: d, selection), dimension: selection.count)
            }
            var p = try Preconditioner.hessian(spec, eigen.value)
            p.secondsToBuild = eigen.seconds
            return .success(p)
        default:
            preconditionFailure("\(spec.name) is not a curvature preconditioner")
        }
    }

    /// The rows and columns of `selection`'s coordinates of a [d, d] row-major matrix.
    static func block(_ matrix: [Float], dimension d: Int, _ selection: ParameterSelection) -> [Float] {
        let indices = selection.ranges.flatMap { $0 }
        let n = indices.count
        var block = [Float](repeating: 0, count: n * n)
        for (i, row) in indices.enumerated() {
            for (j, column) in indices.enumerated() { block[i * n + j] = matrix[row * d + column] }
        }
        return block
    }

    /// One Adam moment in parameter order; nil when the optimizer holds no state yet.
    private func adamMoment(_ which: AdamMoment) throws(CheckpointError) -> [Float]? {
        let result = Result { () throws(CheckpointError) in try folder.adamMoment(which, for: model.layout) }
        switch result {
        case .success(let moments): return moments
        case .failure(let error) where error.code == CheckpointError.Code.noAdamState: return nil
        case .failure(let error): throw error
        }
    }

    /// Runs every preconditioner of the plan. `progress(spec, progress)` reports finished
    /// directions.
    public func run(threads: Int = WorkerPool.coreCount,
                    progress: (@Sendable (PreconditionerSpec, EstimateProgress) -> Void)? = nil) throws -> [PreconditionerOutcome] {
        try plan.preconditioners.map { spec in
            try outcome(spec, cutoffs: plan.settings.cutoffs, threads: threads) { progress?(spec, $0) }
        }
    }

    /// One preconditioner at the given cutoffs (a subset of the plan's when some results are
    /// already stored). `shouldStop` is polled between directions.
    public func outcome(_ spec: PreconditionerSpec, cutoffs: [Double], threads: Int,
                        progress: (@Sendable (EstimateProgress) -> Void)? = nil,
                        shouldStop: (@Sendable () -> Bool)? = nil) throws -> PreconditionerOutcome {
        switch try preconditioner(spec) {
        case .failure(let skip):
            return .skipped(spec, reason: skip.reason)
        case .success(let p):
            var settings = plan.settings
            settings.cutoffs = cutoffs
            let estimator = try volumeEstimator(settings: settings, threads: threads)
            return .estimated(try estimator.estimate(preconditioner: p, progress: progress, shouldStop: shouldStop))
        }
    }
}

/// Why a preconditioner cannot run for a checkpoint (recorded, not an error).
public struct SkipReason: Error, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}
