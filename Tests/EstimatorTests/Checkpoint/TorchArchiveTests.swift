import Testing
@testable import Estimator

@Suite struct TorchArchiveTests {
    @Test func readsLegacyStateDictLikeTheSafetensorsCopy() throws {
        let bin = try TorchStateDict(path: Fixtures.path("digits-legacy/checkpoint-100/pytorch_model.bin"))
        let safetensors = try SafeTensorsFile(path: Fixtures.path("digits/checkpoint-100/model.safetensors"))
        #expect(bin.tensorNames == ["0.weight", "0.bias", "2.weight", "2.bias"])
        for name in bin.tensorNames {
            let a = try bin.tensor(name)
            let b = try safetensors.tensor(name)
            #expect(a.dtype == .f32)
            #expect(a.shape == b.shape)
            #expect(a.floats() == b.floats(), "\(name)")
        }
        #expect(try bin.tensor("0.weight").floats().prefix(3) == [0.06440789997577667, 0.19741445779800415, 0.20449553430080414])
        #expect(#expect(throws: CheckpointError.self) { try bin.tensor("1.bias") }?.code == "checkpoint.missing_tensor")
    }

    @Test func readsACopyInMemoryLikeTheFile() throws {
        let path = Fixtures.path("digits-legacy/checkpoint-100/pytorch_model.bin")
        let mapped = try MappedFile(path: path)
        let copy = withExtendedLifetime(mapped) { MappedFile(path: "copy.bin", contents: mapped.bytes) }
        let memory = try TorchStateDict(try TorchArchive.load(file: copy), source: copy.path)
        let file = try TorchStateDict(path: path)
        #expect(memory.source == "copy.bin")
        #expect(memory.tensorNames == file.tensorNames)
        for name in file.tensorNames {
            #expect(try memory.tensor(name).floats() == file.tensor(name).floats(), "\(name)")
        }
        let legacy = MappedFile(path: "old.pt", contents: [0x80, 0x02, 0x7D, 0x2E])
        let error = #expect(throws: CheckpointError.self) { try TorchArchive.load(file: legacy) }
        #expect(error?.code == "checkpoint.legacy_format")
        #expect(error?.file == "old.pt")
    }

    @Test func readsAdamStateDict() throws {
        let value = try TorchArchive.load(path: Fixtures.path("digits/checkpoint-100/optimizer.pt"))
        let group = try #require(value["param_groups"]?.items?.first)
        #expect(group["params"]?.items?.map(\.intValue) == [0, 1, 2, 3])
        guard case .float(let lr) = group["lr"], case .tuple(let betas) = group["betas"], case .some(.none) = group["foreach"] else {
            Issue.record("unexpected group fields")
            return
        }
        #expect(lr == 0.01)
        guard case .float(0.9) = betas[0], case .float(0.999) = betas[1] else { Issue.record("betas \(betas)"); return }

        let state = try #require(value["state"]?.dictEntries)
        #expect(state.map(\.key.intValue) == [0, 1, 2, 3])
        let first = state[0].value
        let step = try #require(first["step"]?.tensorValue)
        #expect(step.shape == [])
        #expect(step.floats() == [100])
        let expAvg = try #require(first["exp_avg"]?.tensorValue)
        #expect(expAvg.shape == [64, 64])
        #expect(expAvg.floats().prefix(3) == [0.0, -9.712452083476819e-06, 9.50347603065893e-05])
        let expAvgSq = try #require(state[3].value["exp_avg_sq"]?.tensorValue)
        #expect(expAvgSq.shape == [10])
        #expect(expAvgSq.floats().suffix(2) == [2.720496468100464e-07, 5.317239128999063e-07])
    }

    @Test func readsTrainerOptimizersAndScheduler() throws {
        for (run, counts) in [("neox-tiny/checkpoint-30", [10, 18]), ("gpt2-tiny/checkpoint-150", [10, 18]), ("llama-tiny/checkpoint-150", [16, 5])] {
            let value = try TorchArchive.load(path: Fixtures.path("\(run)/optimizer.pt"))
            let groups = try #require(value["param_groups"]?.items)
            #expect(groups.map { $0["params"]?.items?.count } == counts, "\(run)")
            #expect(value["state"]?.dictEntries?.count == counts.reduce(0, +))
        }
        let scheduler = try TorchArchive.load(path: Fixtures.path("neox-tiny/checkpoint-30/scheduler.pt"))
        #expect(scheduler["last_epoch"]?.intValue == 30)
        guard case .list(let lrs) = scheduler["_last_lr"], case .float(0.0005) = lrs.first else {
            Issue.record("unexpected _last_lr")
            return
        }
    }

