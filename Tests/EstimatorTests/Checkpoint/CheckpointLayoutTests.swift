import Foundation
import Testing
@testable import Estimator

@Suite struct CheckpointLayoutTests {
    @Test func parsesStepsFromNames() {
        #expect(CheckpointLayout.step(fromName: "checkpoint-0", form: .folder) == 0)
        #expect(CheckpointLayout.step(fromName: "checkpoint-3000", form: .folder) == 3000)
        #expect(CheckpointLayout.step(fromName: "step-12", form: .folder) == 12)
        #expect(CheckpointLayout.step(fromName: "step-12.safetensors", form: .file) == 12)
        #expect(CheckpointLayout.step(fromName: "checkpoint-7.safetensors", form: .file) == 7)
        #expect(CheckpointLayout.step(fromName: "step-12.safetensors", form: .folder) == nil)
        #expect(CheckpointLayout.step(fromName: "final.safetensors", form: .file) == nil)
        #expect(CheckpointLayout.step(fromName: "tmp-checkpoint-30", form: .folder) == nil)
        #expect(CheckpointLayout.step(fromName: "checkpoint-", form: .folder) == nil)
        #expect(CheckpointLayout.step(fromName: "checkpoint-1a", form: .folder) == nil)
        #expect(CheckpointLayout.step(fromName: "checkpoint--5", form: .folder) == nil)
        #expect(CheckpointLayout.step(fromName: "checkpoint-+5", form: .folder) == nil)
        #expect(CheckpointLayout.step(fromName: "checkpoint-99999999999999999999", form: .folder) == nil)
        #expect(CheckpointLayout.step(fromName: "checkpoint-٣", form: .folder) == nil)
    }

    @Test func namesDecideWhichRunEntriesAreCheckpoints() {
        #expect(CheckpointLayout.form(ofEntryNamed: "checkpoint-100") == .folder)
        #expect(CheckpointLayout.form(ofEntryNamed: "checkpoint-final") == .folder)
        #expect(CheckpointLayout.form(ofEntryNamed: "step-12.safetensors") == .file)
        for name in ["checkpoint-", "tmp-checkpoint-3", "step-.safetensors", "step-.bin", "trainer_state.json", ".checkpoint-1", "volume.toml"] {
            #expect(CheckpointLayout.form(ofEntryNamed: name) == nil, "\(name)")
        }
    }

    /// `torch.save` state dicts count when their stem ends in the step; the other `.pt`, `.pth`
    /// and `.bin` files that trainers leave in a run folder do not.
    @Test func stateDictFilesEndInTheirStep() {
        for (name, step) in [("step-500.pt", 500), ("model_40.pth", 40), ("weights-40.bin", 40), ("epoch3-step120.pt", 120), ("step-0.pt", 0)] {
            #expect(CheckpointLayout.form(ofEntryNamed: name) == .stateDictFile, "\(name)")
            #expect(CheckpointLayout.step(fromName: name, form: .stateDictFile) == step, "\(name)")
        }
        for name in ["training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth", "rng_state_0.pth", "rng_state_7.pth",
                     "optimizer_1.bin", "scheduler_1.bin", "sampler_1.bin", "dl_state_dict_1.bin", "scaler.pt", "custom_checkpoint_0.pkl",
                     "random_states_0.pkl", "pytorch_model-00001-of-00002.bin", "pytorch_model.bin", "model.pt", ".step-5.pt"]
        {
            #expect(CheckpointLayout.form(ofEntryNamed: name) == nil, "\(name)")
        }
    }

    @Test func accelerateFoldersCountSavesNotSteps() {
        #expect(CheckpointLayout.form(ofEntryNamed: "checkpoint_0") == .accelerateFolder)
        #expect(CheckpointLayout.step(fromName: "checkpoint_12", form: .accelerateFolder) == 12)
        for name in ["checkpoint_", "checkpoint_1a", "checkpoint_-1"] {
            #expect(CheckpointLayout.form(ofEntryNamed: name) == nil, "\(name)")
        }
    }

    /// An Accelerate folder's optimizer is `optimizer.bin`; HF folders keep `optimizer.pt`.
    @Test func accelerateContentIsWeightsAndOptimizerBin() throws {
        for name in ["model.safetensors", "pytorch_model.bin", "optimizer.bin", "config.json"] {
            #expect(CheckpointLayout.isContentFileName(name, form: .accelerateFolder), "\(name)")
        }
        for name in ["optimizer.pt", "scheduler.bin", "sampler.bin", "random_states_0.pkl", "scaler.pt", "optimizer_1.bin", "model_1.safetensors"] {
            #expect(!CheckpointLayout.isContentFileName(name, form: .accelerateFolder), "\(name)")
        }
        #expect(!CheckpointLayout.isContentFileName("optimizer.bin"))
        #expect(!CheckpointLayout.isContentFileName("optimizer.bin", form: .folder))
        #expect(CheckpointLayout.optimizerFileName(for: .accelerateFolder) == "optimizer.bin")
        #expect(CheckpointLayout.optimizerFileName(for: .folder) == "optimizer.pt")
        let dir = try TemporaryDirectory()
        let folder = try dir.makeFolder("checkpoint_2")
        let listing: Set = ["model.safetensors", "optimizer.bin", "scheduler.bin", "random_states_0.pkl"]
        #expect(CheckpointLayout.candidateContentFileNames(in: folder, listing: listing, form: .accelerateFolder) == ["model.safetensors", "optimizer.bin"])
        #expect(CheckpointLayout.candidateContentFileNames(in: folder, listing: listing) == ["model.safetensors"])
    }

