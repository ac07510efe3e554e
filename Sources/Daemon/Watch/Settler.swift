/// A checkpoint whose content files are closed and have not changed for `settle_seconds`:
/// ready to be enqueued. Emitted once per snapshot; files that change later make a new one.
public struct SettledCheckpoint: Hashable, Sendable {
    public var unit: CheckpointUnit
    public var snapshot: CheckpointSnapshot

    public init(unit: CheckpointUnit, snapshot: CheckpointSnapshot) {
        self.unit = unit
        self.snapshot = snapshot
    }

    /// The run's folder name.
    public var run: String { unit.run }
    public var runPath: String { unit.runPath }
    /// The checkpoint folder or `step-N.safetensors` file.
    public var path: String { unit.path }
    public var step: Int? { unit.step }
}

/// Decides when a checkpoint has settled (docs/architecture.md, "Watcher"): its content files are
/// closed (every IN_CREATE/IN_MODIFY answered by IN_CLOSE_WRITE or IN_MOVED_TO) and its
/// snapshot has not changed for `settleTime`.
///
/// A pure state machine: the watcher feeds it scans and inotify activity and calls `settle`
/// periodically with the current time and a way to re-inspect a unit. Units are tracked while
/// they may still change ("pending"); each settled snapshot is remembered so the same files are
/// never emitted twice, whatever rescans and duplicate events say.
public struct Settler: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// What an inotify event says about one file of a unit.
    public enum FileActivity: Sendable {
        /// IN_CREATE, IN_MODIFY: being written.
        case writing
        /// IN_CLOSE_WRITE, IN_MOVED_TO: written and closed (or atomically renamed into place).
        case closed
        /// IN_DELETE, IN_MOVED_FROM: gone from the unit.
        case removed
        /// IN_ATTRIB: metadata changed (e.g. `touch`).
        case touched
    }

    public let settleTime: Duration

    private struct Pending: Sendable {
        var unit: CheckpointUnit
        /// The last snapshot seen; nil before the first inspection or while incomplete.
        var snapshot: CheckpointSnapshot?
        var lastChange: Instant
        /// Files written to and not yet closed.
        var writing: Set<String> = []
    }

    private var pending: [String: Pending] = [:]
    private var emitted: [String: CheckpointSnapshot] = [:]

    public init(settleTime: Duration) {
        self.settleTime = settleTime
    }

    /// Units that may still change and are re-inspected on every `settle`.
    public var pendingCount: Int { pending.count }

    /// A unit seen by a scan, or right after its folder appeared.
    public mutating func observe(_ unit: CheckpointUnit, state: CheckpointScanner.UnitState, at now: Instant) {
        switch state {
        case .missing:
            forget(under: unit.path)
        case .incomplete:
            if pending[unit.path]?.snapshot != nil {
                pending[unit.path]?.snapshot = nil
                pending[unit.path]?.lastChange = now
            }
        case .complete(let snapshot):
            if var entry = pending[unit.path] {
                if entry.snapshot != snapshot {
                    entry.snapshot = snapshot
                    entry.lastChange = now
                    pending[unit.path] = entry
                }
            } else if emitted[unit.path] != snapshot {
                pending[unit.path] = Pending(unit: unit, snapshot: snapshot, lastChange: now)
            }
        }
    }

    /// An inotify event on `file` inside `unit` (for a `step-N.safetensors` unit, the file is
    /// the unit itself). Files that are not checkpoint content are ignored.
    public mutating func note(_ activity: FileActivity, file: String, of unit: CheckpointUnit, at now: Instant) {
        let known = pending[unit.path]?.snapshot ?? emitted[unit.path]
        let isContent = unit.layout.isFolder
            ? unit.isContentFileName(file) || known?.contains(file) == true
            : file == unit.name
        guard isContent else { return }

        var entry = pending[unit.path] ?? Pending(unit: unit, snapshot: nil, lastChange: now)
        switch activity {
        case .writing: entry.writing.insert(file)
        case .closed, .removed: entry.writing.remove(file)
        case .touched: break
        }
        entry.lastChange = now
        pending[unit.path] = entry
    }

    /// Drops everything known about units at or under `path` (a deleted or moved-away folder).
    public mutating func forget(under path: String) {
        let prefix = path + "/"
        pending = pending.filter { $0.key != path && !$0.key.hasPrefix(prefix) }
        emitted = emitted.filter { $0.key != path && !$0.key.hasPrefix(prefix) }
    }

    /// After a full scan of `scope`: forgets tracked units under it that the scan did not find.
    public mutating func retainOnly(_ paths: Set<String>, under scope: String) {
        let prefix = scope + "/"
        func keep(_ path: String) -> Bool { paths.contains(path) || !(path == scope || path.hasPrefix(prefix)) }
        pending = pending.filter { keep($0.key) }
        emitted = emitted.filter { keep($0.key) }
    }

    /// After an inotify queue overflow the open/close history is incomplete; from then on only
    /// snapshot stability decides.
    public mutating func forgetOpenFiles() {
        for path in pending.keys {
            pending[path]?.writing.removeAll()
        }
    }

    /// Re-inspects every pending unit and returns those that settled, sorted by path.
    public mutating func settle(
        at now: Instant, inspect: (CheckpointUnit) -> CheckpointScanner.UnitState
    ) -> [SettledCheckpoint] {
        var settled: [SettledCheckpoint] = []
        for (path, var entry) in pending {
            let quiet = entry.lastChange.duration(to: now) >= settleTime
            switch inspect(entry.unit) {
            case .missing:
                forget(under: path)
            case .incomplete:
                if entry.snapshot != nil {
                    entry.snapshot = nil
                    entry.lastChange = now
                    pending[path] = entry
                } else if quiet, entry.writing.isEmpty {
                    // Nothing to wait for: a new event or scan brings it back.
                    pending[path] = nil
                }
            case .complete(let snapshot):
                if entry.snapshot != snapshot {
                    entry.snapshot = snapshot
                    entry.lastChange = now
                    pending[path] = entry
                } else if quiet, !entry.writing.contains(where: snapshot.contains) {
                    pending[path] = nil
                    if emitted[path] != snapshot {
                        emitted[path] = snapshot
                        settled.append(SettledCheckpoint(unit: entry.unit, snapshot: snapshot))
                    }
                }
            }
        }
        return settled.sorted { $0.path < $1.path }
    }
}
