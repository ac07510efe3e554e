import Base
import Estimator
import Glibc
import Logging

/// The watcher's thread: owns the inotify session, the watch table and the settler, and turns
/// inotify events, scans and the passage of time into `WatchEvent`s. Everything here runs on
/// that one thread, including every `readdir`/`stat` (which can block on network filesystems).
final class WatchLoop {
    struct Settings: Sendable {
        var root: String
        var settleTime: Duration
        /// nil: no periodic rescans.
        var rescanInterval: Duration?
    }

    /// A folder we hold an inotify watch on. Only the levels where checkpoint content can
    /// appear are watched: the root (new runs), run folders and their nested checkpoint folders
    /// (new checkpoint folders and files), the folders between a run and its nested folders
    /// (`lightning_logs/`, `version_<N>/`: new nested folders) and checkpoint folders (their
    /// files). Deeper folders (DeepSpeed's `global_step*/`, …) hold no checkpoint content
    /// (docs/architecture.md, "Watched folder"), and `tmp-checkpoint-*` folders are picked up when
    /// they are renamed into place.
    private enum Folder {
        case root(String)
        /// A folder that holds checkpoints: a run folder or a nested one (`run.folder`).
        case run(CheckpointScanner.Run)
        /// A folder between the run folder `run` and a nested checkpoint folder.
        case between(String, run: CheckpointScanner.Run)
        case unit(CheckpointUnit)

        var path: String {
            switch self {
            case .root(let path): path
            case .run(let run): run.folder
            case .between(let path, _): path
            case .unit(let unit): unit.path
            }
        }
    }

    private static let folderMask: InotifyMask = [
        .create, .modify, .attrib, .closeWrite, .movedFrom, .movedTo, .delete, .deleteSelf, .moveSelf, .onlyDirectory,
    ]

    private let settings: Settings
    private let scanner: CheckpointScanner
    private let logger: Logger
    private let emit: (WatchEvent) -> Void
    private let session: InotifySession
    private let clock: WatchClock

    private var settler: Settler
    private var folders: [Int32: Folder] = [:]
    private var watchByPath: [String: Int32] = [:]
    private var rootWatched = false
    private var overflowed = false
    /// Problems already logged; a full scan replaces the set, so a problem that was fixed and
    /// comes back is logged again.
    private var reported: Set<ScanProblem> = []

    init(settings: Settings, clock: WatchClock, logger: Logger, emit: @escaping (WatchEvent) -> Void) throws(WatcherError) {
        self.settings = settings
        self.clock = clock
        self.scanner = CheckpointScanner(root: settings.root)
        self.logger = logger
        self.emit = emit
        self.session = try InotifySession()
        self.settler = Settler(settleTime: settings.settleTime)
    }

    /// Runs until `shouldStop` returns true (checked at least once a second).
    func run(shouldStop: () -> Bool, takeRescanRequest: () -> Bool) throws(WatcherError) {
        fullScan(.startup)
        // Re-inspect pending checkpoints a few times per settle period, at least once a second
        // and at most ten times.
        let tick = max(min(settings.settleTime / 4, .seconds(1)), .milliseconds(100))
        var nextSettle = clock.now + tick
        var nextRescan = settings.rescanInterval.map { clock.now + $0 }

        while !shouldStop() {
            let event: InotifyEvent?
            do {
                event = try session.nextEvent(timeoutSeconds: 1)
            } catch {
                throw WatcherError(reason: .read(error))
            }
            if let event {
                handle(event)
            }
            let now = clock.now
            if overflowed {
                overflowed = false
                fullScan(.overflow)
            } else if takeRescanRequest() {
                fullScan(.requested)
            } else if let due = nextRescan, now >= due {
                fullScan(.periodic)
            }
            if let interval = settings.rescanInterval, let due = nextRescan, now >= due {
                nextRescan = now + interval
            }
            if now >= nextSettle {
                settle(at: now)
                nextSettle = now + tick
            }
        }
    }

    // MARK: - Events

