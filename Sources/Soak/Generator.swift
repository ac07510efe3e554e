import Base

/// Plays the trainers: performs the plan's writes, identical rewrites and deletions at their
/// times. A deletion "after processing" waits until the checkpoint's job is done (read from the
/// database); every deletion records whether the checkpoint had been processed when it went.
struct Generator: Sendable {
    struct Report: Sendable {
        var written = 0
        var rewritten = 0
        /// Deleted checkpoints (by id) and whether their job was done at that moment.
        var deletedAfterProcessing: [Int: Bool] = [:]
    }

    private enum Action: Sendable {
        case createRun(String)
        case write(SoakPlan.Checkpoint)
        case rewrite(SoakPlan.Checkpoint, SoakPlan.Rewrite.Mode)
        case delete(SoakPlan.Checkpoint, waitingSince: Double?)
    }

    let plan: SoakPlan
    let writer: CheckpointWriter
    let database: SoakDatabase
    private let blocking = BlockingQueue(label: "volumed-soak.generator")

    /// How long a deletion "after processing" waits for the job before deleting anyway.
    static let processingWait = 120.0

    init(plan: SoakPlan, writer: CheckpointWriter, database: SoakDatabase) {
        self.plan = plan
        self.writer = writer
        self.database = database
    }

    func run(from start: ContinuousClock.Instant) async throws -> Report {
        var queue: [(at: Double, action: Action)] = []
        var runsCreated = Set<String>()
        for checkpoint in plan.checkpoints {
            if runsCreated.insert(checkpoint.run).inserted {
                queue.append((checkpoint.writeAt, .createRun(checkpoint.run)))
            }
            queue.append((checkpoint.writeAt, .write(checkpoint)))
            for rewrite in checkpoint.rewrites { queue.append((rewrite.at, .rewrite(checkpoint, rewrite.mode))) }
            if let deletion = checkpoint.deletion { queue.append((deletion.at, .delete(checkpoint, waitingSince: nil))) }
        }
        // Stable: a run is created before its first checkpoint is written at the same moment.
        queue = queue.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)

        var report = Report()
        let clock = ContinuousClock()
        while !queue.isEmpty {
            let (at, action) = queue.removeFirst()
            try await clock.sleep(until: start + .milliseconds(Int64(at * 1000)))
            switch action {
            case .createRun(let run):
                try await blocking.run { [writer] in try writer.createRun(run) }
            case .write(let checkpoint):
                try await blocking.run { [writer] in try writer.write(checkpoint) }
                report.written += 1
            case .rewrite(let checkpoint, let mode):
                try await blocking.run { [writer] in try writer.rewrite(checkpoint, mode: mode) }
                report.rewritten += 1
            case .delete(let checkpoint, let waitingSince):
                let done = try await database.isDone(path: writer.path(of: checkpoint))
                if case .afterProcessing = checkpoint.deletion, !done {
                    let since = waitingSince ?? at
                    if at - since < Self.processingWait {
                        let later = at + 1
                        let index = queue.firstIndex { $0.at > later } ?? queue.count
                        queue.insert((later, .delete(checkpoint, waitingSince: since)), at: index)
                        continue
                    }
                }
                try await blocking.run { [writer] in try writer.delete(checkpoint) }
                report.deletedAfterProcessing[checkpoint.id] = done
            }
        }
        return report
    }
}
