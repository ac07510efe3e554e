import Config
import Foundation
import Testing

@testable import Daemon

/// The watcher with real inotify in temporary folders, on a clock that moves only when a test
/// lets time pass (`passTime`), after its file operations: a checkpoint settles because its
/// settle time passed on that clock, never because the machine paused the test for a second
/// between two writes. Serialized: libinotifytools allows one watcher per process.
@Suite(.serialized) struct WatcherTests {
    private static let settleTime = Duration.seconds(1)
    private let folder: TemporaryDirectory
    private let root: String
    private let clock = ManualClock()

    init() throws {
        folder = try TemporaryDirectory()
        root = try folder.makeFolder("root")
    }

    /// Runs a watcher on `root` around `body`, after its start-up scan, and stops it
    /// afterwards, checking that it stops cleanly and finishes its event stream.
    private func withWatcher(
        rescanInterval: Duration? = nil,
        capture: LogCapture = LogCapture(),
        _ body: (Watcher, EventCollector) async throws -> Void
    ) async throws {
        let watcher = Watcher(
            root: root, settleTime: Self.settleTime, rescanInterval: rescanInterval,
            logger: capture.logger(label: "volumed.watcher"), clock: clock)
        let collector = EventCollector(watcher.events)
        let running = Task { try await watcher.run() }
        do {
            try #require(await collector.wait { !$0.scans.isEmpty }, "no start-up scan")
            #expect(collector.scans.first?.reason == .startup)
            try await body(watcher, collector)
        } catch {
            running.cancel()
            _ = try? await running.value
            throw error
        }
        running.cancel()
        try await running.value
        await collector.finished()
    }