    private func handle(_ event: InotifyEvent) {
        if event.mask.contains(.queueOverflow) {
            logger.warning("inotify event queue overflowed; rescanning the watch root", metadata: ["root": "\(settings.root)"])
            overflowed = true
            settler.forgetOpenFiles()
            return
        }
        guard let folder = folders[event.watch] else { return }
        if event.mask.contains(.ignored) {
            unregister(event.watch)
            if case .root = folder { lostRoot() }
            return
        }
        if case .root = folder, !event.mask.isDisjoint(with: [.deleteSelf, .moveSelf]) {
            lostRoot()
            return
        }
        guard !event.name.isEmpty else { return }
        let now = clock.now
        let appeared = !event.mask.isDisjoint(with: [.create, .movedTo])
        let vanished = !event.mask.isDisjoint(with: [.delete, .movedFrom])

        switch folder {
        case .root(let root):
            if appeared {
                addRun(named: event.name)
            } else if vanished {
                drop(root + "/" + event.name)
            }
        case .run(let run) where run.nested == nil && Self.leadsToNestedFolders(event.name):
            if appeared {
                report(watchRun(run, at: now).problems)
            } else if vanished {
                drop(run.path + "/" + event.name)
            }
        case .between(let path, let run):
            guard event.name == CheckpointLayout.checkpointsFolderName || CheckpointLayout.isLightningVersionName(event.name) else { return }
            if appeared {
                report(watchRun(run, at: now).problems)
            } else if vanished {
                drop(path + "/" + event.name)
            }
        case .run(let run):
            guard let unit = CheckpointUnit(name: event.name, run: run.name, runPath: run.path, folder: run.folder, nested: run.nested) else { return }
            if !unit.layout.isFolder {
                settler.note(activity(event, path: unit.path), file: unit.name, of: unit, at: now)
            } else if appeared {
                addUnitFolder(named: event.name, in: run)
            } else if vanished {
                drop(unit.path)
            }
        case .unit(let unit):
            guard !event.mask.contains(.isDirectory) else { return }
            settler.note(activity(event, path: unit.path + "/" + event.name), file: event.name, of: unit, at: now)
        }
    }

    private func activity(_ event: InotifyEvent, path: String) -> Settler.FileActivity {
        if event.mask.contains(.create) {
            // A new regular file is open for writing until IN_CLOSE_WRITE. Symbolic links and
            // hard links are created complete: no close event will follow.
            guard let status = try? FileStatus.of(path, followingSymlinks: false), status.kind == .regular,
                status.linkCount == 1
            else { return .touched }
            return .writing
        }
        if event.mask.contains(.modify) { return .writing }
        if !event.mask.isDisjoint(with: [.closeWrite, .movedTo]) { return .closed }
        if !event.mask.isDisjoint(with: [.delete, .movedFrom]) { return .removed }
        return .touched
    }

    // MARK: - Folders appearing and vanishing

    /// `checkpoints` and `lightning_logs` in a run folder.
    private static func leadsToNestedFolders(_ name: String) -> Bool {
        name == CheckpointLayout.checkpointsFolderName || name == CheckpointLayout.lightningLogsFolderName
    }

    private func addRun(named name: String) {
        switch scanner.run(named: name) {
        case .found(let run):
            report(watchRun(run, at: clock.now).problems)
        case .ignored:
            break
        case .problem(let problem):
            report([problem])
        }
    }

    private func addUnitFolder(named name: String, in run: CheckpointScanner.Run) {
        switch scanner.unit(named: name, in: run) {
        case .found(let unit):
            // Watch first, then look: files written between the mkdir (or rename) and the
            // watch produce no events, so the inspection is what finds them.
            watch(.unit(unit))
            let inspection = scanner.inspect(unit)
            settler.observe(unit, state: inspection.state, at: clock.now)
            report(inspection.problems)
        case .ignored:
            break
        case .problem(let problem):
            report([problem])
        }
    }

    /// Watches a run folder, the nested folders that hold its checkpoints and the folders
    /// between, then inspects every unit in them. Watch first, then look, a level at a time: a
    /// folder made before its parent was watched is in the next listing. The levels are fixed
    /// (`CheckpointScanner.checkpointFolders`), so the rounds are few.
    private func watchRun(
        _ run: CheckpointScanner.Run, at now: ContinuousClock.Instant
    ) -> (folders: [String], units: [CheckpointScanner.ScannedUnit], problems: [ScanProblem]) {
        var problems: [ScanProblem] = []
        if let problem = watch(.run(run)) { problems.append(problem) }
        var watched: Set<String> = [run.path]
        var folders = scanner.checkpointFolders(of: run)
        for _ in 0..<4 {
            var added = false
            for path in folders.between where watched.insert(path).inserted {
                if let problem = watch(.between(path, run: run)) { problems.append(problem) }
                added = true
            }
            for nested in folders.runs where watched.insert(nested.folder).inserted {
                if let problem = watch(.run(nested)) { problems.append(problem) }
                added = true
            }
            guard added else { break }
            folders = scanner.checkpointFolders(of: run)
        }
        problems += folders.problems
        var units: [CheckpointScanner.ScannedUnit] = []
        for nested in folders.runs {
            let contents = scanContents(of: nested, at: now)
            units += contents.units
            problems += contents.problems
        }
        return (folders.runs.map(\.folder) + folders.between, units, problems)
    }

    /// Watches each unit folder of a run, then inspects it, and hands the results to the settler.
    private func scanContents(
        of run: CheckpointScanner.Run, at now: ContinuousClock.Instant
    ) -> (units: [CheckpointScanner.ScannedUnit], problems: [ScanProblem]) {
        let listing = scanner.units(in: run)
        var problems = listing.problems
        var scanned: [CheckpointScanner.ScannedUnit] = []
        for unit in listing.units {
            if unit.layout.isFolder, let problem = watch(.unit(unit)) {
                problems.append(problem)
            }
            let inspection = scanner.inspect(unit)
            settler.observe(unit, state: inspection.state, at: now)
            problems += inspection.problems
            scanned.append(CheckpointScanner.ScannedUnit(unit: unit, state: inspection.state))
        }
        return (scanned, problems)
    }

