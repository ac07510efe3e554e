/// What an estimate of one checkpoint reads, resolved once: the checkpoint's content files (what
/// its fingerprint covers), the run's `volume.toml` as applied (the model choice and `[estimate]`
/// laid over the caller's settings), and the eval data file with the fingerprint of its bytes.
///
/// The daemon resolves a checkpoint when it schedules it and stores the result on the job, so
/// the worker estimates exactly what was fingerprinted and keyed, and `CheckpointEstimation`
/// checks that the files it loads are still those. Reading problems are kept, not thrown: the
/// estimate fails with them, in the order loading would meet them.
public struct EstimationInputs: Sendable, Equatable {
    /// The checkpoint's content file names in fingerprint order (`CheckpointFolder.contentFiles`);
    /// empty when the checkpoint could not be read.
    public var contentFiles: [String]
    /// `volume.toml` `[model] architecture` and `activation`; nil where the run does not say.
    public var architecture: String?
    public var activation: String?
    /// The caller's settings with the run's `[estimate]` laid over them.
    public var plan: EstimationPlan
    /// The eval data (its file relative to the run folder, or absolute); nil when there is none.
    public var evalData: EvalDataSpec?
    /// The eval data's fingerprint (`EvalDataSet.fingerprint`); nil when not hashed. Loaded
    /// eval data with another fingerprint fails the estimate.
    public var evalFingerprint: String?
    /// Why the run's `volume.toml` could not be read.
    public var manifestError: CheckpointError?
    /// Why no eval data file was found.
    public var evalError: CheckpointError?

    public init(
        contentFiles: [String] = [], architecture: String? = nil, activation: String? = nil,
        plan: EstimationPlan = EstimationPlan(), evalData: EvalDataSpec? = nil, evalFingerprint: String? = nil,
        manifestError: CheckpointError? = nil, evalError: CheckpointError? = nil
    ) {
        self.contentFiles = contentFiles
        self.architecture = architecture
        self.activation = activation
        self.plan = plan
        self.evalData = evalData
        self.evalFingerprint = evalFingerprint
        self.manifestError = manifestError
        self.evalError = evalError
    }

    /// Resolves the inputs of the checkpoint at `path` (`folder`, as read now; nil when it cannot
    /// be read): reads the run's `volume.toml` and looks for the eval data, without hashing or
    /// parsing it.
    public init(checkpoint path: String, folder: CheckpointFolder?, base: EstimationPlan) {
        self.init(contentFiles: folder?.contentFileNames ?? [], plan: base)
        let run: RunFolder
        do {
            run = try RunFolder(path: folder?.runFolder ?? CheckpointFolder.runFolder(of: path))
        } catch {
            manifestError = error
            return
        }
        if let manifest = run.manifest {
            architecture = manifest.architecture
            activation = manifest.activation
            plan = manifest.estimate.applied(to: base)
        }
        do {
            evalData = try run.evalData()
        } catch {
            evalError = error
        }
    }
}
