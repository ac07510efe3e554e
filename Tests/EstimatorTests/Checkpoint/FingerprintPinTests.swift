import Testing
@testable import Estimator

/// Stored checkpoint and eval fingerprints identify rows in every existing database: the values
/// below were computed by the code before the checkpoint layout moved into one owner, and must
/// never change for the same files.
@Suite struct FingerprintPinTests {
    @Test(arguments: [
        ("digits/checkpoint-0", "5d8265281070e53d7e21fd47d76d1300080bc56fd4804f0ca0d422929c1c5815"),
        ("digits/checkpoint-100", "0d4068739edff6847f8f51e1135cdddb78ed76eec76cbdac8874d733be7b4b61"),
        ("digits/checkpoint-3000", "562d3e3e3645bfd225901720446d983ca38c0a3d6e454707a514d7f37ca24793"),
        ("digits-legacy/checkpoint-100", "41f6f6b33740fea15791875ea1a791f0b1a5117c72cb8f095ac23a2dfbf2eeb5"),
        ("gpt2-tiny/checkpoint-150", "0ccd8fd5ba3fc491b0becc1511c906c35bbee974f8f46dde5946f9283777fbb5"),
        ("llama-tiny/checkpoint-150", "3ca7ab71fd213e0b1c2851828825d50709f18bad92014309727657f1736974ca"),
        ("neox-tiny/checkpoint-30", "e9ddf64c536357fb22b11b3ff626b3c6c213a656e03269beef544ad9dc556dd6"),
        ("neox-tiny/checkpoint-60", "2cd466c1f37205e21bae22c354be439156858705505193e103ed517877214e61"),
    ])
    func fixtureCheckpointFingerprintsAreUnchanged(checkpoint: String, fingerprint: String) throws {
        #expect(try CheckpointFolder(path: Fixtures.path(checkpoint)).fingerprint() == fingerprint)
    }

    @Test(arguments: [
        ("digits/digits_val.safetensors", "4bbcae263555f577d056f572397d274d838981611c0f17f28629439b206d1db3"),
        ("digits-legacy/digits_val.safetensors", "4bbcae263555f577d056f572397d274d838981611c0f17f28629439b206d1db3"),
        ("gpt2-tiny/eval_tokens.safetensors", "e3bc5ddc8b3d55b66cfbeb8270cfa80c73f6a3a932350c482ac3f4b25b64abe2"),
        ("llama-tiny/eval_tokens.safetensors", "e3bc5ddc8b3d55b66cfbeb8270cfa80c73f6a3a932350c482ac3f4b25b64abe2"),
        ("neox-tiny/eval_tokens.safetensors", "e3bc5ddc8b3d55b66cfbeb8270cfa80c73f6a3a932350c482ac3f4b25b64abe2"),
    ])
    func fixtureEvalFingerprintsAreUnchanged(file: String, fingerprint: String) throws {
        #expect(try EvalDataFile(path: Fixtures.path(file)).fingerprint == fingerprint)
    }

    /// A single-file checkpoint: the file's own name is hashed with its bytes.
    @Test func singleFileFingerprintIsUnchanged() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("step-250.safetensors", try readBytes(Fixtures.path("digits/checkpoint-100/model.safetensors")))
        #expect(try CheckpointFolder(path: file).fingerprint() == "a9fb0d28974542f23ae57bd860408e44cd62efd2a7bdedf1f3d80de4c9b841f0")
    }

    /// Sharded folders hash the index and every listed shard (not unlisted files), with config
    /// and optimizer; shard bytes are not parsed for the fingerprint.
    @Test(arguments: [
        ("model.safetensors.index.json", "model-0000%d-of-00002.safetensors", "29d858a12b09408f8a0063ad1f78228da25bc7dceca1a2a81c1af49f0568ccb4"),
        ("pytorch_model.bin.index.json", "pytorch_model-0000%d-of-00002.bin", "8fea36fbe07f503f340d391d7b8a3617782bd0b271f322e3054e3f9f2933408b"),
    ])
    func shardedFolderFingerprintIsUnchanged(index: String, shardPattern: String, fingerprint: String) throws {
        let dir = try TemporaryDirectory()
        let folder = try dir.makeFolder("run/checkpoint-9")
        let first = shardPattern.replacing("%d", with: "1")
        let second = shardPattern.replacing("%d", with: "2")
        try dir.write("run/checkpoint-9/\(index)", #"{"weight_map": {"a": "\#(first)", "b": "\#(second)", "c": "\#(first)"}}"#)
        try dir.write("run/checkpoint-9/\(first)", Array(0..<200).map { UInt8($0) })
        try dir.write("run/checkpoint-9/\(second)", Array(repeating: 7, count: 33))
        try dir.write("run/checkpoint-9/config.json", #"{"model_type": "gpt2"}"#)
        try dir.write("run/checkpoint-9/optimizer.pt", [1, 2, 3, 4])
        try dir.write("run/checkpoint-9/model-00003-of-00003.safetensors", [9])
        try dir.write("run/checkpoint-9/trainer_state.json", "{}")
        #expect(try CheckpointFolder(path: folder).fingerprint() == fingerprint)
    }
}
