import Config
import Foundation
import Testing

@testable import Daemon

/// The watcher with real inotify in temporary folders. Serialized: libinotifytools allows one
/// watcher per process.
@Suite(.serialized) struct WatcherTests {
    private let folder: TemporaryDirectory
    private let root: String

    init() throws {
        folder = try TemporaryDirectory()
        root = try folder.makeFolder("root")
    }

    /// Runs a watcher on `root` (settle time 1 s) around `body`, after its start-up scan, and
    /// stops it afterwards, checking that it stops cleanly and finishes its event stream.
    private func withWatcher(
        rescanInterval: Duration? = nil,
        capture: LogCapture = LogCapture(),
        _ body: (Watcher, EventCollector) async throws -> Void
    ) async throws {
        let watcher = Watcher(
            root: root, settleTime: .seconds(1), rescanInterval: rescanInterval,
            logger: capture.logger(label: "volumed.watcher"))
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

    /// mkdir + create/write/close with plain system calls, as fast as a trainer would.
    private func writeQuickly(_ path: String, bytes: Int) {
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
        #expect(fd >= 0, "open \(path)")
        let data = [UInt8](repeating: 1, count: bytes)
        #expect(write(fd, data, data.count) == data.count)
        close(fd)
    }

    /// Creates `checkpoint-<step>` in `run` and waits for it to settle. Events are handled in
    /// order, so once this marker has settled, anything earlier that was going to be emitted
    /// (within the settle time) has been.
    private func settleMarker(_ collector: EventCollector, run: String, step: Int) async throws {
        let path = try folder.makeFolder("root/\(run)/checkpoint-\(step)")
        writeQuickly(path + "/model.safetensors", bytes: 8)
        try #require(await collector.wait { !$0.settled(at: path).isEmpty }, "marker \(path) never settled")
    }

    @Test func findsRunAndCheckpointFoldersCreatedAfterStart() async throws {
        try await withWatcher { _, collector in
            try folder.makeFolder("root/run-a")
            try folder.makeFolder("root/run-a/checkpoint-5")
            try folder.write("root/run-a/checkpoint-5/model.safetensors", bytes: 64)
            try folder.write("root/run-a/checkpoint-5/config.json", text: "{}")
            let path = root + "/run-a/checkpoint-5"
            try #require(await collector.wait { !$0.settled(at: path).isEmpty })
            let checkpoint = try #require(collector.settled(at: path).first)
            #expect(checkpoint.run == "run-a")
            #expect(checkpoint.runPath == root + "/run-a")
            #expect(checkpoint.step == 5)
            #expect(checkpoint.snapshot.files.map(\.name) == ["config.json", "model.safetensors"])

            try folder.write("root/run-a/step-9.safetensors", bytes: 32)
            try #require(await collector.wait { !$0.settled(at: root + "/run-a/step-9.safetensors").isEmpty })
            #expect(collector.settled(at: root + "/run-a/step-9.safetensors").first?.step == 9)
        }
    }

    @Test func settlesAnInPlaceWriteOnceAfterItsFilesStopChanging() async throws {
        try folder.makeFolder("root/run/checkpoint-1")
        try await withWatcher { _, collector in
            let path = root + "/run/checkpoint-1"
            #expect(FileManager.default.createFile(atPath: path + "/model.safetensors", contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/model.safetensors"))
            // Pauses longer than the settle time while the file is still open must not settle it.
            try handle.write(contentsOf: Data(repeating: 1, count: 1000))
            try await Task.sleep(for: .milliseconds(1500))
            try handle.write(contentsOf: Data(repeating: 2, count: 1000))
            try await Task.sleep(for: .milliseconds(1500))
            #expect(collector.settled(at: path).isEmpty, "settled while model.safetensors was open")
            try handle.write(contentsOf: Data(repeating: 3, count: 500))
            try handle.close()

            try #require(await collector.wait { !$0.settled(at: path).isEmpty })
            try await settleMarker(collector, run: "run", step: 2)
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
            try #require(await collector.wait { !$0.settled(at: path).isEmpty })
            try await settleMarker(collector, run: "run", step: 8)
            #expect(collector.settled(at: path).count == 1)
            #expect(collector.settled(at: path).first?.step == 7)
            #expect(collector.settled(at: path).first?.snapshot.files.map(\.name) == ["model.safetensors", "optimizer.pt"])
            #expect(!collector.settled.contains { $0.path.contains("tmp-checkpoint") })
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
            let found = await collector.wait { collector in
                Set(collector.settled.map(\.path)).isSuperset(of: expected)
            }
            #expect(found, "missed: \(Set(expected).subtracting(collector.settled.map(\.path)).sorted())")
            #expect(collector.settled.count == expected.count)
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
            try await settleMarker(collector, run: "run", step: 5)

            #expect(capture.warnings(containing: "\(root)/run/checkpoint-3 is named like a checkpoint folder but is not a folder").count == 1)
            #expect(capture.warnings(containing: "\(root)/run/checkpoint-4 is a symbolic link loop").count == 1)
            #expect(capture.warnings(containing: "\(root)/run/checkpoint-6 is a symbolic link to nothing").count == 1)
            #expect(capture.warnings(containing: "\(root)/loop is a symbolic link loop").count == 1)
            #expect(collector.settled.map(\.path) == [root + "/run/checkpoint-5"])
        }
    }

    @Test func startUpScanFindsCheckpointsThatAlreadyExist() async throws {
        try folder.makeFolder("root/run/checkpoint-100")
        try folder.write("root/run/checkpoint-100/model.safetensors", bytes: 10)
        try folder.write("root/run/step-3.safetensors", bytes: 10)
        try folder.makeFolder("root/run/checkpoint-200")  // no weights: not a checkpoint yet
        try await withWatcher { _, collector in
            #expect(collector.scans.first == ScanReport(reason: .startup, runs: 1, checkpoints: 2, problems: 0))
            try #require(await collector.wait { $0.settled.count == 2 })
            #expect(collector.settled.map(\.path).sorted() == [root + "/run/checkpoint-100", root + "/run/step-3.safetensors"])

            // Weights arriving later in the watched folder are picked up by events.
            try folder.write("root/run/checkpoint-200/pytorch_model.bin", bytes: 10)
            try #require(await collector.wait { !$0.settled(at: root + "/run/checkpoint-200").isEmpty })
        }
    }

    @Test func periodicRescanFindsCheckpointsNoEventAnnounced() async throws {
        // A run reached through a link whose target does not exist yet: creating the target and
        // its checkpoint elsewhere produces no event here, as on a network filesystem.
        try folder.symlink("root/linked-run", to: folder.path + "/elsewhere")
        let capture = LogCapture()
        try await withWatcher(rescanInterval: .seconds(1), capture: capture) { _, collector in
            try folder.makeFolder("elsewhere/checkpoint-12")
            try folder.write("elsewhere/checkpoint-12/model.safetensors", bytes: 10)
            let path = root + "/linked-run/checkpoint-12"
            try #require(await collector.wait { !$0.settled(at: path).isEmpty })
            #expect(collector.scans.contains { $0.reason == .periodic })
            // The dangling link was reported once, not at every rescan.
            #expect(capture.warnings(containing: "\(root)/linked-run is a symbolic link to nothing").count == 1)
        }
    }

    @Test func waitsForAMissingRootAndSurvivesItsDeletion() async throws {
        try FileManager.default.removeItem(atPath: root)
        let capture = LogCapture()
        try await withWatcher(rescanInterval: .seconds(1), capture: capture) { _, collector in
            #expect(collector.scans.first?.problems == 1)
            try folder.makeFolder("root/run/checkpoint-1")
            try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 10)
            try #require(await collector.wait { !$0.settled(at: root + "/run/checkpoint-1").isEmpty })
            #expect(capture.warnings(containing: "\(root) does not exist").count == 1)

            try FileManager.default.removeItem(atPath: root)
            try #require(await collector.wait { _ in !capture.warnings(containing: "the watch root was deleted or moved").isEmpty })
            try folder.makeFolder("root/run/checkpoint-1")
            try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 10)
            try #require(await collector.wait { $0.settled(at: root + "/run/checkpoint-1").count == 2 })
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
            try #require(await collector.wait { $0.settled(at: path).count == 1 })

            try FileManager.default.removeItem(atPath: path)
            try folder.makeFolder("root/run/checkpoint-1")
            try folder.write("root/run/checkpoint-1/model.safetensors", bytes: 20)
            try #require(await collector.wait { $0.settled(at: path).count == 2 })

            // Only a live watch on the new folder sees this in-place addition.
            try folder.write("root/run/checkpoint-1/optimizer.pt", bytes: 30)
            try #require(await collector.wait { $0.settled(at: path).count == 3 })
            #expect(collector.settled(at: path).last?.snapshot.files.map(\.name) == ["model.safetensors", "optimizer.pt"])

            // A renamed run is a new run: its checkpoints are reported under the new path, and
            // the old path's watches are gone.
            try folder.rename("root/run", to: "root/renamed")
            let renamed = root + "/renamed/checkpoint-1"
            try #require(await collector.wait { !$0.settled(at: renamed).isEmpty })
            try folder.write("root/renamed/checkpoint-1/config.json", text: "{}")
            try #require(await collector.wait { $0.settled(at: renamed).count == 2 })
            #expect(collector.settled(at: path).count == 3)
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
            let second = Watcher(root: root, settleTime: .seconds(1), rescanInterval: nil, logger: LogCapture().logger())
            await #expect(throws: WatcherError(reason: .alreadyRunning)) { try await second.run() }
        }
    }
}