    /// Stops watching a folder (and anything watched below it) and forgets its checkpoints.
    /// Removing the watch of a folder that was deleted fails harmlessly (the kernel already
    /// removed it); one that was moved away, or reached through a deleted symbolic link, would
    /// otherwise keep reporting under a stale path.
    private func drop(_ path: String) {
        let prefix = path + "/"
        for (watch, folder) in folders where folder.path == path || folder.path.hasPrefix(prefix) {
            session.removeWatch(watch)
            unregister(watch)
            logger.debug("stopped watching", metadata: ["path": "\(folder.path)"])
        }
        settler.forget(under: path)
    }

    private func lostRoot() {
        logger.warning(
            "the watch root was deleted or moved; watching again once it exists (checked at each rescan)",
            metadata: ["root": "\(settings.root)"])
        for watch in folders.keys {
            session.removeWatch(watch)
        }
        folders.removeAll()
        watchByPath.removeAll()
        settler.forget(under: settings.root)
        rootWatched = false
    }

    // MARK: - Scans

    private func fullScan(_ reason: ScanReport.Reason) {
        let now = clock.now
        var problems: [ScanProblem] = []
        if !rootWatched {
            if let problem = watch(.root(settings.root)) { problems.append(problem) }
            rootWatched = watchByPath[settings.root] != nil
        }
        let (runs, rootProblems) = scanner.runs()
        problems += rootProblems

        var found = Set<String>()
        var complete = 0
        for run in runs {
            let contents = watchRun(run, at: now)
            found.formUnion(contents.folders)
            problems += contents.problems
            for scanned in contents.units {
                found.insert(scanned.unit.path)
                if scanned.state.snapshot != nil { complete += 1 }
            }
        }
        // Folders deleted or moved while events were lost (overflow) or never delivered.
        for (watch, folder) in folders where folder.path != settings.root && !found.contains(folder.path) {
            session.removeWatch(watch)
            unregister(watch)
        }
        settler.retainOnly(found, under: settings.root)

        let current = Set(problems)
        for problem in problems where !reported.contains(problem) {
            logger.warning("\(problem)")
        }
        reported = current

        let report = ScanReport(reason: reason, runs: runs.count, checkpoints: complete, problems: current.count)
        logger.log(
            level: reason == .periodic ? .debug : .info, "scanned the watch root",
            metadata: [
                "root": "\(settings.root)", "reason": "\(reason)", "runs": "\(report.runs)",
                "checkpoints": "\(report.checkpoints)", "problems": "\(report.problems)",
            ])
        emit(.scanCompleted(report))
    }

    private func settle(at now: ContinuousClock.Instant) {
        let settled = settler.settle(at: now) { unit in
            let inspection = scanner.inspect(unit)
            report(inspection.problems)
            return inspection.state
        }
        for checkpoint in settled {
            logger.info(
                "checkpoint settled",
                metadata: [
                    "run": "\(checkpoint.run)", "path": "\(checkpoint.path)",
                    "step": "\(checkpoint.step.map(String.init) ?? "none")",
                    "files": "\(checkpoint.snapshot.files.count)", "bytes": "\(checkpoint.snapshot.totalBytes)",
                ])
            emit(.settled(checkpoint))
        }
    }

    // MARK: - Watch table

    /// Watches a folder; returns the problem when inotify refuses. Asking again for a folder
    /// already watched is cheap and returns the same descriptor; a different one means the
    /// path now names another folder (renamed over, or deleted and re-created).
    @discardableResult
    private func watch(_ folder: Folder) -> ScanProblem? {
        let watch: Int32
        do {
            watch = try session.watch(folder.path, mask: Self.folderMask)
        } catch .noSuchFileOrDirectory, .notDirectory {
            return nil  // gone again, or not a folder: nothing to watch
        } catch {
            let problem = ScanProblem(path: folder.path, reason: .notWatched(error))
            report([problem])
            return problem
        }
        if let previous = watchByPath[folder.path], previous != watch {
            session.removeWatch(previous)
            unregister(previous)
        }
        if let existing = folders[watch], existing.path != folder.path {
            // The same folder under another name (a symbolic link): its events already arrive
            // under the first name; rescans cover this one.
            logger.debug("folder already watched under another name", metadata: ["path": "\(folder.path)", "as": "\(existing.path)"])
            return nil
        }
        folders[watch] = folder
        watchByPath[folder.path] = watch
        return nil
    }

    private func unregister(_ watch: Int32) {
        if let folder = folders.removeValue(forKey: watch) {
            watchByPath[folder.path] = nil
        }
    }

    private func report(_ problems: [ScanProblem]) {
        for problem in problems where reported.insert(problem).inserted {
            logger.warning("\(problem)")
        }
    }
}