    @Test func survivesEveryOneByteCorruptionOfARealPickle() throws {
        let archive = try ZipArchive(path: Fixtures.path("digits/checkpoint-100/optimizer.pt"))
        let original = Array(try archive.contents(of: "optimizer/data.pkl"))
        var failures = 0
        for position in original.indices {
            for replacement in [0x00, 0xFF, original[position] ^ 0x80] as [UInt8] where replacement != original[position] {
                var corrupt = original
                corrupt[position] = replacement
                do {
                    _ = try corrupt.withUnsafeBytes { bytes in
                        try TorchArchive.unpickle(bytes, from: archive, folder: "optimizer", limits: Unpickler.Limits())
                    }
                } catch let error as CheckpointError {
                    failures += 1
                    #expect(error.code.hasPrefix("pickle.") || error.code.hasPrefix("checkpoint.") || error.code.hasPrefix("zip."), "\(error)")
                }
            }
        }
        // Most corruptions are caught; some (inside a string or a float) still unpickle.
        #expect(failures > original.count)
    }

    @Test func refusesTrainingArguments() {
        let path = Fixtures.path("neox-tiny/checkpoint-30/training_args.bin")
        let error = #expect(throws: CheckpointError.self) { try TorchArchive.load(path: path) }
        #expect(error?.code == "pickle.forbidden_global")
        #expect(error?.description == "\(path): pickle references forbidden global 'transformers.training_args.TrainingArguments' at byte 2")
    }

    @Test func refusesNumpyRandomState() {
        let error = #expect(throws: CheckpointError.self) {
            try TorchArchive.load(path: Fixtures.path("neox-tiny/checkpoint-30/rng_state.pth"))
        }
        #expect(error?.code == "pickle.forbidden_global")
        #expect(error?.detail == "pickle references forbidden global 'numpy._core.multiarray._reconstruct' at byte 3757")
    }

    @Test func findsTheArchiveFolderWhateverItsName() throws {
        var p = PickleWriter()
        p.op(0x7D)
        p.string("w")
        p.tensor(storage: "LongStorage", key: "7", numel: 2, offset: 0, size: [2], stride: [1])
        p.op(0x73)
        p.stop()
        var zip = ZipBuilder()
        zip.add("my_archive/data.pkl", p.bytes)
        zip.add("my_archive/byteorder", Array("little".utf8))
        zip.add("my_archive/data/7", le64(5) + le64(UInt64(bitPattern: -6)))
        let dir = try TemporaryDirectory()
        let store = try TorchStateDict(path: try dir.write("weights.bin", zip.bytes()))
        #expect(store.tensorNames == ["w"])
        #expect(try store.tensor("w").integers() == [5, -6])
    }

    @Test func refusesBigEndianAndMissingStorage() throws {
        var p = PickleWriter()
        p.tensor(storage: "FloatStorage", key: "0", numel: 1, offset: 0, size: [], stride: [])
        p.stop()
        let dir = try TemporaryDirectory()

        var big = ZipBuilder()
        big.add("archive/data.pkl", p.bytes)
        big.add("archive/byteorder", Array("big".utf8))
        big.add("archive/data/0", [0, 0, 0, 0])
        let order = #expect(throws: CheckpointError.self) { try TorchArchive.load(path: try dir.write("big.pt", big.bytes())) }
        #expect(order?.code == "checkpoint.byteorder")

        var missing = ZipBuilder()
        missing.add("archive/data.pkl", p.bytes)
        let absent = #expect(throws: CheckpointError.self) { try TorchArchive.load(path: try dir.write("missing.pt", missing.bytes())) }
        #expect(absent?.code == "checkpoint.missing_storage")
        #expect(absent?.detail == "pickle refers to tensor storage '0' but the archive has no entry 'archive/data/0'")

        var short = ZipBuilder()
        short.add("archive/data.pkl", p.bytes)
        short.add("archive/data/0", [0, 0])
        let size = #expect(throws: CheckpointError.self) { try TorchArchive.load(path: try dir.write("short.pt", short.bytes())) }
        #expect(size?.code == "checkpoint.bad_storage")

        var compressed = ZipBuilder()
        compressed.add("archive/data.pkl", p.bytes, method: 8)
        let deflated = #expect(throws: CheckpointError.self) { try TorchArchive.load(path: try dir.write("deflated.pt", compressed.bytes())) }
        #expect(deflated?.code == "zip.compressed_entry")

        var empty = ZipBuilder()
        empty.add("archive/other", [1])
        #expect(#expect(throws: CheckpointError.self) { try TorchArchive.load(path: try dir.write("none.pt", empty.bytes())) }?.code == "checkpoint.not_torch_archive")

        let legacy = #expect(throws: CheckpointError.self) { try TorchArchive.load(path: try dir.write("legacy.pt", [0x80, 0x02, 0x8A, 0x0A])) }
        #expect(legacy?.code == "checkpoint.legacy_format")
    }
}
