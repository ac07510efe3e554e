import Base
import Estimator
import SystemPackage

/// Finds checkpoint units under a watch root and takes their snapshots, with `readdir` and
/// `stat` only (plus reading a shard index); which names count is `CheckpointLayout`'s to say.
/// Symbolic links to run and checkpoint folders are followed; loops, links that lead back to an
/// enclosing folder, dangling links and unreadable folders are reported as `ScanProblem`s and
/// skipped. The walk goes through fixed names at fixed depths only — root, run, the run's
/// `checkpoints/` or `lightning_logs/version_<N>/checkpoints/`, checkpoint folder — so no link can
/// make it run away.
public struct CheckpointScanner: Sendable {
    /// The watch root without trailing slashes.
    public let root: String

    public init(root: String) {
        var root = root
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    /// A run folder, or a nested folder that holds checkpoints of a run
    /// (`CheckpointLayout.NestedFolder`).
    public struct Run: Hashable, Sendable {
        /// The run's name in the store: the root entry's name, or
        /// `<name>/lightning_logs/version_<N>` for a Lightning version.
        public var name: String
        /// The run's folder (a Lightning version's `version_<N>` folder).
        public var path: String
        /// The folder its checkpoints are listed from: `path`, or the nested folder.
        public var folder: String
        /// Which nested folder `folder` is; nil for the run folder itself.
        public var nested: CheckpointLayout.NestedFolder?

        public init(name: String, path: String) {
            self.init(name: name, path: path, folder: path, nested: nil)
        }

        public init(name: String, path: String, folder: String, nested: CheckpointLayout.NestedFolder?) {
            self.name = name
            self.path = path
            self.folder = folder
            self.nested = nested
        }
    }

    /// The folders of a run that hold checkpoints, and the folders between them that must be
    /// watched to see them appear.
    public struct RunFolders: Sendable {
        /// The run folder itself first, then its nested folders.
        public var runs: [Run]
        /// `lightning_logs/` and its `version_<N>/` folders.
        public var between: [String]
        public var problems: [ScanProblem]
    }

    /// One entry of a listing, judged.
    public enum Entry<Found: Sendable>: Sendable {
        case found(Found)
        /// Not a run or checkpoint (a plain file in the root, `tmp-checkpoint-*`, …), or gone.
        case ignored
        case problem(ScanProblem)
    }

    /// A complete scan: every run, every unit with its state, every problem met.
    public struct Scan: Sendable {
        public var runs: [Run] = []
        public var units: [ScannedUnit] = []
        public var problems: [ScanProblem] = []
    }

    public struct ScannedUnit: Hashable, Sendable {
        public var unit: CheckpointUnit
        public var state: UnitState
    }

    public enum UnitState: Hashable, Sendable {
        case complete(CheckpointSnapshot)
        /// Present but without a weights file (yet), or unreadable.
        case incomplete
        case missing

        public var snapshot: CheckpointSnapshot? {
            if case .complete(let snapshot) = self { snapshot } else { nil }
        }
    }

    public struct Inspection: Sendable {
        public var state: UnitState
        public var problems: [ScanProblem]
    }

    // MARK: - Walking

    public func scan() -> Scan {
        var scan = Scan()
        let (runs, rootProblems) = runs()
        scan.runs = runs
        scan.problems = rootProblems
        for top in runs {
            let folders = checkpointFolders(of: top)
            scan.problems += folders.problems
            for run in folders.runs {
                let (units, problems) = units(in: run)
                scan.problems += problems
                for unit in units {
                    let inspection = inspect(unit)
                    scan.units.append(ScannedUnit(unit: unit, state: inspection.state))
                    scan.problems += inspection.problems
                }
            }
        }
        return scan
    }

    /// The run folders in the root, sorted by name. Hidden entries are skipped.
    public func runs() -> (runs: [Run], problems: [ScanProblem]) {
        let names: [String]
        do {
            names = try Directory.entries(root)
        } catch {
            return ([], [ScanProblem(path: root, reason: error == .noSuchFileOrDirectory ? .missing : .unreadable(error))])
        }
        var runs: [Run] = []
        var problems: [ScanProblem] = []
        for name in names.sorted() {
            switch run(named: name) {
            case .found(let run): runs.append(run)
            case .ignored: break
            case .problem(let problem): problems.append(problem)
            }
        }
        return (runs, problems)
    }

    /// Judges the root entry `name`: a run when it is (or links to) a folder.
    public func run(named name: String) -> Entry<Run> {
        guard !name.hasPrefix("."), !name.isEmpty, !name.contains("/") else { return .ignored }
        let path = root + "/" + name
        switch folderStatus(path, nameClaimsFolder: false) {
        case .found(let status):
            if let rootStatus = try? FileStatus.of(root), status.isSameNode(as: rootStatus) {
                return .problem(ScanProblem(path: path, reason: .cycle(target: root)))
            }
            return .found(Run(name: name, path: path))
        case .ignored: return .ignored
        case .problem(let problem): return .problem(problem)
        }
    }

    /// The folders of the run folder `run` that hold checkpoints: the run folder, its
    /// `checkpoints/` (the same run), and each `lightning_logs/version_<N>/checkpoints/` (the run
    /// `<run>/lightning_logs/version_<N>`). Each must be (or link to) a folder that is none of
    /// the folders above it. Only listed names are looked at: a folder that cannot be listed is
    /// reported once, by whoever lists it (`units(in:)` for the run folder).
    public func checkpointFolders(of run: Run) -> RunFolders {
        var folders = RunFolders(runs: [run], between: [], problems: [])
        func listing(_ path: String, reportingTo problems: inout [ScanProblem]) -> Set<String> {
            do {
                return Set(try Directory.entries(path))
            } catch {
                if error != .noSuchFileOrDirectory { problems.append(ScanProblem(path: path, reason: .unreadable(error))) }
                return []
            }
        }
        func nestedFolder(_ path: String, below enclosing: [String]) -> Bool {
            switch folderStatus(path, nameClaimsFolder: false) {
            case .found(let status):
                for folder in enclosing {
                    if let enclosingStatus = try? FileStatus.of(folder), status.isSameNode(as: enclosingStatus) {
                        folders.problems.append(ScanProblem(path: path, reason: .cycle(target: folder)))
                        return false
                    }
                }
                return true
            case .ignored: return false
            case .problem(let problem):
                folders.problems.append(problem)
                return false
            }
        }
        var ignored: [ScanProblem] = []
        let names = listing(run.path, reportingTo: &ignored)
        let checkpoints = run.path + "/" + CheckpointLayout.checkpointsFolderName
        if names.contains(CheckpointLayout.checkpointsFolderName), nestedFolder(checkpoints, below: [root, run.path]) {
            folders.runs.append(Run(name: run.name, path: run.path, folder: checkpoints, nested: .checkpoints))
        }
        let logs = run.path + "/" + CheckpointLayout.lightningLogsFolderName
        guard names.contains(CheckpointLayout.lightningLogsFolderName), nestedFolder(logs, below: [root, run.path]) else {
            return folders
        }
        folders.between.append(logs)
        for version in listing(logs, reportingTo: &folders.problems).sorted() where CheckpointLayout.isLightningVersionName(version) {
            let versionPath = logs + "/" + version
            guard nestedFolder(versionPath, below: [root, run.path, logs]) else { continue }
            folders.between.append(versionPath)
            let versionCheckpoints = versionPath + "/" + CheckpointLayout.checkpointsFolderName
            guard listing(versionPath, reportingTo: &folders.problems).contains(CheckpointLayout.checkpointsFolderName) else { continue }
            if nestedFolder(versionCheckpoints, below: [root, run.path, logs, versionPath]) {
                folders.runs.append(Run(
                    name: run.name + "/" + CheckpointLayout.lightningLogsFolderName + "/" + version, path: versionPath,
                    folder: versionCheckpoints, nested: .lightningVersion))
            }
        }
        return folders
    }

    /// The checkpoint units in a run's folder (`run.folder`), sorted by name.
    public func units(in run: Run) -> (units: [CheckpointUnit], problems: [ScanProblem]) {
        let names: [String]
        do {
            names = try Directory.entries(run.folder)
        } catch {
            return ([], error == .noSuchFileOrDirectory ? [] : [ScanProblem(path: run.folder, reason: .unreadable(error))])
        }
        var units: [CheckpointUnit] = []
        var problems: [ScanProblem] = []
        for name in names.sorted() {
            switch unit(named: name, in: run) {
            case .found(let unit): units.append(unit)
            case .ignored: break
            case .problem(let problem): problems.append(problem)
            }
        }
        return (units, problems)
    }

    /// Judges the entry `name` of a run's folder: a unit when its name says so and it is the
    /// right kind of file system object.
    public func unit(named name: String, in run: Run) -> Entry<CheckpointUnit> {
        guard let unit = CheckpointUnit(name: name, run: run.name, runPath: run.path, folder: run.folder, nested: run.nested) else {
            return .ignored
        }
        guard unit.layout.isFolder else { return .found(unit) }
        switch folderStatus(unit.path, nameClaimsFolder: true) {
        case .found(let status):
            for enclosing in run.folder == run.path ? [run.path, root] : [run.folder, run.path, root] {
                if let enclosingStatus = try? FileStatus.of(enclosing), status.isSameNode(as: enclosingStatus) {
                    return .problem(ScanProblem(path: unit.path, reason: .cycle(target: enclosing)))
                }
            }
            return .found(unit)
        case .ignored: return .ignored
        case .problem(let problem): return .problem(problem)
        }
    }

    // MARK: - Inspecting

    /// The unit's current state: its snapshot when it holds a weights file.
    public func inspect(_ unit: CheckpointUnit) -> Inspection {
        unit.layout.isFolder ? inspectFolder(unit) : inspectFile(unit)
    }

    private func inspectFile(_ unit: CheckpointUnit) -> Inspection {
        switch followedStatus(unit.path) {
        case .found(let status):
            guard status.kind == .regular else {
                return Inspection(state: .missing, problems: [ScanProblem(path: unit.path, reason: .notAFile)])
            }
            return Inspection(state: .complete(CheckpointSnapshot(files: [Self.file(unit.name, status)])), problems: [])
        case .ignored:
            return Inspection(state: .missing, problems: [])
        case .problem(let problem):
            return Inspection(state: .missing, problems: [problem])
        }
    }

    private func inspectFolder(_ unit: CheckpointUnit) -> Inspection {
        let names: Set<String>
        do {
            names = Set(try Directory.entries(unit.path))
        } catch .noSuchFileOrDirectory {
            return Inspection(state: .missing, problems: [])
        } catch .notDirectory {
            return Inspection(state: .missing, problems: [ScanProblem(path: unit.path, reason: .notAFolder)])
        } catch .tooManySymbolicLinkLevels {
            return Inspection(state: .missing, problems: [ScanProblem(path: unit.path, reason: .symlinkLoop)])
        } catch {
            return Inspection(state: .incomplete, problems: [ScanProblem(path: unit.path, reason: .unreadable(error))])
        }

        let contentNames = CheckpointLayout.candidateContentFileNames(in: unit.path, listing: names, form: unit.layout)
        var files: [CheckpointSnapshot.File] = []
        var problems: [ScanProblem] = []
        for name in contentNames.sorted() {
            switch followedStatus(unit.path + "/" + name) {
            case .found(let status) where status.kind == .regular:
                files.append(Self.file(name, status))
            case .found, .ignored:
                break
            case .problem(let problem):
                problems.append(problem)
            }
        }
        let hasWeights = CheckpointLayout.hasWeights(files.map(\.name))
        return Inspection(state: hasWeights ? .complete(CheckpointSnapshot(files: files)) : .incomplete, problems: problems)
    }

    private static func file(_ name: String, _ status: FileStatus) -> CheckpointSnapshot.File {
        CheckpointSnapshot.File(
            name: name, size: status.size, modifiedSeconds: status.modifiedSeconds,
            modifiedNanoseconds: status.modifiedNanoseconds, inode: status.inode)
    }

    // MARK: - Classifying paths

    /// `stat` of something that should be a folder. When its name claims it is one
    /// (`checkpoint-*`), anything else is a problem worth a warning; a plain file in the root is
    /// just not a run.
    private func folderStatus(_ path: String, nameClaimsFolder: Bool) -> Entry<FileStatus> {
        switch followedStatus(path) {
        case .found(let status):
            if status.kind == .directory { return .found(status) }
            return nameClaimsFolder ? .problem(ScanProblem(path: path, reason: .notAFolder)) : .ignored
        case .ignored: return .ignored
        case .problem(let problem): return .problem(problem)
        }
    }

    /// `stat` through symbolic links, turning the ways a link can fail into problems. A path
    /// that vanished between listing and `stat` is `.ignored`.
    private func followedStatus(_ path: String) -> Entry<FileStatus> {
        do {
            return .found(try FileStatus.of(path))
        } catch .tooManySymbolicLinkLevels {
            return .problem(ScanProblem(path: path, reason: .symlinkLoop))
        } catch .noSuchFileOrDirectory {
            if let link = try? FileStatus.of(path, followingSymlinks: false), link.kind == .symbolicLink {
                return .problem(ScanProblem(path: path, reason: .danglingSymlink))
            }
            return .ignored
        } catch {
            return .problem(ScanProblem(path: path, reason: .unreadable(error)))
        }
    }
}

/// Something under the watch root that had to be skipped. The watcher logs each one once as a
/// warning and keeps serving.
public struct ScanProblem: Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// The watch root does not exist.
        case missing
        case unreadable(Errno)
        case symlinkLoop
        case danglingSymlink
        /// A symbolic link leading back to an enclosing folder.
        case cycle(target: String)
        /// Named like a checkpoint folder but not a folder (a file, a FIFO, …).
        case notAFolder
        /// Named like a `step-N.safetensors` checkpoint but not a regular file.
        case notAFile
        /// inotify refused a watch (e.g. the `fs.inotify.max_user_watches` limit); only the
        /// periodic rescan covers this folder.
        case notWatched(Errno)
    }

    public var path: String
    public var reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .missing:
            "\(path) does not exist"
        case .unreadable(let errno):
            "cannot read \(path): \(errno); skipped"
        case .symlinkLoop:
            "\(path) is a symbolic link loop; skipped"
        case .danglingSymlink:
            "\(path) is a symbolic link to nothing; skipped"
        case .cycle(let target):
            "\(path) leads back to its enclosing folder \(target) (a symbolic link cycle); skipped"
        case .notAFolder:
            "\(path) is named like a checkpoint folder but is not a folder; skipped"
        case .notAFile:
            "\(path) is named like a checkpoint file but is not a regular file; skipped"
        case .notWatched(let errno):
            errno == .noSpace
                ? "cannot watch \(path): the inotify watch limit is reached (raise fs.inotify.max_user_watches); only periodic rescans will see changes there"
                : "cannot watch \(path): \(errno); only periodic rescans will see changes there"
        }
    }
}
