import Foundation
import Testing

@testable import Daemon

@Suite struct CheckpointScannerTests {
    private func names(_ snapshot: CheckpointSnapshot?) -> [String] {
        snapshot?.files.map(\.name) ?? []
    }

    @Test func findsRunsAndCheckpointUnitsInTheLayout() throws {
        let folder = try TemporaryDirectory()
        try folder.makeFolder("root/run-a/checkpoint-100")
        try folder.write("root/run-a/checkpoint-100/model.safetensors", bytes: 1000)
        try folder.write("root/run-a/checkpoint-100/optimizer.pt", bytes: 300)
        try folder.write("root/run-a/checkpoint-100/config.json", text: "{}")
        try folder.write("root/run-a/checkpoint-100/trainer_state.json", text: "{}")
        try folder.write("root/run-a/checkpoint-100/rng_state.pth", bytes: 10)
        try folder.write("root/run-a/step-7.safetensors", bytes: 64)
        try folder.write("root/run-a/volume.toml", text: "[model]\n")
        try folder.makeFolder("root/run-a/tmp-checkpoint-200")
        try folder.write("root/run-a/tmp-checkpoint-200/model.safetensors", bytes: 8)
        try folder.makeFolder("root/run-b/checkpoint-final")
        try folder.write("root/run-b/checkpoint-final/pytorch_model.bin", bytes: 16)
        try folder.makeFolder("root/run-b/checkpoint-5")
        try folder.write("root/run-b/checkpoint-5/trainer_state.json", text: "{}")
        try folder.makeFolder("root/.cache/checkpoint-1")
        try folder.write("root/README.md", text: "not a run")

        let scanner = CheckpointScanner(root: folder.path + "/root/")
        let scan = scanner.scan()
        let root = folder.path + "/root"
        #expect(scanner.root == root)
        #expect(scan.problems.isEmpty)
        #expect(scan.runs.map(\.name) == ["run-a", "run-b"])
        #expect(scan.units.map(\.unit.path) == [
            "\(root)/run-a/checkpoint-100", "\(root)/run-a/step-7.safetensors",
            "\(root)/run-b/checkpoint-5", "\(root)/run-b/checkpoint-final",
        ])
        #expect(scan.units.map(\.unit.step) == [100, 7, 5, nil])
        #expect(scan.units.map(\.unit.run) == ["run-a", "run-a", "run-b", "run-b"])
        #expect(scan.units.map(\.unit.runPath) == ["\(root)/run-a", "\(root)/run-a", "\(root)/run-b", "\(root)/run-b"])

        let checkpoint = try #require(scan.units[0].state.snapshot)
        #expect(names(checkpoint) == ["config.json", "model.safetensors", "optimizer.pt"])
        #expect(checkpoint.files.map(\.size) == [2, 1000, 300])
        #expect(checkpoint.totalBytes == 1302)
        #expect(names(scan.units[1].state.snapshot) == ["step-7.safetensors"])
        #expect(scan.units[2].state == .incomplete)
        #expect(names(scan.units[3].state.snapshot) == ["pytorch_model.bin"])
    }

    /// A plain training loop's `torch.save` files and Accelerate's `checkpoint_<n>` folders in a
    /// run folder; the other `.pt`/`.pth`/`.bin` files trainers leave there are not checkpoints.
    @Test func findsStateDictFilesAndAccelerateFolders() throws {
        let folder = try TemporaryDirectory()
        try folder.makeFolder("root/run")
        for name in ["step-10.pt", "model_20.pth", "weights-30.bin"] {
            try folder.write("root/run/" + name, bytes: 40)
        }
        for name in ["training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth", "rng_state_0.pth", "optimizer_1.bin",
                     "pytorch_model-00001-of-00002.bin", "config.json"] {
            try folder.write("root/run/" + name, bytes: 3)
        }
        try folder.makeFolder("root/run/checkpoint_0")
        try folder.write("root/run/checkpoint_0/model.safetensors", bytes: 100)
        try folder.write("root/run/checkpoint_0/optimizer.bin", bytes: 200)
        try folder.write("root/run/checkpoint_0/scheduler.bin", bytes: 5)
        try folder.write("root/run/checkpoint_0/random_states_0.pkl", bytes: 6)
        try folder.write("root/run/checkpoint_0/optimizer.pt", bytes: 7)
        try folder.makeFolder("root/run/checkpoint_1")
        try folder.write("root/run/checkpoint_1/optimizer.bin", bytes: 200)

        let scan = CheckpointScanner(root: folder.path + "/root").scan()
        let root = folder.path + "/root"
        #expect(scan.problems.isEmpty)
        #expect(scan.units.map(\.unit.path) == [
            "\(root)/run/checkpoint_0", "\(root)/run/checkpoint_1", "\(root)/run/model_20.pth",
            "\(root)/run/step-10.pt", "\(root)/run/weights-30.bin",
        ])
        #expect(scan.units.map(\.unit.layout) == [.accelerateFolder, .accelerateFolder, .stateDictFile, .stateDictFile, .stateDictFile])
        #expect(scan.units.map(\.unit.step) == [0, 1, 20, 10, 30])
        #expect(names(scan.units[0].state.snapshot) == ["model.safetensors", "optimizer.bin"])
        #expect(scan.units[1].state == .incomplete)
        #expect(names(scan.units[3].state.snapshot) == ["step-10.pt"])
    }

    @Test(arguments: ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"])
    func anyWeightsFileMakesAFolderComplete(weights: String) throws {
        let folder = try TemporaryDirectory()
        try folder.makeFolder("root/run/checkpoint-1")
        try folder.write("root/run/checkpoint-1/config.json", text: "{}")
        let scanner = CheckpointScanner(root: folder.path + "/root")
        let unit = try #require(CheckpointUnit(name: "checkpoint-1", run: "run", runPath: folder.path + "/root/run"))
        #expect(scanner.inspect(unit).state == .incomplete)
        try folder.write("root/run/checkpoint-1/" + weights, text: "{}")
        #expect(names(scanner.inspect(unit).state.snapshot) == ["config.json", weights].sorted())
    }

    @Test func countsTheShardsAnIndexListsAndHFShardNames() throws {
        let folder = try TemporaryDirectory()
        try folder.makeFolder("root/run/checkpoint-3")
        try folder.write(
            "root/run/checkpoint-3/model.safetensors.index.json",
            text: #"{"metadata": {}, "weight_map": {"a.weight": "part-one.safetensors", "b.weight": "part-one.safetensors", "c.weight": "../escape.safetensors"}}"#)
        try folder.write("root/run/checkpoint-3/part-one.safetensors", bytes: 5)
        try folder.write("root/run/checkpoint-3/model-00002-of-00002.safetensors", bytes: 6)
        try folder.write("root/run/checkpoint-3/notes.safetensors", bytes: 7)
        try folder.write("root/escape.safetensors", bytes: 1)
        let scanner = CheckpointScanner(root: folder.path + "/root")
        let unit = try #require(CheckpointUnit(name: "checkpoint-3", run: "run", runPath: folder.path + "/root/run"))
        #expect(names(scanner.inspect(unit).state.snapshot) == [
            "model-00002-of-00002.safetensors", "model.safetensors.index.json", "part-one.safetensors",
        ])
    }

    @Test func snapshotChangesWhenAContentFileChanges() throws {
        let folder = try TemporaryDirectory()
        try folder.makeFolder("root/run/checkpoint-1")
        try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 10)
        let scanner = CheckpointScanner(root: folder.path + "/root")
        let unit = try #require(CheckpointUnit(name: "checkpoint-1", run: "run", runPath: folder.path + "/root/run"))
        let first = try #require(scanner.inspect(unit).state.snapshot)
        try folder.write("root/run/checkpoint-1/trainer_state.json", text: "{\"step\": 1}")
        #expect(scanner.inspect(unit).state.snapshot == first)
        try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 11)
        let second = try #require(scanner.inspect(unit).state.snapshot)
        #expect(second != first)
        #expect(second.files.map(\.size) == [11])
    }

    @Test func skipsSymbolicLinkLoopsWithAProblem() throws {
        let folder = try TemporaryDirectory()
        let root = folder.path + "/root"
        try folder.makeFolder("root/run/checkpoint-1")
        try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 4)
        try folder.symlink("root/run/checkpoint-2", to: "checkpoint-3")
        try folder.symlink("root/run/checkpoint-3", to: "checkpoint-2")
        try folder.symlink("root/loop", to: "loop")
        try folder.symlink("root/run/checkpoint-1/model.safetensors.index.json", to: "model.safetensors.index.json")

        let scan = CheckpointScanner(root: root).scan()
        #expect(scan.runs.map(\.name) == ["run"])
        #expect(scan.units.map(\.unit.name) == ["checkpoint-1"])
        #expect(names(scan.units.first?.state.snapshot) == ["model.safetensors"])
        #expect(Set(scan.problems) == [
            ScanProblem(path: root + "/loop", reason: .symlinkLoop),
            ScanProblem(path: root + "/run/checkpoint-2", reason: .symlinkLoop),
            ScanProblem(path: root + "/run/checkpoint-3", reason: .symlinkLoop),
            ScanProblem(path: root + "/run/checkpoint-1/model.safetensors.index.json", reason: .symlinkLoop),
        ])
        #expect(ScanProblem(path: root + "/loop", reason: .symlinkLoop).description == "\(root)/loop is a symbolic link loop; skipped")
    }

    @Test func skipsLinksThatLeadBackToAnEnclosingFolder() throws {
        let folder = try TemporaryDirectory()
        let root = folder.path + "/root"
        try folder.makeFolder("root/run")
        try folder.symlink("root/again", to: ".")
        try folder.symlink("root/run/checkpoint-8", to: ".")
        try folder.symlink("root/run/checkpoint-9", to: "..")
        let scan = CheckpointScanner(root: root).scan()
        #expect(scan.runs.map(\.name) == ["run"])
        #expect(scan.units.isEmpty)
        #expect(Set(scan.problems) == [
            ScanProblem(path: root + "/again", reason: .cycle(target: root)),
            ScanProblem(path: root + "/run/checkpoint-8", reason: .cycle(target: root + "/run")),
            ScanProblem(path: root + "/run/checkpoint-9", reason: .cycle(target: root)),
        ])
    }

    @Test func followsLinksToRunAndCheckpointFoldersElsewhere() throws {
        let folder = try TemporaryDirectory()
        try folder.makeFolder("root")
        try folder.makeFolder("elsewhere/run/checkpoint-4")
        try folder.write("elsewhere/run/checkpoint-4/model.safetensors", bytes: 3)
        try folder.makeFolder("elsewhere/loose-checkpoint")
        try folder.write("elsewhere/loose-checkpoint/model.safetensors", bytes: 2)
        try folder.symlink("root/linked-run", to: folder.path + "/elsewhere/run")
        try folder.makeFolder("root/run")
        try folder.symlink("root/run/checkpoint-2", to: folder.path + "/elsewhere/loose-checkpoint")
        try folder.symlink("root/run/checkpoint-3", to: folder.path + "/nowhere")

        let root = folder.path + "/root"
        let scan = CheckpointScanner(root: root).scan()
        #expect(scan.units.map(\.unit.path) == ["\(root)/linked-run/checkpoint-4", "\(root)/run/checkpoint-2"])
        #expect(scan.units.allSatisfy { $0.state.snapshot != nil })
        #expect(scan.problems == [ScanProblem(path: root + "/run/checkpoint-3", reason: .danglingSymlink)])
    }

    @Test func skipsFIFOsNamedLikeCheckpointsWithoutBlocking() throws {
        let folder = try TemporaryDirectory()
        let root = folder.path + "/root"
        try folder.makeFolder("root/run/checkpoint-1")
        #expect(mkfifo(root + "/run/checkpoint-4", 0o600) == 0)
        #expect(mkfifo(root + "/run/step-3.safetensors", 0o600) == 0)
        #expect(mkfifo(root + "/run/checkpoint-1/model.safetensors.index.json", 0o600) == 0)
        #expect(mkfifo(root + "/run/checkpoint-1/model.safetensors", 0o600) == 0)

        let scan = CheckpointScanner(root: root).scan()
        #expect(scan.units.map(\.unit.name) == ["checkpoint-1", "step-3.safetensors"])
        #expect(scan.units.map(\.state) == [.incomplete, .missing])
        #expect(Set(scan.problems) == [
            ScanProblem(path: root + "/run/checkpoint-4", reason: .notAFolder),
            ScanProblem(path: root + "/run/step-3.safetensors", reason: .notAFile),
        ])
    }

    /// Tests run as root, whom `chmod 000` does not stop; the scan runs with the file system
    /// identity of `nobody` (setfsuid affects only the calling thread) so the kernel refuses.
    @Test func skipsUnreadableFoldersWithAProblem() throws {
        let folder = try TemporaryDirectory()
        let root = folder.path + "/root"
        try folder.makeFolder("root/run/checkpoint-1")
        try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 4)
        try folder.makeFolder("root/run/checkpoint-6")
        try folder.write("root/run/checkpoint-6/model.safetensors", bytes: 4)
        try folder.makeFolder("root/locked-run/checkpoint-2")
        for path in [folder.path, root, root + "/run", root + "/run/checkpoint-1"] {
            #expect(chmod(path, 0o755) == 0)
        }
        #expect(chmod(root + "/run/checkpoint-1/model.safetensors", 0o644) == 0)
        #expect(chmod(root + "/run/checkpoint-6", 0o000) == 0)
        #expect(chmod(root + "/locked-run", 0o000) == 0)

        let scan = try asNobody { CheckpointScanner(root: root).scan() }
        #expect(scan.runs.map(\.name) == ["locked-run", "run"])
        #expect(scan.units.map(\.unit.name) == ["checkpoint-1", "checkpoint-6"])
        #expect(scan.units.map { $0.state.snapshot != nil } == [true, false])
        #expect(Set(scan.problems) == [
            ScanProblem(path: root + "/locked-run", reason: .unreadable(.permissionDenied)),
            ScanProblem(path: root + "/run/checkpoint-6", reason: .unreadable(.permissionDenied)),
        ])
        #expect(
            ScanProblem(path: root + "/locked-run", reason: .unreadable(.permissionDenied)).description
                == "cannot read \(root)/locked-run: Permission denied; skipped")
    }

    @Test func reportsAMissingRoot() throws {
        let folder = try TemporaryDirectory()
        let scan = CheckpointScanner(root: folder.path + "/absent").scan()
        #expect(scan.runs.isEmpty)
        #expect(scan.problems == [ScanProblem(path: folder.path + "/absent", reason: .missing)])
    }

    @Test func namesDecideWhatIsACheckpointUnit() {
        func unit(_ name: String) -> CheckpointUnit? {
            CheckpointUnit(name: name, run: "run", runPath: "/r/run")
        }
        #expect(unit("checkpoint-100")?.layout == .folder)
        #expect(unit("checkpoint-100")?.step == 100)
        #expect(unit("checkpoint-100")?.path == "/r/run/checkpoint-100")
        #expect(unit("checkpoint-final")?.step == nil)
        #expect(unit("checkpoint-final") != nil)
        #expect(unit("checkpoint--5")?.step == nil)
        #expect(unit("step-12.safetensors")?.layout == .file)
        #expect(unit("step-12.safetensors")?.step == 12)
        #expect(unit("checkpoint-") == nil)
        #expect(unit("tmp-checkpoint-3") == nil)
        #expect(unit("step-.safetensors") == nil)
        #expect(unit("step-3.bin")?.layout == .stateDictFile)
        #expect(unit("step-3.bin")?.step == 3)
        #expect(unit("rng_state_0.pth") == nil)
        #expect(unit("checkpoint_4")?.layout == .accelerateFolder)
        #expect(unit("checkpoint_4")?.step == 4)
        #expect(unit("checkpoint_4")?.isContentFileName("optimizer.bin") == true)
        #expect(unit("checkpoint-4")?.isContentFileName("optimizer.bin") == false)
        #expect(unit("trainer_state.json") == nil)
    }

    // MARK: Nested layouts

    @Test func findsLightningVersionsAndTheRunsCheckpointsFolder() throws {
        let folder = try TemporaryDirectory()
        try folder.makeFolder("root/exp/lightning_logs/version_0/checkpoints/checkpoint_1")
        try folder.write("root/exp/lightning_logs/version_0/checkpoints/checkpoint_1/model.safetensors", bytes: 4)
        try folder.write("root/exp/lightning_logs/version_0/checkpoints/epoch=0-step=3.ckpt", bytes: 30)
        try folder.write("root/exp/lightning_logs/version_0/checkpoints/last.ckpt", bytes: 30)
        try folder.write("root/exp/lightning_logs/version_0/hparams.yaml", text: "lr: 1\n")
        try folder.makeFolder("root/exp/lightning_logs/version_1/checkpoints")
        try folder.write("root/exp/lightning_logs/version_1/checkpoints/epoch=0-step=3.ckpt", bytes: 31)
        try folder.makeFolder("root/exp/lightning_logs/version_2")
        try folder.makeFolder("root/exp/lightning_logs/version_x/checkpoints")
        try folder.write("root/exp/lightning_logs/version_x/checkpoints/a.ckpt", bytes: 1)
        try folder.makeFolder("root/exp/checkpoints/checkpoint_0")
        try folder.write("root/exp/checkpoints/checkpoint_0/model.safetensors", bytes: 5)
        try folder.write("root/exp/checkpoints/epoch=1.ckpt", bytes: 6)
        // HF checkpoints in a folder named `checkpoints` are that folder's own (a run of its own).
        try folder.makeFolder("root/exp/checkpoints/checkpoint-9")
        try folder.write("root/exp/checkpoints/checkpoint-9/model.safetensors", bytes: 7)
        try folder.write("root/exp/checkpoints/step-3.safetensors", bytes: 8)
        try folder.write("root/exp/step-2.safetensors", bytes: 9)
        // Only a run folder's own `checkpoints/` and `lightning_logs/` are nested folders.
        try folder.makeFolder("root/exp/other/checkpoints")
        try folder.write("root/exp/other/checkpoints/x.ckpt", bytes: 1)

        let scanner = CheckpointScanner(root: folder.path + "/root")
        let root = scanner.root
        let scan = scanner.scan()
        #expect(scan.problems.isEmpty)
        #expect(scan.runs.map(\.name) == ["exp"])
        #expect(scan.units.map(\.unit.path) == [
            "\(root)/exp/step-2.safetensors",
            "\(root)/exp/checkpoints/checkpoint_0", "\(root)/exp/checkpoints/epoch=1.ckpt",
            "\(root)/exp/lightning_logs/version_0/checkpoints/epoch=0-step=3.ckpt",
            "\(root)/exp/lightning_logs/version_1/checkpoints/epoch=0-step=3.ckpt",
        ])
        #expect(scan.units.map(\.unit.run) == ["exp", "exp", "exp", "exp/lightning_logs/version_0", "exp/lightning_logs/version_1"])
        #expect(scan.units.map(\.unit.runPath) == [
            "\(root)/exp", "\(root)/exp", "\(root)/exp",
            "\(root)/exp/lightning_logs/version_0", "\(root)/exp/lightning_logs/version_1",
        ])
        #expect(scan.units.map(\.unit.step) == [2, 0, nil, nil, nil])
        #expect(scan.units.map { $0.state.snapshot?.files.map(\.name) ?? [] } == [
            ["step-2.safetensors"], ["model.safetensors"], ["epoch=1.ckpt"], ["epoch=0-step=3.ckpt"], ["epoch=0-step=3.ckpt"],
        ])

        let folders = scanner.checkpointFolders(of: scan.runs[0])
        #expect(folders.between == ["\(root)/exp/lightning_logs", "\(root)/exp/lightning_logs/version_0",
                                    "\(root)/exp/lightning_logs/version_1", "\(root)/exp/lightning_logs/version_2"])
        #expect(folders.runs.map(\.folder) == ["\(root)/exp", "\(root)/exp/checkpoints",
                                               "\(root)/exp/lightning_logs/version_0/checkpoints",
                                               "\(root)/exp/lightning_logs/version_1/checkpoints"])
    }

    @Test func nestedFoldersThatLeadBackAreCyclesAndSkipped() throws {
        let folder = try TemporaryDirectory()
        try folder.makeFolder("root/exp/lightning_logs/version_0")
        try folder.write("root/exp/step-1.safetensors", bytes: 4)
        try folder.symlink("root/exp/checkpoints", to: ".")
        try folder.symlink("root/exp/lightning_logs/version_1", to: "..")
        try folder.symlink("root/exp/lightning_logs/version_0/checkpoints", to: "../../..")
        try folder.symlink("root/exp/lightning_logs/version_2", to: "version_2")
        let scanner = CheckpointScanner(root: folder.path + "/root")
        let root = scanner.root
        let scan = scanner.scan()
        #expect(scan.units.map(\.unit.path) == ["\(root)/exp/step-1.safetensors"])
        #expect(Set(scan.problems) == [
            ScanProblem(path: "\(root)/exp/checkpoints", reason: .cycle(target: "\(root)/exp")),
            ScanProblem(path: "\(root)/exp/lightning_logs/version_1", reason: .cycle(target: "\(root)/exp")),
            ScanProblem(path: "\(root)/exp/lightning_logs/version_0/checkpoints", reason: .cycle(target: root)),
            ScanProblem(path: "\(root)/exp/lightning_logs/version_2", reason: .symlinkLoop),
        ])
    }
}

/// Runs `body` on this thread with the file system identity of `nobody`, so permission
/// checks apply even when the tests run as root. Not root: permissions apply anyway.
func asNobody<T>(_ body: () throws -> T) throws -> T {
    guard geteuid() == 0 else { return try body() }
    // <sys/fsuid.h> is not part of the Glibc module; look the function up instead.
    typealias SetFSUID = @convention(c) (uid_t) -> Int32
    let symbol = try #require(dlsym(nil, "setfsuid"), "libc has no setfsuid")
    let setfsuid = unsafeBitCast(symbol, to: SetFSUID.self)
    let nobody: uid_t = 65534
    _ = setfsuid(nobody)
    try #require(setfsuid(nobody) == Int32(nobody), "setfsuid did not take effect")
    defer { _ = setfsuid(0) }
    return try body()
}
