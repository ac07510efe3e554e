import Foundation
import Testing
@testable import Estimator

/// `torch.save(model.state_dict(), "step-N.pt")` from a plain training loop
/// (`fixtures/torchsave-tiny`, a tied GPT-2 saved bare, through DDP, through `torch.compile`
/// and through both), read against the weights the script wrote alongside.
@Suite struct StateDictCheckpointTests {
    static let run = Fixtures.path("torchsave-tiny")
    static let steps = [10, 20, 30, 40]

    /// `expected.safetensors`' tensors of `step`, by the names volumed reads.
    static func expected(step: Int) throws -> [String: RawTensor] {
        let file = try SafeTensorsFile(path: run + "/expected.safetensors")
        var out: [String: RawTensor] = [:]
        for key in file.tensorNames where key.hasPrefix("\(step)/") {
            out[String(key.dropFirst("\(step)/".count))] = try file.tensor(key)
        }
        return out
    }

    static func expectSameTensors(_ store: any TensorStore, _ expected: [String: RawTensor]) throws {
        #expect(Set(store.tensorNames) == Set(expected.keys))
        #expect(store.tensorNames.count == expected.count)
        for (name, tensor) in expected {
            let loaded = try store.tensor(name)
            #expect(loaded.dtype == tensor.dtype && loaded.shape == tensor.shape, "\(name)")
            #expect(loaded.bytes.elementsEqual(tensor.bytes), "\(name) differs")
        }
    }

    @Test(arguments: steps)
    func readsEveryWrapperPrefixAsTheModelsOwnNames(step: Int) throws {
        let path = Self.run + "/step-\(step).pt"
        let checkpoint = try CheckpointFolder(path: path)
        #expect(checkpoint.form == .stateDictFile)
        #expect(checkpoint.step == step)
        #expect(checkpoint.runFolder == Self.run)
        #expect(checkpoint.weightFiles == .pytorch(path))
        #expect(checkpoint.optimizerPath == nil)
        #expect(checkpoint.configPath == Self.run + "/config.json")
        #expect(checkpoint.config?["model_type"]?.stringValue == "gpt2")
        #expect(checkpoint.contentFiles == [path])
        try Self.expectSameTensors(try checkpoint.weights(), try Self.expected(step: step))
    }

    @Test(arguments: ["variants/model_40.pth", "variants/weights-40.bin"])
    func readsOtherSuffixes(name: String) throws {
        let checkpoint = try CheckpointFolder(path: Self.run + "/" + name)
        #expect(checkpoint.form == .stateDictFile)
        #expect(checkpoint.step == 40)
        try Self.expectSameTensors(try checkpoint.weights(), try Self.expected(step: 40))
    }

    /// The GPT-2 loader uses the embedding as the head; the saved `lm_head.weight` is the same
    /// storage, so it is accepted, and θ0 is the expected weights in `named_parameters()` order.
    @Test(arguments: steps)
    func loadsTheTiedGPT2FromTheRunConfig(step: Int) throws {
        let checkpoint = try CheckpointFolder(path: Self.run + "/step-\(step).pt")
        let model = try ModelLoader.load(checkpoint, manifest: nil)
        #expect(model.architecture == "gpt2")
        let expected = try Self.expected(step: step)
        #expect(model.layout["lm_head.weight"] == nil)
        #expect(model.layout.parameters.count == expected.count - 1)
        var anchor: [Float] = []
        for parameter in model.layout.parameters {
            anchor += try #require(expected[parameter.name], "\(parameter.name)").floats()
        }
        #expect(model.anchor.map(\.bitPattern) == anchor.map(\.bitPattern))
    }

