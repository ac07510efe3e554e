import Foundation
import Testing
@testable import Estimator

@Suite struct CheckpointFolderTests {
    @Test func readsSafetensorsCheckpointFolder() throws {
        let path = Fixtures.path("digits/checkpoint-100")
        let folder = try CheckpointFolder(path: path)
        #expect(folder.step == 100)
        #expect(folder.runFolder == Fixtures.path("digits"))
        #expect(folder.weightFiles == .safetensors(path + "/model.safetensors"))
        #expect(folder.optimizerPath == path + "/optimizer.pt")
        #expect(folder.config == nil)
        #expect(folder.contentFiles == [path + "/model.safetensors", path + "/optimizer.pt"])
        #expect(try folder.weights().tensorNames == ["0.bias", "0.weight", "2.bias", "2.weight"])
        #expect(try folder.fingerprint() == "0d4068739edff6847f8f51e1135cdddb78ed76eec76cbdac8874d733be7b4b61")
        // A trailing slash names the same checkpoint.
        let slashed = try CheckpointFolder(path: path + "/")
        #expect(slashed.path == path)
        #expect(slashed.runFolder == Fixtures.path("digits"))
        #expect(slashed.contentFiles == folder.contentFiles)
    }

    @Test func readsTrainerFolderWithConfig() throws {
        let folder = try CheckpointFolder(path: Fixtures.path("neox-tiny/checkpoint-30"))
        #expect(folder.step == 30)
        #expect(folder.config?["model_type"]?.stringValue == "gpt_neox")
        #expect(folder.contentFiles.map { FileSystem.split($0).name } == ["config.json", "model.safetensors", "optimizer.pt"])
        #expect(try folder.fingerprint() == "e9ddf64c536357fb22b11b3ff626b3c6c213a656e03269beef544ad9dc556dd6")
        #expect(try CheckpointFolder(path: Fixtures.path("neox-tiny/checkpoint-60")).fingerprint() != folder.fingerprint())
    }

    @Test func readsLegacyPytorchFolder() throws {
        let folder = try CheckpointFolder(path: Fixtures.path("digits-legacy/checkpoint-100"))
        #expect(folder.weightFiles == .pytorch(Fixtures.path("digits-legacy/checkpoint-100/pytorch_model.bin")))
        #expect(try folder.weights().tensorNames == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(try folder.fingerprint() == "41f6f6b33740fea15791875ea1a791f0b1a5117c72cb8f095ac23a2dfbf2eeb5")
    }

    @Test func fingerprintIgnoresOtherFilesAndLocation() throws {
        let dir = try TemporaryDirectory()
        let copy = try dir.makeFolder("run/checkpoint-30")
        for name in ["config.json", "model.safetensors", "optimizer.pt", "trainer_state.json"] {
            try FileManager.default.copyItem(atPath: Fixtures.path("neox-tiny/checkpoint-30/\(name)"), toPath: copy + "/" + name)
        }
        let original = "e9ddf64c536357fb22b11b3ff626b3c6c213a656e03269beef544ad9dc556dd6"
        #expect(try CheckpointFolder(path: copy).fingerprint() == original)
        try dir.write("run/checkpoint-30/trainer_state.json", "{}")
        try dir.write("run/checkpoint-30/rng_state.pth", [1, 2, 3])
        #expect(try CheckpointFolder(path: copy).fingerprint() == original)
        try dir.write("run/checkpoint-30/config.json", #"{"model_type": "gpt_neox"}"#)
        #expect(try CheckpointFolder(path: copy).fingerprint() != original)
    }

    @Test func readsSingleFileCheckpoint() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("step-250.safetensors", try readBytes(Fixtures.path("digits/checkpoint-100/model.safetensors")))
        let checkpoint = try CheckpointFolder(path: file)
        #expect(checkpoint.step == 250)
        #expect(checkpoint.runFolder == dir.path)
        #expect(checkpoint.optimizerPath == nil)
        #expect(checkpoint.contentFiles == [file])
        #expect(try checkpoint.weights().tensorNames.count == 4)
        let other = try dir.write("final.safetensors", try readBytes(Fixtures.path("digits/checkpoint-100/model.safetensors")))
        #expect(try CheckpointFolder(path: other).step == nil)
        let text = try dir.write("notes.txt", "hello")
        #expect(#expect(throws: CheckpointError.self) { try CheckpointFolder(path: text) }?.code == "checkpoint.unsupported_file")
    }

    @Test func reportsFoldersWithoutWeights() throws {
        let dir = try TemporaryDirectory()
        let folder = try dir.makeFolder("checkpoint-5")
        try dir.write("checkpoint-5/optimizer.pt", [0])
        let error = #expect(throws: CheckpointError.self) { try CheckpointFolder(path: folder) }
        #expect(error?.code == "checkpoint.no_weights")
        #expect(error?.detail == "no weights: none of model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json is in the folder")
        #expect(#expect(throws: CheckpointError.self) { try CheckpointFolder(path: dir.path + "/absent") }?.code == "file.not_found")
    }

    @Test func reportsBadConfig() throws {
        let dir = try TemporaryDirectory()
        let folder = try dir.makeFolder("checkpoint-5")
        try dir.write("checkpoint-5/model.safetensors", safetensorsBytes(header: "{}", data: []))
        try dir.write("checkpoint-5/config.json", "{\"model_type\": ")
        let error = #expect(throws: CheckpointError.self) { try CheckpointFolder(path: folder) }
        #expect(error?.code == "checkpoint.bad_config")
    }

