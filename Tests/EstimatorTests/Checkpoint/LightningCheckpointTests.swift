import Base
import Foundation
import Testing
@testable import Estimator

/// `fixtures/lightning-tiny/`: a LightningModule holding a GPT-NeoX as `self.model`, saved by
/// pytorch-lightning 2.6.6 (`fixtures/make_lightning.py`).
@Suite struct LightningCheckpointTests {
    static let run = Fixtures.path("lightning-tiny")
    static let version0 = run + "/lightning_logs/version_0/checkpoints"
    static let version1 = run + "/lightning_logs/version_1/checkpoints"
    static let step6 = version0 + "/epoch=0-step=6.ckpt"

    @Test func readsStepConfigAndContentFromTheFileAndTheRunFolder() throws {
        let folder = try CheckpointFolder(path: Self.step6)
        #expect(folder.step == 6)
        #expect(folder.runFolder == Self.run)
        #expect(folder.weightFiles == .lightning(Self.step6))
        #expect(folder.configPath == Self.run + "/config.json")
        #expect(folder.config?["model_type"]?.stringValue == "gpt_neox")
        #expect(folder.optimizerPath == Self.step6)
        #expect(folder.contentFiles == [Self.step6])
        #expect(try CheckpointFolder(path: Self.version0 + "/epoch=0-step=3.ckpt").step == 3)
        #expect(try CheckpointFolder(path: Self.version1 + "/epoch=0-step=3.ckpt").step == 3)
    }

    @Test func stepIsTheFilesGlobalStepNotItsName() throws {
        let directory = try TemporaryDirectory()
        let renamed = directory.path + "/epoch=9-step=900.ckpt"
        try FileManager.default.copyItem(atPath: Self.step6, toPath: renamed)
        #expect(try CheckpointFolder(path: renamed).step == 6)
        // last.ckpt is skipped by the watcher, but read when named explicitly.
        #expect(try CheckpointFolder(path: Self.version0 + "/last.ckpt").step == 6)
    }

    @Test func weightsEqualWhatTheScriptWrote() throws {
        let folder = try CheckpointFolder(path: Self.step6)
        let model = try ModelLoader.load(folder, manifest: nil)
        #expect(model.architecture == "gpt_neox")
        let expected = try SafeTensorsFile(path: Self.run + "/expected/version_0-step=6.safetensors")
        #expect(Set(model.layout.parameters.map(\.name)) == Set(expected.tensorNames))
        for parameter in model.layout.parameters {
            let values = Array(model.anchor[parameter.range])
            #expect(values == (try expected.tensor(parameter.name)).floats(), "\(parameter.name)")
        }
    }

    @Test func adamStateMapsToTheNamesRecordedAtSaveTime() throws {
        let folder = try CheckpointFolder(path: Self.step6)
        let model = try ModelLoader.load(folder, manifest: nil)
        let checkpoint = try LightningCheckpoint(path: Self.step6)
        let optimizer = try #require(try checkpoint.optimizerState())
        let module = checkpoint.weights.moduleParameters(for: model.layout)

        // The sidecar: the optimizer's groups as LightningModule names, in state-index order.
        let sidecar = try JSONValue.parse(try SafeFileText.read(Self.run + "/expected/param_groups.json"))
        let groups = try #require(sidecar["version_0/global_step=6"]?.arrayValue)
        let recorded = groups.flatMap { $0.arrayValue ?? [] }.compactMap(\.stringValue)
        #expect(groups.count == 2 && recorded.count == model.layout.parameters.count)
        var assigned: [Int: String] = [:]
        for (parameter, index) in try optimizer.assignment(for: model.layout, module: module) {
            assigned[index] = parameter.name
        }
        for (index, name) in recorded.enumerated() {
            #expect(assigned[index] == String(name.dropFirst("model.".count)), "state \(index)")
            #expect(module.modelNames[name] == String(name.dropFirst("model.".count)))
        }

        let moments = AdamMoments(expAvg: try folder.adamMoment(.expAvg, for: model.layout),
                                  expAvgSq: try folder.adamMoment(.expAvgSq, for: model.layout))
        let expected = try SafeTensorsFile(path: Self.run + "/expected/version_0-step=6.adam.safetensors")
        for parameter in model.layout.parameters {
            #expect(Array(moments.expAvgSq[parameter.range]) == (try expected.tensor("exp_avg_sq." + parameter.name)).floats(), "\(parameter.name)")
            #expect(Array(moments.expAvg[parameter.range]) == (try expected.tensor("exp_avg." + parameter.name)).floats(), "\(parameter.name)")
        }
    }

