/// Everything the soak will do, decided up front from the seed: which checkpoints appear in
/// which run, how they arrive, what is wrong with the bad ones, which are rewritten or deleted,
/// and when the daemon is killed and PostgreSQL restarted. Times are seconds from the start of
/// the writing phase.
struct SoakPlan: Sendable {
    /// Which fixture checkpoint a soak checkpoint copies: a digits one, or the language model.
    enum Content: Int, Sendable, CaseIterable {
        /// Step 0: its `optimizer.pt` holds no Adam state, so `adam` is skipped.
        case untrained = 0
        case early = 100
        case trained = 3000
        /// neox-tiny's `checkpoint-60`, in the language-model run: its shards take seconds, so
        /// SIGKILLs land inside them.
        case language = 60

        static let digits: [Content] = [.untrained, .early, .trained]
    }

    /// The run of language-model checkpoints, its directions per estimate (its `volume.toml`
    /// sets them) and the directions per shard of the soak's daemon: several shards per
    /// estimate, each seconds long for the language model.
    static let languageRun = "lm"
    static let languageDirections = 160
    static let shardDirections = 40

    /// The LLC settings of the runs that enable `[llc]` (tiny, so that LLC jobs take well under a
    /// second and still meet kills and restarts among the volume shards).
    static let llcChains = 2
    static let llcDraws = 10

    /// Whether `run`'s `volume.toml` enables `[llc]`: every other digits run (run-01, run-03, …),
    /// so the soak has runs with and without LLC jobs.
    static func hasLLC(_ run: String) -> Bool {
        run != languageRun && (Int(run.suffix(2)) ?? 0) % 2 == 1
    }

    /// What makes a bad checkpoint bad, and the error its job must fail with.
    enum Defect: String, Sendable, CaseIterable {
        /// `model.safetensors` cut off inside its tensor data.
        case truncated
        /// One weight of `model.safetensors` patched to NaN.
        case nanWeights = "nan-weights"
        /// `optimizer.pt` replaced by a pickle that names a forbidden global (`training_args.bin`).
        case hostilePickle = "hostile-pickle"
        /// `model.safetensors` replaced by random bytes.
        case garbage

        /// The prefix of the job's `error_code`.
        var expectedErrorCode: String {
            switch self {
            case .truncated, .garbage: "safetensors."
            case .nanWeights: "model.nonfinite_weights"
            case .hostilePickle: "pickle.forbidden_global"
            }
        }

        /// Whether the checkpoint's LLC job fails too: it reads the weights, not the optimizer state.
        var failsLLC: Bool { self != .hostilePickle }

        /// The fixture the damage is done to.
        var content: Content {
            switch self {
            case .truncated, .hostilePickle: .early
            case .nanWeights, .garbage: .trained
            }
        }
    }

    enum Layout: Sendable {
        /// `checkpoint-<step>/` (HF Trainer).
        case folder
        /// `step-<step>.safetensors`: weights only, so `adam` is skipped.
        case singleFile
    }

    enum Arrival: Sendable {
        /// Created and written under its final name.
        case inPlace
        /// Written under a temporary name, then renamed (HF Trainer's `tmp-checkpoint-<step>`).
        case renamed
    }

    /// An identical rewrite of a good checkpoint's files, which must add nothing.
    struct Rewrite: Sendable {
        enum Mode: Sendable {
            /// Each file truncated and written again.
            case inPlace
            /// Each file written beside itself and renamed over the original.
            case replaced
        }

        var at: Double
        var mode: Mode
    }

    enum Deletion: Sendable {
        /// Removed soon after it was written: before, during or just after settling.
        case early(at: Double)
        /// Removed once its job is done (its estimates must stay).
        case afterProcessing(at: Double)

        var at: Double {
            switch self {
            case .early(let at), .afterProcessing(let at): at
            }
        }
    }

    struct Checkpoint: Sendable, Identifiable {
        var id: Int
        var run: String
        var step: Int
        var content: Content
        var defect: Defect?
        var layout: Layout
        var arrival: Arrival
        var writeAt: Double
        var rewrites: [Rewrite] = []
        var deletion: Deletion?

        /// The folder or file name inside the run.
        var name: String {
            switch layout {
            case .folder: "checkpoint-\(step)"
            case .singleFile: "step-\(step).safetensors"
            }
        }

        var isGood: Bool { defect == nil && deletion == nil }

        /// The directions its estimates have.
        var directions: Int? { content == .language ? SoakPlan.languageDirections : nil }

        /// Whether `adam` is skipped rather than computed for this checkpoint.
        var adamSkipped: Bool { content == .untrained || layout == .singleFile }
    }

    enum Fault: Sendable, Equatable {
        /// SIGKILL the running daemon and start it again.
        case killDaemon(Kill)
        /// `pg_ctl restart -m fast` under the running daemon.
        case restartPostgres

        var signals: Int {
            switch self {
            case .killDaemon(.twice): 2
            case .killDaemon: 1
            case .restartPostgres: 0
            }
        }
    }

    enum Kill: Sendable, Equatable {
        /// At the planned moment, whatever the daemon is doing.
        case anytime
        /// At the planned moment or, if the daemon is not estimating then, as soon as one of
        /// its workers holds a job (within a few seconds).
        case midJob
        /// At the planned moment, and the new daemon once more before it is ready (while it
        /// adopts the cluster, migrates or scans).
        case twice
    }

