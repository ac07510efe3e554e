import Foundation
import Testing

@testable import Daemon

/// The settler against real files, with explicit instants instead of waiting.
@Suite struct SettlerTests {
    private let folder: TemporaryDirectory
    private let scanner: CheckpointScanner
    private let unit: CheckpointUnit
    private let t0 = ContinuousClock.now

    init() throws {
        folder = try TemporaryDirectory()
        try folder.makeFolder("root/run/checkpoint-10")
        try folder.write("root/run/checkpoint-10/model.safetensors", bytes: 100)
        scanner = CheckpointScanner(root: folder.path + "/root")
        unit = try #require(CheckpointUnit(name: "checkpoint-10", run: "run", runPath: folder.path + "/root/run"))
    }

    private func at(_ seconds: Double) -> ContinuousClock.Instant {
        t0 + .milliseconds(Int64(seconds * 1000))
    }

    private func settle(_ settler: inout Settler, at seconds: Double) -> [String] {
        settler.settle(at: at(seconds)) { scanner.inspect($0).state }.map(\.path)
    }

    @Test func settlesOnceTheSnapshotHasBeenStableForTheSettleTime() {
        var settler = Settler(settleTime: .seconds(1))
        settler.observe(unit, state: scanner.inspect(unit).state, at: at(0))
        #expect(settle(&settler, at: 0.5) == [])
        let settled = settler.settle(at: at(1.0)) { scanner.inspect($0).state }
        #expect(settled.map(\.path) == [unit.path])
        #expect(settled.first?.run == "run")
        #expect(settled.first?.step == 10)
        #expect(settled.first?.runPath == folder.path + "/root/run")
        #expect(settled.first?.snapshot.files.map(\.size) == [100])
        #expect(settler.pendingCount == 0)
        #expect(settle(&settler, at: 5) == [])
    }

    @Test func aChangeRestartsTheSettleTime() throws {
        var settler = Settler(settleTime: .seconds(1))
        settler.observe(unit, state: scanner.inspect(unit).state, at: at(0))
        try folder.write("root/run/checkpoint-10/model.safetensors", bytes: 150)
        #expect(settle(&settler, at: 0.9) == [])  // sees the new size
        #expect(settle(&settler, at: 1.5) == [])
        let settled = settler.settle(at: at(1.9)) { scanner.inspect($0).state }
        #expect(settled.map(\.path) == [unit.path])
        #expect(settled.first?.snapshot.files.map(\.size) == [150])
    }

    @Test func aFileOpenForWritingHoldsTheCheckpointBack() {
        var settler = Settler(settleTime: .seconds(1))
        settler.note(.writing, file: "model.safetensors", of: unit, at: at(0))
        #expect(settle(&settler, at: 0.1) == [])
        #expect(settle(&settler, at: 5) == [])
        #expect(settle(&settler, at: 60) == [])
        settler.note(.closed, file: "model.safetensors", of: unit, at: at(60))
        #expect(settle(&settler, at: 60.5) == [])
        #expect(settle(&settler, at: 61) == [unit.path])
    }

    @Test func emitsEachSnapshotOnceAndChangedFilesAgain() throws {
        var settler = Settler(settleTime: .zero)
        settler.observe(unit, state: scanner.inspect(unit).state, at: at(0))
        #expect(settle(&settler, at: 0) == [unit.path])
        // Rescans and duplicate events with the same files change nothing.
        settler.observe(unit, state: scanner.inspect(unit).state, at: at(1))
        settler.note(.touched, file: "model.safetensors", of: unit, at: at(1))
        #expect(settle(&settler, at: 2) == [])
        #expect(settle(&settler, at: 3) == [])

        try folder.write("root/run/checkpoint-10/model.safetensors", bytes: 101)
        settler.observe(unit, state: scanner.inspect(unit).state, at: at(4))
        #expect(settle(&settler, at: 4) == [unit.path])
    }

    @Test func ignoresActivityOnFilesThatAreNotContent() {
        var settler = Settler(settleTime: .seconds(1))
        settler.note(.writing, file: "trainer_state.json", of: unit, at: at(0))
        settler.note(.writing, file: "rng_state.pth", of: unit, at: at(0))
        #expect(settler.pendingCount == 0)
        settler.note(.writing, file: "optimizer.pt", of: unit, at: at(0))
        #expect(settler.pendingCount == 1)
    }

    @Test func dropsACheckpointThatDisappears() throws {
        var settler = Settler(settleTime: .seconds(1))
        settler.observe(unit, state: scanner.inspect(unit).state, at: at(0))
        try FileManager.default.removeItem(atPath: unit.path)
        #expect(settle(&settler, at: 2) == [])
        #expect(settler.pendingCount == 0)
    }

    @Test func waitsForWeightsWhileFilesAreBeingWritten() throws {
        try FileManager.default.removeItem(atPath: unit.path + "/model.safetensors")
        try folder.write("root/run/checkpoint-10/optimizer.pt", bytes: 10)
        var settler = Settler(settleTime: .seconds(1))
        settler.note(.writing, file: "optimizer.pt", of: unit, at: at(0))
        #expect(settle(&settler, at: 3) == [])
        #expect(settler.pendingCount == 1)
        settler.note(.closed, file: "optimizer.pt", of: unit, at: at(3))
        #expect(settle(&settler, at: 5) == [])
        #expect(settler.pendingCount == 0)  // quiet and incomplete: nothing to wait for

        try folder.write("root/run/checkpoint-10/model.safetensors", bytes: 20)
        settler.note(.closed, file: "model.safetensors", of: unit, at: at(6))
        #expect(settle(&settler, at: 6.5) == [])
        #expect(settle(&settler, at: 7.5) == [unit.path])
    }

    @Test func afterAnOverflowOnlyStabilityCounts() {
        var settler = Settler(settleTime: .seconds(1))
        settler.note(.writing, file: "model.safetensors", of: unit, at: at(0))
        #expect(settle(&settler, at: 0.1) == [])
        settler.forgetOpenFiles()
        #expect(settle(&settler, at: 2) == [unit.path])
    }

    @Test func aFullScanForgetsCheckpointsItNoLongerFinds() throws {
        var settler = Settler(settleTime: .zero)
        settler.observe(unit, state: scanner.inspect(unit).state, at: at(0))
        #expect(settle(&settler, at: 0) == [unit.path])
        settler.retainOnly([], under: scanner.root)
        // Forgotten, so the same files reappearing are a new checkpoint to report.
        settler.observe(unit, state: scanner.inspect(unit).state, at: at(1))
        #expect(settle(&settler, at: 1) == [unit.path])
        settler.retainOnly([unit.path], under: scanner.root)
        settler.observe(unit, state: scanner.inspect(unit).state, at: at(2))
        #expect(settle(&settler, at: 2) == [])
    }
}
