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
    /// The KL cost on the eval data, with the anchor's distribution computed once.
    public let objective: any KLObjective
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
        objective = try model.klObjective(data: eval.data)
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
            var p = try Preconditioner.moment(spec, moment)
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
            var p = try Preconditioner.fisher(spec, diagonal.value)
            p.secondsToBuild = diagonal.seconds
            p.relativeStandardError = diagonal.value.relativeStandardError
            return .success(p)
        case .hessian:
            let d = model.layout.count
            guard d <= GaussNewton.dimensionLimit else {
                return .failure(SkipReason("hessian builds the full D×D Gauss-Newton matrix only for D ≤ \(GaussNewton.dimensionLimit); this model has D = \(d) (fisher is the diagonal alternative)"))
            }
            let eigen = try curvature.gaussNewtonEigen {
                try SymmetricEigen(symmetric: try curved.gaussNewton(data: eval.data), dimension: d)
            }
            var p = try Preconditioner.hessian(spec, eigen.value)
            p.secondsToBuild = eigen.seconds
            return .success(p)
        default:
            preconditionFailure("\(spec.name) is not a curvature preconditioner")
        }
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
            let estimator = try VolumeEstimator(objective: objective, anchor: model.anchor, settings: settings, threads: threads)
            return .estimated(try estimator.estimate(preconditioner: p, progress: progress, shouldStop: shouldStop))
        }
    }
}

/// Why a preconditioner cannot run for a checkpoint (recorded, not an error).
public struct SkipReason: Error, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}