    // MARK: Shards

    /// Two safetensors shards of the digits weights: layer 0 in one, layer 2 in the other.
    private func writeShards(in dir: TemporaryDirectory, folder: String, index: String) throws -> String {
        let source = try SafeTensorsFile(path: Fixtures.path("digits/checkpoint-100/model.safetensors"))
        func shard(_ names: [String]) throws -> [UInt8] {
            var header: [String] = []
            var data: [UInt8] = []
            for name in names {
                let t = try source.tensor(name)
                header.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(t.shape),\"data_offsets\":[\(data.count),\(data.count + t.bytes.count)]}")
                data += Array(t.bytes)
            }
            return safetensorsBytes(header: "{" + header.joined(separator: ",") + "}", data: data)
        }
        let path = try dir.makeFolder(folder)
        try dir.write("\(folder)/model-00001-of-00002.safetensors", try shard(["0.weight", "0.bias"]))
        try dir.write("\(folder)/model-00002-of-00002.safetensors", try shard(["2.weight", "2.bias"]))
        try dir.write("\(folder)/model.safetensors.index.json", index)
        return path
    }

    private let goodIndex = """
        {"metadata": {"total_size": 19240}, "weight_map": {
          "0.bias": "model-00001-of-00002.safetensors", "0.weight": "model-00001-of-00002.safetensors",
          "2.bias": "model-00002-of-00002.safetensors", "2.weight": "model-00002-of-00002.safetensors"}}
        """

    @Test func mergesSafetensorsShards() throws {
        let dir = try TemporaryDirectory()
        let path = try writeShards(in: dir, folder: "checkpoint-7", index: goodIndex)
        let folder = try CheckpointFolder(path: path)
        #expect(folder.weightFiles == .safetensorsShards(index: path + "/model.safetensors.index.json", shards: [
            path + "/model-00001-of-00002.safetensors", path + "/model-00002-of-00002.safetensors",
        ]))
        #expect(folder.contentFiles.map { FileSystem.split($0).name } == [
            "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
        ])
        let store = try folder.weights()
        #expect(store.tensorNames == ["0.weight", "0.bias", "2.weight", "2.bias"])
        let original = try SafeTensorsFile(path: Fixtures.path("digits/checkpoint-100/model.safetensors"))
        for name in store.tensorNames {
            #expect(try store.tensor(name).floats() == original.tensor(name).floats())
        }
        #expect(#expect(throws: CheckpointError.self) { try store.tensor("4.weight") }?.code == "checkpoint.missing_tensor")
    }

    @Test func refusesShardsOutsideTheFolder() throws {
        let dir = try TemporaryDirectory()
        for shard in ["../model.safetensors", "sub/model.safetensors", "/etc/passwd", ".."] {
            let index = #"{"weight_map": {"0.bias": "\#(shard)"}}"#
            let path = try writeShards(in: dir, folder: "checkpoint-1", index: index)
            let error = #expect(throws: CheckpointError.self) { try CheckpointFolder(path: path) }
            #expect(error?.code == "checkpoint.bad_shard", "\(shard)")
        }
        // A symbolic link whose target leaves the folder.
        let outside = try dir.write("elsewhere.safetensors", safetensorsBytes(header: "{}", data: []))
        let path = try writeShards(in: dir, folder: "checkpoint-2", index: #"{"weight_map": {"0.bias": "linked.safetensors"}}"#)
        try FileManager.default.createSymbolicLink(atPath: path + "/linked.safetensors", withDestinationPath: outside)
        let error = #expect(throws: CheckpointError.self) { try CheckpointFolder(path: path) }
        #expect(error?.code == "checkpoint.bad_shard")
        #expect(error?.detail == "shard 'linked.safetensors' is a symbolic link that leaves the checkpoint folder")
    }

    @Test func refusesInconsistentShards() throws {
        let dir = try TemporaryDirectory()
        let missing = try writeShards(in: dir, folder: "a", index: #"{"weight_map": {"0.bias": "model-00003-of-00002.safetensors"}}"#)
        #expect(#expect(throws: CheckpointError.self) { try CheckpointFolder(path: missing) }?.code == "checkpoint.missing_shard")

        let wrong = try writeShards(in: dir, folder: "b", index: #"{"weight_map": {"0.bias": "model-00002-of-00002.safetensors"}}"#)
        let mismatch = #expect(throws: CheckpointError.self) { try CheckpointFolder(path: wrong).weights() }
        #expect(mismatch?.code == "checkpoint.index_mismatch")

        // The same tensor in both shards.
        let twice = try writeShards(in: dir, folder: "c", index: goodIndex)
        try FileManager.default.removeItem(atPath: twice + "/model-00002-of-00002.safetensors")
        try FileManager.default.copyItem(atPath: twice + "/model-00001-of-00002.safetensors", toPath: twice + "/model-00002-of-00002.safetensors")
        let duplicate = #expect(throws: CheckpointError.self) { try CheckpointFolder(path: twice).weights() }
        #expect(duplicate?.code == "checkpoint.duplicate_tensor")
        #expect(duplicate?.detail == "tensor '0.weight' is in both 'model-00001-of-00002.safetensors' and 'model-00002-of-00002.safetensors'")

        let garbage = try writeShards(in: dir, folder: "d", index: "{\"weight_map\": ")
        #expect(#expect(throws: CheckpointError.self) { try CheckpointFolder(path: garbage) }?.code == "checkpoint.bad_index")
    }
}