    @Test func nestedLayoutsTakeTheirSettingsFromTheRunFolder() {
        let cases: [(String, String)] = [
            ("/w/exp/lightning_logs/version_0/checkpoints/epoch=0-step=3.ckpt", "/w/exp"),
            ("/w/exp/lightning_logs/version_12/checkpoints/last-v1.ckpt", "/w/exp/lightning_logs/version_12/checkpoints"),
            ("/w/exp/checkpoints/epoch=0-step=3.ckpt", "/w/exp"),
            ("/w/exp/checkpoints/checkpoint_4", "/w/exp"),
            ("/w/exp/checkpoints/checkpoint_4/", "/w/exp"),
            // HF output in a folder named `checkpoints` is that folder's own.
            ("/w/checkpoints/checkpoint-500", "/w/checkpoints"),
            ("/w/checkpoints/step-5.safetensors", "/w/checkpoints"),
            // Accelerate folders are never a Lightning version's.
            ("/w/exp/lightning_logs/version_0/checkpoints/checkpoint_4", "/w/exp/lightning_logs/version_0"),
            ("/w/exp/lightning_logs/version_x/checkpoints/a.ckpt", "/w/exp/lightning_logs/version_x"),
            ("/w/exp/logs/version_0/checkpoints/a.ckpt", "/w/exp/logs/version_0"),
            ("/w/exp/epoch=0-step=3.ckpt", "/w/exp"),
            ("/w/exp/checkpoint-3", "/w/exp"),
            ("checkpoints/a.ckpt", "."),
            ("a.ckpt", "."),
        ]
        for (path, run) in cases {
            #expect(CheckpointLayout.runFolder(ofCheckpoint: path) == run, "\(path)")
        }
        #expect(CheckpointLayout.isLightningVersionName("version_0"))
        for name in ["version_", "version_a", "version_-1", "Version_0", "version_0.tmp"] {
            #expect(!CheckpointLayout.isLightningVersionName(name), "\(name)")
        }
        #expect(CheckpointLayout.NestedFolder.checkpoints.holds(.lightning))
        #expect(CheckpointLayout.NestedFolder.checkpoints.holds(.accelerateFolder))
        #expect(!CheckpointLayout.NestedFolder.checkpoints.holds(.folder))
        #expect(!CheckpointLayout.NestedFolder.lightningVersion.holds(.accelerateFolder))
    }

    @Test func recognisesContentFileNames() {
        for name in ["model.safetensors", "pytorch_model.bin", "optimizer.pt", "config.json", "model-00001-of-00003.safetensors",
            "pytorch_model-00002-of-00002.bin", "model.safetensors.index.json"]
        {
            #expect(CheckpointLayout.isContentFileName(name), "\(name)")
        }
        for name in ["trainer_state.json", "rng_state.pth", "scheduler.pt", "training_args.bin", "model-1-of.safetensors",
            "model-a-of-2.safetensors", "model-00001-of-00003.bin", "generation_config.json"]
        {
            #expect(!CheckpointLayout.isContentFileName(name), "\(name)")
        }
    }

    /// The watcher's candidates: content names, and the shards an index lists (only those in
    /// the folder, only plain names); a malformed index lists nothing.
    @Test func candidatesAreContentNamesAndListedShards() throws {
        let dir = try TemporaryDirectory()
        let folder = try dir.makeFolder("checkpoint-3")
        try dir.write("checkpoint-3/model.safetensors.index.json",
                      #"{"weight_map": {"a": "part-one.safetensors", "b": "part-one.safetensors", "c": "../escape.safetensors", "d": "gone.safetensors"}}"#)
        let listing: Set = ["model.safetensors.index.json", "part-one.safetensors", "model-00002-of-00002.safetensors",
                            "notes.safetensors", "trainer_state.json", "config.json"]
        #expect(CheckpointLayout.candidateContentFileNames(in: folder, listing: listing) == [
            "model.safetensors.index.json", "part-one.safetensors", "model-00002-of-00002.safetensors", "config.json",
        ])
        try dir.write("checkpoint-3/model.safetensors.index.json", #"{"weight_map": "#)
        #expect(!CheckpointLayout.candidateContentFileNames(in: folder, listing: listing).contains("part-one.safetensors"))
        #expect(CheckpointLayout.hasWeights(listing))
        #expect(!CheckpointLayout.hasWeights(["optimizer.pt", "config.json"]))
    }

    /// What the watcher counts includes what the reader fingerprints.
    @Test(arguments: ["digits/checkpoint-100", "digits-legacy/checkpoint-100", "neox-tiny/checkpoint-30", "accelerate-tiny/checkpoints/checkpoint_1"])
    func readerContentIsAmongTheCandidates(checkpoint: String) throws {
        let path = Fixtures.path(checkpoint)
        let listing = Set(try FileManager.default.contentsOfDirectory(atPath: path))
        let folder = try CheckpointFolder(path: path)
        let candidates = CheckpointLayout.candidateContentFileNames(in: path, listing: listing, form: folder.form)
        #expect(Set(folder.contentFileNames) == candidates)
    }
}