    @Test func weightsOnlyFileSkipsAdam() throws {
        let estimation = try CheckpointEstimation(path: Self.version1 + "/epoch=0-step=3.ckpt")
        #expect(estimation.folder.optimizerPath == nil)
        guard case .failure(let skip) = try estimation.preconditioner(try PreconditionerSpec(parsing: "adam")) else {
            Issue.record("adam should be skipped without optimizer_states")
            return
        }
        #expect(skip.reason == "no optimizer_states in the Lightning checkpoint (saved with save_weights_only)")
    }

    @Test func adamPreconditionerBuildsFromTheFile() throws {
        let estimation = try CheckpointEstimation(path: Self.step6)
        guard case .success = try estimation.preconditioner(try PreconditionerSpec(parsing: "adam")) else {
            Issue.record("adam should build from optimizer_states")
            return
        }
    }

    // MARK: Names

    private func stateDict(_ names: [String]) throws -> LightningWeights {
        let pairs: [(key: PickleValue, value: PickleValue)] = names.enumerated().map { i, name in
            (.string(name), .tensor(RawTensor(dtype: .f32, shape: [1], data: littleEndianBytes([Float(i)]))))
        }
        return try LightningCheckpoint(.dict([(.string("global_step"), .int(1)), (.string("state_dict"), .dict(pairs))]), source: "x.ckpt").weights
    }

    @Test func namesAsSpelledWinOverShortenedOnes() throws {
        // self.model = LlamaForCausalLM(…): Llama's own names begin with `model.`.
        let llama = try stateDict(["model.model.embed_tokens.weight", "model.model.norm.weight", "model.lm_head.weight"])
        #expect(try llama.tensor("model.embed_tokens.weight").floats() == [0])
        #expect(try llama.tensor("lm_head.weight").floats() == [2])
        // self.model = LlamaModel(…): the names are already Llama's.
        let base = try stateDict(["model.embed_tokens.weight", "embed_tokens.weight"])
        #expect(try base.tensor("model.embed_tokens.weight").floats() == [0])
        #expect(try base.tensor("embed_tokens.weight").floats() == [1])
        // Wrapper prefixes go first: a compiled model under an attribute.
        let compiled = try stateDict(["net._orig_mod.gpt_neox.embed_in.weight"])
        #expect(try compiled.tensor("gpt_neox.embed_in.weight").floats() == [0])
    }

    @Test func twoCopiesOfTheModelMakeShortenedNamesAmbiguous() throws {
        let weights = try stateDict(["model.gpt_neox.embed_in.weight", "ema.gpt_neox.embed_in.weight"])
        let error = #expect(throws: CheckpointError.self) { try weights.tensor("gpt_neox.embed_in.weight") }
        #expect(error?.code == "lightning.ambiguous_name")
        #expect(try weights.tensor("ema.gpt_neox.embed_in.weight").floats() == [1])
    }

    // MARK: Hostile files

    @Test func refusesFilesThatAreNotLightningCheckpoints() {
        let tensors: PickleValue = .dict([(.string("w"), .tensor(RawTensor(dtype: .f32, shape: [1], data: littleEndianBytes([1]))))])
        let cases: [(PickleValue, String, String)] = [
            (.list([]), "lightning.not_a_checkpoint", "x.ckpt: pickle holds a list, not a Lightning checkpoint dict"),
            (tensors, "lightning.no_state_dict", "x.ckpt: no 'state_dict' key; not a Lightning checkpoint (a bare torch.save state dict is read as a .pt/.bin file)"),
            (.dict([(.string("state_dict"), .list([])), (.string("global_step"), .int(1))]), "lightning.no_state_dict", "x.ckpt: 'state_dict' is a list, not a dict of tensors"),
            (.dict([(.string("state_dict"), tensors)]), "lightning.no_global_step", "x.ckpt: no 'global_step' key; the step cannot be known"),
            (.dict([(.string("state_dict"), tensors), (.string("global_step"), .string("6"))]), "lightning.bad_global_step", "x.ckpt: 'global_step' is str , not a non-negative int"),
            (.dict([(.string("state_dict"), tensors), (.string("global_step"), .float(6))]), "lightning.bad_global_step", "x.ckpt: 'global_step' is float , not a non-negative int"),
            (.dict([(.string("state_dict"), tensors), (.string("global_step"), .int(-1))]), "lightning.bad_global_step", "x.ckpt: 'global_step' is int -1, not a non-negative int"),
            (.dict([(.string("state_dict"), tensors), (.string("global_step"), .int(1)), (.string("optimizer_states"), .int(0))]),
             "lightning.bad_optimizer_states", "x.ckpt: 'optimizer_states' is a int, not a list of optimizer state dicts"),
        ]
        for (value, code, description) in cases {
            let error = #expect(throws: CheckpointError.self) { try LightningCheckpoint(value, source: "x.ckpt") }
            #expect(error?.code == code)
            #expect(error?.description == description)
        }
    }

