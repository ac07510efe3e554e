import Base
import Foundation
import Testing
@testable import Estimator

/// Accelerate `save_state` folders (`fixtures/accelerate-tiny`: a tiny Llama trained with AdamW,
/// `checkpoint_0` to `checkpoint_2` in Accelerate's `checkpoints/` folder), read against the
/// weights, parameter names and Adam state the script recorded at save time.
@Suite struct AccelerateFolderTests {
    static let run = Fixtures.path("accelerate-tiny")

    /// `checkpoint_<n>` copied flat into a run folder of its own with the run's `config.json`
    /// (what the watcher sees when the folders sit in the run folder).
    static func flatCopy(_ n: Int, in dir: TemporaryDirectory) throws -> String {
        try FileManager.default.copyItem(atPath: run + "/config.json", toPath: dir.path + "/config.json")
        let path = dir.path + "/checkpoint_\(n)"
        try FileManager.default.copyItem(atPath: run + "/checkpoints/checkpoint_\(n)", toPath: path)
        return path
    }

    static func expected(_ file: String, prefix: String = "") throws -> [String: RawTensor] {
        let store = try SafeTensorsFile(path: run + "/" + file)
        var out: [String: RawTensor] = [:]
        for key in store.tensorNames where key.hasPrefix(prefix) {
            out[String(key.dropFirst(prefix.count))] = try store.tensor(key)
        }
        return out
    }

    /// The sidecar's parameter names per param group, recorded from the optimizer at save time.
    static func recordedGroups(_ n: Int) throws -> [[String]] {
        let text = String(decoding: try readBytes(run + "/optimizer_param_names.json"), as: UTF8.self)
        let groups = try #require(try JSONValue.parse(text)["checkpoint_\(n)"]?["param_groups"]?.arrayValue)
        return groups.map { ($0.arrayValue ?? []).compactMap(\.stringValue) }
    }

    @Test(arguments: [0, 1, 2])
    func readsTheFolderInPlace(n: Int) throws {
        let path = Self.run + "/checkpoints/checkpoint_\(n)"
        let checkpoint = try CheckpointFolder(path: path)
        #expect(checkpoint.form == .accelerateFolder)
        #expect(checkpoint.step == n)
        #expect(checkpoint.weightFiles == .safetensors(path + "/model.safetensors"))
        #expect(checkpoint.optimizerPath == path + "/optimizer.bin")
        // scheduler.bin and random_states_0.pkl are not content.
        #expect(checkpoint.contentFileNames == ["model.safetensors", "optimizer.bin"])
        try StateDictCheckpointTests.expectSameTensors(try checkpoint.weights(), try Self.expected("expected.safetensors", prefix: "\(n)/"))
    }