    let seed: UInt64
    /// Length of the writing phase.
    let duration: Double
    let runs: [String]
    let checkpoints: [Checkpoint]
    /// Sorted by time.
    let faults: [(at: Double, fault: Fault)]

    /// Probability that a checkpoint is bad, deleted, or (when good) a single file.
    static let badShare = 0.12
    static let deletedShare = 0.06
    static let singleFileShare = 0.08

    init(seed: UInt64, checkpoints count: Int, kills killCount: Int, duration: Double) {
        var random = SeededRandom(seed: seed)
        self.seed = seed
        self.duration = duration
        let runCount = max(2, min(8, count / 60))
        runs = (1...runCount).map { "run-\($0 < 10 ? "0" : "")\($0)" }

        var nextStep = [String: Int]()
        var checkpoints: [Checkpoint] = []
        var badCount = 0
        // Writes spread evenly over the phase (leaving its first two seconds quiet), each at a
        // random moment of its own slot.
        let writeStart = 2.0
        for index in 0..<count {
            let run = runs.randomElement(using: &random)!
            let first = nextStep[run] == nil
            let step = nextStep[run] ?? 0
            nextStep[run] = step + 10
            let writeAt = writeStart + (duration - writeStart) * (Double(index) + Double.random(in: 0..<1, using: &random)) / Double(count)
            let arrival: Arrival = random.chance(0.5) ? .inPlace : .renamed
            var checkpoint = Checkpoint(
                id: index, run: run, step: step, content: .untrained, defect: nil, layout: .folder, arrival: arrival,
                writeAt: writeAt)
            let roll = Double.random(in: 0..<1, using: &random)
            if first {
                // A run's first checkpoint is its untrained start, like a trainer's step 0.
                checkpoint.content = .untrained
            } else if roll < Self.badShare {
                // In turn, so that every kind of damage appears once there are four bad ones.
                let defect = Defect.allCases[badCount % Defect.allCases.count]
                badCount += 1
                checkpoint.defect = defect
                checkpoint.content = defect.content
            } else {
                checkpoint.content = random.chance(0.1) ? .untrained : (random.chance(0.5) ? .early : .trained)
                if random.chance(Self.singleFileShare) { checkpoint.layout = .singleFile }
                // Later actions stay inside the writing phase (a checkpoint written at its very
                // end may be deleted or rewritten a little after it).
                let later = { (delay: Double) in max(min(writeAt + delay, duration), writeAt + 0.2) }
                if roll < Self.badShare + Self.deletedShare {
                    checkpoint.deletion = random.chance(0.5)
                        ? .early(at: writeAt + Double.random(in: 0.2..<2.5, using: &random))
                        : .afterProcessing(at: later(Double.random(in: 5..<30, using: &random)))
                } else {
                    let rewrites = random.chance(0.2) ? (random.chance(0.25) ? 2 : 1) : 0
                    checkpoint.rewrites = (0..<rewrites).map { _ in
                        Rewrite(
                            at: later(Double.random(in: 1.5..<40, using: &random)),
                            mode: random.chance(0.5) ? .inPlace : .replaced)
                    }.sorted { $0.at < $1.at }
                }
            }
            checkpoints.append(checkpoint)
        }
        // Language-model checkpoints, good and whole, written over the phase's first two thirds
        // so that their shards finish before the queue drains.
        let languageCount = max(1, count / 40)
        for index in 0..<languageCount {
            let writeAt = writeStart + (duration * 2 / 3 - writeStart) * (Double(index) + Double.random(in: 0..<1, using: &random)) / Double(languageCount)
            checkpoints.append(Checkpoint(
                id: count + index, run: Self.languageRun, step: 10 * index, content: .language, defect: nil, layout: .folder,
                arrival: random.chance(0.5) ? .inPlace : .renamed, writeAt: writeAt))
        }
        self.checkpoints = checkpoints

        // Kills: one in each of `killCount` equal slots after the first few seconds, at a random
        // moment inside the slot; PostgreSQL's restart somewhere in the middle, away from them.
        let killStart = min(8.0, duration / 4)
        var kills = (0..<killCount).map { slot in
            killStart + (duration - killStart) * (Double(slot) + Double.random(in: 0.1..<0.9, using: &random)) / Double(killCount)
        }
        kills.sort()
        var restart = duration * Double.random(in: 0.35..<0.65, using: &random)
        while kills.contains(where: { abs($0 - restart) < 4 }) { restart += 1 }
        // Of every four kills, two aim at a running job, one also kills the restarted daemon, one
        // comes at any moment.
        let pattern: [Kill] = [.midJob, .twice, .midJob, .anytime]
        faults = (kills.enumerated().map { (at: $0.element, fault: Fault.killDaemon(pattern[$0.offset % pattern.count])) }
            + [(at: restart, fault: .restartPostgres)]).sorted { $0.at < $1.at }
    }

    var good: [Checkpoint] { checkpoints.filter(\.isGood) }
    var bad: [Checkpoint] { checkpoints.filter { $0.defect != nil } }
    var deleted: [Checkpoint] { checkpoints.filter { $0.deletion != nil } }
    /// SIGKILLs planned (a kill during start-up is a second one).
    var kills: Int { faults.reduce(0) { $0 + $1.fault.signals } }
    var rewrites: Int { checkpoints.reduce(0) { $0 + $1.rewrites.count } }
}