    /// Advances the watcher's clock a settle time (and a rescan interval: both are a second
    /// here) at a time until `condition` holds; false if it still does not after 30 s. Events
    /// the watcher had not read yet when the clock moved count from the new time, so some
    /// checkpoints need a second round; none settles with files the test has not finished
    /// writing, since the clock moves only here.
    private func passTime(_ collector: EventCollector, until condition: (EventCollector) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if condition(collector) { return true }
            clock.advance(by: Self.settleTime)
            wakeWatcher()
            if await collector.wait(timeout: .milliseconds(500), until: condition) { return true }
        }
        return condition(collector)
    }

    /// Closes a hidden file in the root, which the watcher ignores: the event makes it read the
    /// clock now rather than at its next one-second poll.
    private func wakeWatcher() {
        let fd = open(root + "/.wake", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        if fd >= 0 { close(fd) }
    }

    /// mkdir + create/write/close with plain system calls, as fast as a trainer would.
    private func writeQuickly(_ path: String, bytes: Int) {
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
        #expect(fd >= 0, "open \(path)")
        let data = [UInt8](repeating: 1, count: bytes)
        #expect(write(fd, data, data.count) == data.count)
        close(fd)
    }

    /// Creates `checkpoint-<step>` in the run `zz-marker` and lets time pass until it settles:
    /// a barrier. Events are handled in order, so once the marker has settled, the watcher has
    /// handled every earlier event and then run a settle pass a settle time later, which
    /// re-inspected every checkpoint still pending. The run's name sorts last, so the marker
    /// is the last checkpoint its settle pass reports.
    private func settleMarker(_ collector: EventCollector, step: Int) async throws {
        let path = try folder.makeFolder("root/zz-marker/checkpoint-\(step)")
        writeQuickly(path + "/model.safetensors", bytes: 8)
        try #require(await passTime(collector) { !$0.settled(at: path).isEmpty }, "marker \(path) never settled")
    }

    /// Everything settled, less the markers.
    private func settledPaths(_ collector: EventCollector) -> [String] {
        collector.settled.map(\.path).filter { !$0.hasPrefix(root + "/zz-marker/") }
    }

    @Test func findsRunAndCheckpointFoldersCreatedAfterStart() async throws {
        try await withWatcher { _, collector in
            try folder.makeFolder("root/run-a")
            try folder.makeFolder("root/run-a/checkpoint-5")
            try folder.write("root/run-a/checkpoint-5/model.safetensors", bytes: 64)
            try folder.write("root/run-a/checkpoint-5/config.json", text: "{}")
            let path = root + "/run-a/checkpoint-5"
            try #require(await passTime(collector) { !$0.settled(at: path).isEmpty })
            #expect(collector.settled(at: path).count == 1)
            let checkpoint = try #require(collector.settled(at: path).first)
            #expect(checkpoint.run == "run-a")
            #expect(checkpoint.runPath == root + "/run-a")
            #expect(checkpoint.step == 5)
            #expect(checkpoint.snapshot.files.map(\.name) == ["config.json", "model.safetensors"])

            try folder.write("root/run-a/step-9.safetensors", bytes: 32)
            try #require(await passTime(collector) { !$0.settled(at: root + "/run-a/step-9.safetensors").isEmpty })
            #expect(collector.settled(at: root + "/run-a/step-9.safetensors").first?.step == 9)
        }
    }

    @Test func settlesAnInPlaceWriteOnceAfterItsFilesStopChanging() async throws {
        try folder.makeFolder("root/run/checkpoint-1")
        try await withWatcher { _, collector in
            let path = root + "/run/checkpoint-1"
            #expect(FileManager.default.createFile(atPath: path + "/model.safetensors", contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/model.safetensors"))
            // Pauses longer than the settle time while the file is still open must not settle
            // it: each marker settles only after a settle time has passed since this write.
            try handle.write(contentsOf: Data(repeating: 1, count: 1000))
            try await settleMarker(collector, step: 1)
            #expect(collector.settled(at: path).isEmpty, "settled while model.safetensors was open")
            try handle.write(contentsOf: Data(repeating: 2, count: 1000))
            try await settleMarker(collector, step: 2)
            #expect(collector.settled(at: path).isEmpty, "settled while model.safetensors was open")
            try handle.write(contentsOf: Data(repeating: 3, count: 500))
            try handle.close()

            try #require(await passTime(collector) { !$0.settled(at: path).isEmpty })
            try await settleMarker(collector, step: 3)
            let settled = collector.settled(at: path)
            #expect(settled.count == 1)
            #expect(settled.first?.snapshot.files.map(\.size) == [2500])
        }
    }

    @Test func renamedTmpCheckpointSettlesOnceUnderItsFinalName() async throws {
        try folder.makeFolder("root/run")
        try await withWatcher { _, collector in
            try folder.makeFolder("root/run/tmp-checkpoint-7")
            try folder.write("root/run/tmp-checkpoint-7/model.safetensors", bytes: 128)
            try folder.write("root/run/tmp-checkpoint-7/optimizer.pt", bytes: 256)
            try folder.write("root/run/tmp-checkpoint-7/trainer_state.json", text: "{}")
            try folder.rename("root/run/tmp-checkpoint-7", to: "root/run/checkpoint-7")

            let path = root + "/run/checkpoint-7"
            try #require(await passTime(collector) { !$0.settled(at: path).isEmpty })
            try await settleMarker(collector, step: 1)
            #expect(collector.settled(at: path).count == 1)
            #expect(collector.settled(at: path).first?.step == 7)
            #expect(collector.settled(at: path).first?.snapshot.files.map(\.name) == ["model.safetensors", "optimizer.pt"])
            #expect(settledPaths(collector) == [path])
        }
    }

    @Test func filesWrittenRightAfterMkdirAreNotMissed() async throws {
        try folder.makeFolder("root/run")
        try await withWatcher { _, collector in
            var expected: [String] = []
            for step in 1...25 {
                let path = root + "/run/checkpoint-\(step)"
                #expect(mkdir(path, 0o755) == 0)
                writeQuickly(path + "/model.safetensors", bytes: 16)
                expected.append(path)
            }
            for index in 1...5 {
                let run = root + "/fresh-run-\(index)"
                #expect(mkdir(run, 0o755) == 0)
                #expect(mkdir(run + "/checkpoint-1", 0o755) == 0)
                writeQuickly(run + "/checkpoint-1/model.safetensors", bytes: 16)
                writeQuickly(run + "/step-3.safetensors", bytes: 16)
                expected += [run + "/checkpoint-1", run + "/step-3.safetensors"]
            }
            // No periodic rescans here: only events and the scan after each new watch find them.
            let found = await passTime(collector) { collector in
                Set(collector.settled.map(\.path)).isSuperset(of: expected)
            }
            #expect(found, "missed: \(Set(expected).subtracting(collector.settled.map(\.path)).sorted())")
            try await settleMarker(collector, step: 1)
            #expect(settledPaths(collector).sorted() == expected.sorted())
        }
    }

    /// A plain training loop's `torch.save` files and Accelerate's `checkpoint_<n>` folders,
    /// written in place in a run folder: each settles once with its content, the files beside
    /// them that are not checkpoints never do, and an Accelerate folder's scheduler and RNG
    /// states do not make it settle again, while a new `optimizer.bin` does.
    @Test func settlesStateDictFilesAndAccelerateFolders() async throws {
        try folder.makeFolder("root/run")
        try await withWatcher { _, collector in
            let run = root + "/run"
            writeQuickly(run + "/step-10.pt", bytes: 64)
            writeQuickly(run + "/model_20.pth", bytes: 64)
            for name in ["training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state_0.pth", "optimizer_1.bin"] {
                writeQuickly(run + "/" + name, bytes: 8)
            }
            let accelerate = run + "/checkpoint_0"
            #expect(mkdir(accelerate, 0o755) == 0)
            for (name, size) in [("model.safetensors", 100), ("optimizer.bin", 200), ("scheduler.bin", 5), ("random_states_0.pkl", 6)] {
                writeQuickly(accelerate + "/" + name, bytes: size)
            }
            let expected = [accelerate, run + "/model_20.pth", run + "/step-10.pt"]
            try #require(await passTime(collector) { Set($0.settled.map(\.path)).isSuperset(of: expected) })
            try await settleMarker(collector, step: 1)
            #expect(settledPaths(collector).sorted() == expected)
            #expect(collector.settled(at: run + "/step-10.pt").first?.step == 10)
            #expect(collector.settled(at: run + "/step-10.pt").first?.snapshot.files.map(\.name) == ["step-10.pt"])
            #expect(collector.settled(at: run + "/model_20.pth").first?.step == 20)
            let settled = try #require(collector.settled(at: accelerate).first)
            #expect(settled.step == 0)
            #expect(settled.snapshot.files.map(\.name) == ["model.safetensors", "optimizer.bin"])

            writeQuickly(accelerate + "/scheduler.bin", bytes: 9)
            writeQuickly(accelerate + "/random_states_0.pkl", bytes: 9)
            try await settleMarker(collector, step: 2)
            #expect(collector.settled(at: accelerate).count == 1)
            writeQuickly(accelerate + "/optimizer.bin", bytes: 300)
            try #require(await passTime(collector) { $0.settled(at: accelerate).count == 2 })
            #expect(collector.settled(at: accelerate).last?.snapshot.files.map(\.size) == [100, 300])
        }
    }

    /// Lightning's layout made after start, every level at once with plain system calls: each
    /// `.ckpt` is written the ways Lightning 2.6.6 writes it (fsspec's transaction: a temp file
    /// renamed into place, or, across file systems, copied into place then its times set).
    @Test func findsLightningLayoutsCreatedAtEveryLevelAfterStart() async throws {
        let staging = try folder.makeFolder("staging")
        try await withWatcher { _, collector in
            let run = root + "/exp"
            let version0 = run + "/lightning_logs/version_0/checkpoints"
            for path in [run, run + "/lightning_logs", run + "/lightning_logs/version_0", version0] {
                #expect(mkdir(path, 0o755) == 0)
            }
            writeQuickly(staging + "/tmpabc", bytes: 64)
            #expect(Foundation.rename(staging + "/tmpabc", version0 + "/epoch=0-step=3.ckpt") == 0)
            writeQuickly(version0 + "/last.ckpt", bytes: 64)
            writeQuickly(run + "/lightning_logs/version_0/hparams.yaml", bytes: 4)

            // A run's own checkpoints/ with a copied .ckpt and an Accelerate folder.
            #expect(mkdir(run + "/checkpoints", 0o755) == 0)
            writeQuickly(run + "/checkpoints/epoch=0-step=5.ckpt", bytes: 32)
            #expect(utime(run + "/checkpoints/epoch=0-step=5.ckpt", nil) == 0)
            #expect(mkdir(run + "/checkpoints/checkpoint_0", 0o755) == 0)
            writeQuickly(run + "/checkpoints/checkpoint_0/model.safetensors", bytes: 16)

            let expected = [
                version0 + "/epoch=0-step=3.ckpt", run + "/checkpoints/epoch=0-step=5.ckpt", run + "/checkpoints/checkpoint_0",
            ]
            let found = await passTime(collector) { Set($0.settled.map(\.path)).isSuperset(of: expected) }
            #expect(found, "missed: \(Set(expected).subtracting(collector.settled.map(\.path)).sorted())")

            // A second version appears later, level by level, while the first is watched.
            let version1 = run + "/lightning_logs/version_1/checkpoints"
            #expect(mkdir(run + "/lightning_logs/version_1", 0o755) == 0)
            try await settleMarker(collector, step: 1)
            #expect(mkdir(version1, 0o755) == 0)
            writeQuickly(version1 + "/epoch=0-step=3.ckpt", bytes: 48)
            try #require(await passTime(collector) { !$0.settled(at: version1 + "/epoch=0-step=3.ckpt").isEmpty })

            // Rewritten in place (the same step saved again): a new version of the checkpoint.
            writeQuickly(version1 + "/epoch=0-step=3.ckpt", bytes: 49)
            try #require(await passTime(collector) { $0.settled(at: version1 + "/epoch=0-step=3.ckpt").count == 2 })
            try await settleMarker(collector, step: 2)

            #expect(settledPaths(collector).sorted() == (expected + [version1 + "/epoch=0-step=3.ckpt", version1 + "/epoch=0-step=3.ckpt"]).sorted())
            let byPath = Dictionary(collector.settled.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(byPath[version0 + "/epoch=0-step=3.ckpt"]?.run == "exp/lightning_logs/version_0")
            #expect(byPath[version0 + "/epoch=0-step=3.ckpt"]?.runPath == run + "/lightning_logs/version_0")
            #expect(byPath[version1 + "/epoch=0-step=3.ckpt"]?.run == "exp/lightning_logs/version_1")
            #expect(byPath[run + "/checkpoints/epoch=0-step=5.ckpt"]?.run == "exp")
            #expect(byPath[run + "/checkpoints/epoch=0-step=5.ckpt"]?.runPath == run)
            #expect(byPath[run + "/checkpoints/checkpoint_0"]?.step == 0)
            #expect(byPath[version1 + "/epoch=0-step=3.ckpt"]?.snapshot.files.map(\.size) == [48])
        }
    }

    /// A nested folder removed and made again is watched afresh: its new checkpoints settle.
    @Test func recreatedLightningVersionIsWatchedAfresh() async throws {
        try folder.makeFolder("root/exp/lightning_logs/version_0/checkpoints")
        try await withWatcher { _, collector in
            let checkpoints = root + "/exp/lightning_logs/version_0/checkpoints"
            writeQuickly(checkpoints + "/epoch=0-step=1.ckpt", bytes: 8)
            try #require(await passTime(collector) { !$0.settled(at: checkpoints + "/epoch=0-step=1.ckpt").isEmpty })
            try FileManager.default.removeItem(atPath: root + "/exp/lightning_logs")
            try folder.makeFolder("root/exp/lightning_logs/version_0/checkpoints")
            writeQuickly(checkpoints + "/epoch=0-step=2.ckpt", bytes: 8)
            try #require(await passTime(collector) { !$0.settled(at: checkpoints + "/epoch=0-step=2.ckpt").isEmpty })
        }
    }

    @Test func skipsBrokenEntriesWithAWarningAndKeepsServing() async throws {
        try folder.makeFolder("root/run")
        let capture = LogCapture()
        try await withWatcher(capture: capture) { _, collector in
            #expect(mkfifo(root + "/run/checkpoint-3", 0o600) == 0)
            try folder.symlink("root/run/checkpoint-4", to: "checkpoint-4")
            try folder.symlink("root/run/checkpoint-6", to: folder.path + "/nowhere")
            try folder.symlink("root/loop", to: "loop")
            let path = try folder.makeFolder("root/run/checkpoint-5")
            writeQuickly(path + "/model.safetensors", bytes: 8)
            try await settleMarker(collector, step: 1)

            #expect(capture.warnings(containing: "\(root)/run/checkpoint-3 is named like a checkpoint folder but is not a folder").count == 1)
            #expect(capture.warnings(containing: "\(root)/run/checkpoint-4 is a symbolic link loop").count == 1)
            #expect(capture.warnings(containing: "\(root)/run/checkpoint-6 is a symbolic link to nothing").count == 1)
            #expect(capture.warnings(containing: "\(root)/loop is a symbolic link loop").count == 1)
            #expect(settledPaths(collector) == [path])
        }
    }

    @Test func startUpScanFindsCheckpointsThatAlreadyExist() async throws {
        try folder.makeFolder("root/run/checkpoint-100")
        try folder.write("root/run/checkpoint-100/model.safetensors", bytes: 10)
        try folder.write("root/run/step-3.safetensors", bytes: 10)
        try folder.makeFolder("root/run/checkpoint-200")  // no weights: not a checkpoint yet
        try await withWatcher { _, collector in
            #expect(collector.scans.first == ScanReport(reason: .startup, runs: 1, checkpoints: 2, problems: 0))
            try #require(await passTime(collector) { $0.settled.count == 2 })
            #expect(collector.settled.map(\.path).sorted() == [root + "/run/checkpoint-100", root + "/run/step-3.safetensors"])

            // Weights arriving later in the watched folder are picked up by events.
            try folder.write("root/run/checkpoint-200/pytorch_model.bin", bytes: 10)
            try #require(await passTime(collector) { !$0.settled(at: root + "/run/checkpoint-200").isEmpty })
        }
    }

    @Test func periodicRescanFindsCheckpointsNoEventAnnounced() async throws {
        // A run reached through a link whose target does not exist yet: creating the target and
        // its checkpoint elsewhere produces no event here, as on a network filesystem.
        try folder.symlink("root/linked-run", to: folder.path + "/elsewhere")
        let capture = LogCapture()
        try await withWatcher(rescanInterval: Self.settleTime, capture: capture) { _, collector in
            // A periodic rescan while the link leads nowhere, to check that it is not reported again.
            try #require(await passTime(collector) { $0.scans.contains { $0.reason == .periodic } })
            try folder.makeFolder("elsewhere/checkpoint-12")
            try folder.write("elsewhere/checkpoint-12/model.safetensors", bytes: 10)
            let path = root + "/linked-run/checkpoint-12"
            try #require(await passTime(collector) { !$0.settled(at: path).isEmpty })
            // The dangling link was reported once, not at every rescan.
            #expect(capture.warnings(containing: "\(root)/linked-run is a symbolic link to nothing").count == 1)
        }
    }

    @Test func waitsForAMissingRootAndSurvivesItsDeletion() async throws {
        try FileManager.default.removeItem(atPath: root)
        let capture = LogCapture()
        try await withWatcher(rescanInterval: Self.settleTime, capture: capture) { _, collector in
            #expect(collector.scans.first?.problems == 1)
            try folder.makeFolder("root/run/checkpoint-1")
            try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 10)
            try #require(await passTime(collector) { !$0.settled(at: root + "/run/checkpoint-1").isEmpty })
            #expect(capture.warnings(containing: "\(root) does not exist").count == 1)

            try FileManager.default.removeItem(atPath: root)
            try #require(await collector.wait { _ in !capture.warnings(containing: "the watch root was deleted or moved").isEmpty })
            try folder.makeFolder("root/run/checkpoint-1")
            try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 10)
            try #require(await passTime(collector) { $0.settled(at: root + "/run/checkpoint-1").count == 2 })
        }
    }

    @Test func requestedRescanRunsPromptly() async throws {
        try await withWatcher { watcher, collector in
            watcher.requestRescan()
            try #require(await collector.wait { $0.scans.contains { $0.reason == .requested } })
        }
    }

    @Test func deletedAndRecreatedFoldersAreWatchedAfresh() async throws {
        try folder.makeFolder("root/run/checkpoint-1")
        try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 10)
        try await withWatcher { _, collector in
            let path = root + "/run/checkpoint-1"
            try #require(await passTime(collector) { $0.settled(at: path).count == 1 })

            try FileManager.default.removeItem(atPath: path)
            try folder.makeFolder("root/run/checkpoint-1")
            try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 20)
            try #require(await passTime(collector) { $0.settled(at: path).count == 2 })

            // Only a live watch on the new folder sees this in-place addition.
            try folder.write("root/run/checkpoint-1/optimizer.pt", bytes: 30)
            try #require(await passTime(collector) { $0.settled(at: path).count == 3 })
            #expect(collector.settled(at: path).last?.snapshot.files.map(\.name) == ["model.safetensors", "optimizer.pt"])

            // A renamed run is a new run: its checkpoints are reported under the new path, and
            // the old path's watches are gone.
            try folder.rename("root/run", to: "root/renamed")
            let renamed = root + "/renamed/checkpoint-1"
            try #require(await passTime(collector) { !$0.settled(at: renamed).isEmpty })
            try folder.write("root/renamed/checkpoint-1/config.json", text: "{}")
            try #require(await passTime(collector) { $0.settled(at: renamed).count == 2 })
            try await settleMarker(collector, step: 1)
            #expect(collector.settled(at: path).count == 3)
            #expect(collector.settled(at: renamed).count == 2)
        }
    }

    @Test func takesItsSettingsFromTheWatchTable() throws {
        var config = Config.Watch()
        config.root = root + "/"
        config.settleSeconds = 2.5
        let watcher = Watcher(config: config, logger: LogCapture().logger())
        #expect(watcher.root == root)
        #expect(watcher.settleTime == .milliseconds(2500))
        #expect(watcher.rescanInterval == .seconds(300))
        config.rescanSeconds = 0
        #expect(Watcher(config: config, logger: LogCapture().logger()).rescanInterval == nil)
    }

    @Test func allowsOneWatcherPerProcessAndOneRunPerWatcher() async throws {
        try await withWatcher { watcher, _ in
            await #expect(throws: WatcherError(reason: .alreadyRan)) { try await watcher.run() }
            let second = Watcher(root: root, settleTime: Self.settleTime, rescanInterval: nil, logger: LogCapture().logger())
            await #expect(throws: WatcherError(reason: .alreadyRunning)) { try await second.run() }
        }
    }
}
