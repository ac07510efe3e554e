import CFuzzer
import Estimator

#if canImport(Glibc)
import Glibc
#endif

/// A `torch.save` file (ZIP archive → restricted unpickler), read as a state dict, as an
/// optimizer state whose Adam moments are mapped onto a layout that fits them, and as a
/// Lightning checkpoint (state dict names, step, `optimizer_states[0]` in module order).
///
/// Input that does not start like a ZIP archive is a bare `data.pkl` whose storages are served
/// from memory: most mutations of a whole archive only break its CRC-32s, so the bare form is
/// what reaches deep into the unpickler.
func fuzzOne(_ input: UnsafeRawBufferPointer) {
    let value: PickleValue
    do {
        if input.starts(with: [0x50, 0x4B]) {
            value = try TorchArchive.load(file: MappedFile(path: "fuzz.pt", contents: input))
        } else {
            value = try Unpickler.load(input, source: "data.pkl", storage: servedStorage)
        }
    } catch {
        _ = error.description
        return
    }
    var budget = elementBudget
    readTensors(in: value, budget: &budget)
    do {
        let stateDict = try TorchStateDict(value, source: "pytorch_model.bin")
        for name in stateDict.tensorNames { _ = try stateDict.tensor(name) }
    } catch {
        _ = error.description
    }
    do {
        let optimizer = try OptimizerState(value, source: "optimizer.pt")
        let layout = fittingLayout(optimizer)
        // Views of one storage can repeat it many times over; the model bounds this in real use.
        guard layout.count <= elementBudget else { return }
        _ = try optimizer.moments(for: layout)
    } catch {
        _ = error.description
    }
    do {
        let checkpoint = try LightningCheckpoint(value, source: "fuzz.ckpt")
        let weights = checkpoint.weights
        for name in weights.tensorNames { _ = try? weights.tensor(name) }
        guard let optimizer = try checkpoint.optimizerState() else { return }
        // Named like the module's parameters, so that the state dict's order decides.
        let layout = fittingLayout(optimizer, names: weights.tensorNames)
        guard layout.count <= elementBudget else { return }
        _ = try optimizer.moments(for: layout, module: weights.moduleParameters(for: layout))
    } catch {
        _ = error.description
    }
}

/// Tensor elements converted per input, at most: aliasing views could otherwise make one small
/// input take minutes.
let elementBudget = 1 << 22

/// A storage of exactly the requested size (so over-reads are caught), filled with 0x3C bytes:
/// finite, positive floats and non-zero integers.
func servedStorage(key: String, dtype: DType, count: Int) throws(CheckpointError) -> Unpickler.Storage {
    let size = count * dtype.byteWidth
    guard size <= 1 << 16 else {
        throw CheckpointError("fuzz.storage_size", file: "data.pkl", "storage '\(key)' of \(size) bytes is larger than the harness serves")
    }
    let file = MappedFile(path: "data/\(key)", contents: repeatElement(0x3C as UInt8, count: size))
    return Unpickler.Storage(bytes: file.bytes, owner: file)
}

/// Reads every tensor in `value` in full, until `budget` elements have been read.
func readTensors(in value: PickleValue, budget: inout Int) {
    switch value {
    case .tensor(let tensor):
        guard tensor.count <= budget else { return }
        budget -= tensor.count
        _ = tensor.doubles()
    case .list(let items), .tuple(let items):
        for item in items { readTensors(in: item, budget: &budget) }
    case .dict(let pairs):
        for pair in pairs {
            readTensors(in: pair.key, budget: &budget)
            readTensors(in: pair.value, budget: &budget)
        }
    case .none, .bool, .int, .float, .string, .bytes:
        break
    }
}

/// The layout of a model the optimizer could have trained: each state's shape, named by
/// `param_names`, else by `names` in turn (a Lightning state dict's), else so that group 0 gets
/// weight decay and group 1 does not (HF Trainer).
func fittingLayout(_ optimizer: OptimizerState, names: [String] = []) -> ParameterLayout {
    var entries: [(name: String, shape: [Int], inLayerNormModule: Bool)] = []
    var unused = Set(names)
    var next = names.makeIterator()
    for (g, group) in optimizer.groups.enumerated() {
        for (i, index) in group.params.enumerated() {
            var name = group.paramNames?[i] ?? "layer\(index).\(g == 0 ? "weight" : "bias")"
            if group.paramNames == nil, let candidate = next.next(), unused.remove(candidate) != nil { name = candidate }
            entries.append((name, optimizer.state[index]?.expAvg.shape ?? [1], false))
        }
    }
    return ParameterLayout(entries)
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
})