    @Test func takesTheRunConfigAndLoadsTheModel() throws {
        let dir = try TemporaryDirectory()
        let checkpoint = try CheckpointFolder(path: try Self.flatCopy(1, in: dir))
        #expect(checkpoint.runFolder == dir.path)
        #expect(checkpoint.configPath == dir.path + "/config.json")
        #expect(checkpoint.contentFileNames == ["model.safetensors", "optimizer.bin"])
        let model = try ModelLoader.load(checkpoint, manifest: nil)
        #expect(model.architecture == "llama")
        let expected = try Self.expected("expected.safetensors", prefix: "1/")
        #expect(Set(model.layout.parameters.map(\.name)) == Set(expected.keys))
        var anchor: [Float] = []
        for parameter in model.layout.parameters { anchor += try #require(expected[parameter.name]).floats() }
        #expect(model.anchor.map(\.bitPattern) == anchor.map(\.bitPattern))
    }

    /// One param group (`AdamW(model.parameters())`) maps in `named_parameters()` order, which
    /// is the order the script recorded from the optimizer; the second moments are those the
    /// optimizer held.
    @Test func mapsAdamStateToTheRecordedParameterNames() throws {
        let dir = try TemporaryDirectory()
        let checkpoint = try CheckpointFolder(path: try Self.flatCopy(2, in: dir))
        let model = try ModelLoader.load(checkpoint, manifest: nil)
        let optimizer = try OptimizerState(path: try #require(checkpoint.optimizerPath))
        #expect(optimizer.groups.count == 1)
        let assignment = try optimizer.assignment(for: model.layout)
        let groups = try Self.recordedGroups(2)
        #expect(groups.count == 1)
        #expect(assignment.map(\.0.name) == groups[0])
        #expect(assignment.map(\.1) == Array(0..<groups[0].count))

        let moments = try optimizer.moments(for: model.layout)
        let expected = try Self.expected("expected_adam.safetensors")
        #expect(expected.count == model.layout.parameters.count)
        for parameter in model.layout.parameters {
            let recorded = try #require(expected[parameter.name]).floats()
            #expect(Array(moments.expAvgSq[parameter.range]).map(\.bitPattern) == recorded.map(\.bitPattern), "\(parameter.name)")
        }
    }

    @Test func estimatesWithTheAdamPreconditioner() throws {
        let dir = try TemporaryDirectory()
        let path = try Self.flatCopy(2, in: dir)
        try FileManager.default.copyItem(atPath: Self.run + "/eval_tokens.safetensors", toPath: dir.path + "/eval_tokens.safetensors")
        let estimation = try CheckpointEstimation(path: path)
        let adam = try estimation.preconditioner(.adam)
        #expect((try? adam.get()) != nil)
    }

    /// Only weights, `optimizer.bin` and the folder's own `config.json` are content.
    @Test func fingerprintIgnoresSchedulerAndRandomStates() throws {
        let dir = try TemporaryDirectory()
        let path = try Self.flatCopy(0, in: dir)
        let original = try CheckpointFolder(path: path).fingerprint()
        try dir.write("checkpoint_0/scheduler.bin", [1, 2, 3])
        try dir.write("checkpoint_0/random_states_0.pkl", [4])
        try dir.write("checkpoint_0/optimizer.pt", [5])
        try dir.write("config.json", #"{"model_type": "llama"}"#)
        #expect(try CheckpointFolder(path: path).fingerprint() == original)
        try dir.write("checkpoint_0/config.json", try readBytes(Self.run + "/config.json"))
        let own = try CheckpointFolder(path: path)
        #expect(own.configPath == path + "/config.json")
        #expect(own.contentFileNames == ["config.json", "model.safetensors", "optimizer.bin"])
        #expect(try own.fingerprint() != original)
    }

    /// The files volumed reads need no global beyond the allowlist; the RNG states beside them
    /// (numpy's state, `_codecs.encode`) stay refused, and are never read.
    @Test func readsOptimizerBinWithTheAllowlistAndRefusesRandomStates() throws {
        let folder = Self.run + "/checkpoints/checkpoint_0"
        #expect(try TorchArchive.load(path: folder + "/optimizer.bin")["param_groups"]?.items?.count == 1)
        let error = #expect(throws: CheckpointError.self) { try TorchArchive.load(path: folder + "/random_states_0.pkl") }
        #expect(error?.code == "pickle.forbidden_global")
    }

    /// A folder without `optimizer.bin` has no Adam state to offer; `optimizer.pt` is not read.
    @Test func skipsAdamWithoutOptimizerBin() throws {
        let dir = try TemporaryDirectory()
        let path = try Self.flatCopy(0, in: dir)
        try FileManager.default.copyItem(atPath: Self.run + "/eval_tokens.safetensors", toPath: dir.path + "/eval_tokens.safetensors")
        try FileManager.default.moveItem(atPath: path + "/optimizer.bin", toPath: path + "/optimizer.pt")
        let estimation = try CheckpointEstimation(path: path)
        let adam = try estimation.preconditioner(.adam)
        guard case .failure(let skip) = adam else { Issue.record("adam ran without optimizer.bin"); return }
        #expect(skip.reason == "no optimizer.bin in the checkpoint")
    }
}