    @Test func emptyOrMissingOptimizerStatesIsNoOptimizer() throws {
        let tensors: PickleValue = .dict([(.string("w"), .tensor(RawTensor(dtype: .f32, shape: [1], data: littleEndianBytes([1]))))])
        for states: PickleValue? in [nil, PickleValue.none, .list([])] {
            var pairs: [(key: PickleValue, value: PickleValue)] = [(.string("state_dict"), tensors), (.string("global_step"), .int(2))]
            if let states { pairs.append((.string("optimizer_states"), states)) }
            let checkpoint = try LightningCheckpoint(.dict(pairs), source: "x.ckpt")
            #expect(!checkpoint.hasOptimizerState)
            #expect(try checkpoint.optimizerState() == nil)
            let error = #expect(throws: CheckpointError.self) { try checkpoint.adamMoment(.expAvgSq, for: ParameterLayout([("w", [1], false)])) }
            #expect(error?.code == CheckpointError.Code.noAdamState)
        }
    }

    /// A `.ckpt` archive whose hyper-parameters hold a numpy array (`numpy.core.multiarray.
    /// _reconstruct`, which no file the tests' libraries wrote contains): refused, naming the global.
    @Test func refusesForbiddenGlobalsInAnyPartOfTheFile() throws {
        var pickle = PickleWriter()
        pickle.op(0x7D)  // EMPTY_DICT
        pickle.string("global_step"); pickle.int(3); pickle.op(0x73)  // SETITEM
        pickle.string("hyper_parameters")
        pickle.global("numpy.core.multiarray", "_reconstruct"); pickle.mark(); pickle.string("/data"); pickle.tuple(); pickle.reduce()
        pickle.op(0x73)
        pickle.stop()
        var zip = ZipBuilder()
        zip.add("archive/data.pkl", pickle.bytes)
        zip.add("archive/byteorder", Array("little".utf8))
        let directory = try TemporaryDirectory()
        let path = try directory.write("run/epoch=0-step=3.ckpt", zip.bytes())
        let error = #expect(throws: CheckpointError.self) { try CheckpointFolder(path: path) }
        #expect(error?.code == "pickle.forbidden_global")
        #expect(error?.detail.contains("'numpy.core.multiarray._reconstruct'") == true)
    }

    /// `save_hyperparameters()` of a `pathlib.Path`, an `argparse.Namespace` and a `set`, as
    /// Lightning 2.6.6 wrote them (fixtures/lightning-hparams/make_fixture.py): read as plain
    /// data — the path string, a dict of the namespace's attributes, a list — never constructed.
    @Test func readsHyperParametersResearchersPass() throws {
        let path = Fixtures.path("lightning-hparams/hparams.ckpt")
        let value = try TorchArchive.load(path: path)
        let hparams = try #require(value["hyper_parameters"])
        #expect(hparams["data_dir"]?.stringValue == "/data/run")
        #expect(hparams["args"]?["batch"]?.intValue == 4)
        #expect(hparams["args"]?["name"]?.stringValue == "tiny")
        #expect(hparams["tags"]?.items?.compactMap(\.stringValue) == ["clean"])
        let checkpoint = try LightningCheckpoint(path: path)
        #expect(checkpoint.globalStep == 2)
        #expect(checkpoint.hasOptimizerState)
    }

    @Test func truncatedFileIsAnArchiveError() throws {
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: Self.step6)))
        let directory = try TemporaryDirectory()
        let path = try directory.write("epoch=0-step=6.ckpt", Array(bytes.prefix(bytes.count / 2)))
        let error = #expect(throws: CheckpointError.self) { try CheckpointFolder(path: path) }
        #expect(error?.code.hasPrefix("zip.") == true)
    }
}