    /// The run's `config.json` is a run setting, not checkpoint content: it is not fingerprinted.
    @Test func fingerprintCoversTheFileOnly() throws {
        let dir = try TemporaryDirectory()
        let copy = try dir.write("step-10.pt", try readBytes(Self.run + "/step-10.pt"))
        let bare = try CheckpointFolder(path: copy)
        #expect(bare.config == nil)
        let original = try bare.fingerprint()
        #expect(try CheckpointFolder(path: Self.run + "/step-10.pt").fingerprint() == original)
        try dir.write("config.json", try readBytes(Self.run + "/config.json"))
        let configured = try CheckpointFolder(path: copy)
        #expect(configured.configPath == dir.path + "/config.json")
        #expect(configured.contentFileNames == ["step-10.pt"])
        #expect(try configured.fingerprint() == original)
        try dir.write("step-10.pt", try readBytes(Self.run + "/step-20.pt"))
        #expect(try CheckpointFolder(path: copy).fingerprint() != original)
    }

    // MARK: Hostile input

    /// A hostile file of the fixture in a run folder of its own, with the fixture's config.
    static func hostile(_ name: String, in dir: TemporaryDirectory) throws -> CheckpointFolder {
        try dir.write("config.json", try readBytes(run + "/config.json"))
        return try CheckpointFolder(path: try dir.write("step-40.pt", try readBytes(run + "/hostile/" + name)))
    }

    @Test func refusesAnUntiedHeadThatDiffersFromTheEmbedding() throws {
        let dir = try TemporaryDirectory()
        let checkpoint = try Self.hostile("untied-head.pt", in: dir)
        let error = #expect(throws: EstimatorError.self) { try ModelLoader.load(checkpoint, manifest: nil) }
        #expect(error?.code == "model.tied_head_differs")
        #expect(error?.detail.contains("'lm_head.weight' differs at element [3, 5]") == true, "\(String(describing: error))")
        #expect(error?.detail.contains("from 'transformer.wte.weight'") == true, "\(String(describing: error))")
    }

    @Test func namesAnUnknownPrefix() throws {
        let dir = try TemporaryDirectory()
        let checkpoint = try Self.hostile("net-prefix.pt", in: dir)
        let error = #expect(throws: EstimatorError.self) { try ModelLoader.load(checkpoint, manifest: nil) }
        #expect(error?.code == "model.unknown_prefix")
        #expect(error?.detail.contains("there is 'net.transformer.wte.weight': the names carry the prefix 'net.'") == true, "\(String(describing: error))")
    }

    @Test func refusesNonTensorValues() throws {
        let dir = try TemporaryDirectory()
        let checkpoint = try Self.hostile("non-tensor.pt", in: dir)
        let error = #expect(throws: CheckpointError.self) { try checkpoint.weights() }
        #expect(error?.code == "checkpoint.bad_state_dict")
        #expect(error?.detail == "state dict entry 'step' is a int, not a tensor")
    }

    @Test(arguments: [100, 4096, 60_000])
    func reportsATruncatedFile(keeping count: Int) throws {
        let dir = try TemporaryDirectory()
        let bytes = try readBytes(Self.run + "/step-10.pt")
        let checkpoint = try CheckpointFolder(path: try dir.write("step-10.pt", Array(bytes.prefix(count))))
        let error = #expect(throws: CheckpointError.self) { try checkpoint.weights() }
        #expect(error?.code.hasPrefix("zip.") == true, "\(String(describing: error))")
        #expect(error?.file == checkpoint.path)
    }

    /// `module.x` beside `x`: which one the model means cannot be told.
    @Test func refusesNamesThatCollideOnceUnwrapped() throws {
        struct Store: TensorStore {
            let source = "step-1.pt"
            let tensorNames = ["module.fc.weight", "fc.weight"]
            func tensor(_ name: String) throws(CheckpointError) -> RawTensor { RawTensor(dtype: .f32, shape: [1], data: [0, 0, 0, 0]) }
        }
        let error = #expect(throws: CheckpointError.self) { try UnwrappedTensorStore(Store()) }
        #expect(error?.code == "checkpoint.duplicate_tensor")
        #expect(error?.detail.hasPrefix("tensors 'module.fc.weight' and 'fc.weight' are both 'fc.weight'") == true)
    }

    @Test func refusesOtherSingleFiles() throws {
        let dir = try TemporaryDirectory()
        let error = #expect(throws: CheckpointError.self) { try CheckpointFolder(path: try dir.write("step-3.npz", [0])) }
        #expect(error?.code == "checkpoint.unsupported_file")
    }
}
