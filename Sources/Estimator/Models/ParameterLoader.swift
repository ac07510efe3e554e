#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a model's flat parameter vector from a checkpoint's tensors, one parameter at a time in
/// `named_parameters()` order, checking that each tensor exists and has the shape the config implies.
///
/// Checkpoints saved from the bare base model (`GPT2Model`, `LlamaModel`, …) store names without
/// the base-model prefix (`h.0.ln_1.weight` for `transformer.h.0.ln_1.weight`); both spellings
/// are accepted. Tensors the model does not use (old attention-mask buffers, a tied head saved
/// twice) are ignored, as transformers ignores them.
struct ParameterLoader {
    let store: any TensorStore
    /// e.g. `gpt_neox.`, `transformer.`, `model.`.
    let basePrefix: String
    /// For messages: `GPT-NeoX`, `GPT-2`, `Llama`.
    let architectureName: String
    private let stored: Set<String>
    private(set) var entries: [(name: String, shape: [Int], inLayerNormModule: Bool)] = []
    /// The stored name of each entry's tensor, read when θ0 is built.
    private var keys: [String] = []

    init(store: any TensorStore, basePrefix: String, architectureName: String) {
        self.store = store
        self.basePrefix = basePrefix
        self.architectureName = architectureName
        self.stored = Set(store.tensorNames)
    }

    /// True when the checkpoint holds `name` under any accepted spelling.
    func contains(_ name: String) -> Bool { storedName(name) != nil }

    /// Appends the parameter `name` (its full `named_parameters()` name) of `shape`.
    mutating func add(_ name: String, _ shape: [Int], inLayerNormModule: Bool = false) throws(EstimatorError) {
        guard let key = storedName(name) else {
            if let (stored, prefix) = prefixedName(name) {
                let known = (StateDictNames.wrapperPrefixes + [basePrefix]).map { "'\($0)'" }.joined(separator: ", ")
                throw EstimatorError(code: "model.unknown_prefix",
                                 "\(store.source): no tensor '\(name)' (the \(architectureName) model needs it), but there is '\(stored)': the names carry the prefix '\(prefix)', which is not one volumed removes (\(known))")
            }
            throw EstimatorError(code: "model.missing_tensor",
                             "\(store.source): no tensor '\(name)' (the \(architectureName) model needs it, shape \(shape))")
        }
        let tensor: RawTensor
        do { tensor = try store.tensor(key) } catch { throw EstimatorError(code: error.code, error.description) }
        guard tensor.shape == shape else {
            throw EstimatorError(code: "model.shape",
                             "\(store.source): tensor '\(key)' has shape \(tensor.shape), but config.json implies \(shape)")
        }
        guard tensor.dtype.isFloatingPoint else {
            throw EstimatorError(code: "model.dtype", "\(store.source): tensor '\(key)' is \(tensor.dtype.rawValue); weights must be floating point")
        }
        entries.append((name, shape, inLayerNormModule))
        keys.append(key)
    }

    /// A linear layer `<module>.weight` (+ `.bias`): [out, in], or [in, out] for `Conv1D`.
    mutating func linear(_ module: String, inputs: Int, outputs: Int, bias: Bool, inputMajor: Bool = false) throws(EstimatorError) -> (weight: String, bias: String?) {
        try add(module + ".weight", inputMajor ? [inputs, outputs] : [outputs, inputs])
        if bias { try add(module + ".bias", [outputs]) }
        return (module + ".weight", bias ? module + ".bias" : nil)
    }

    /// Accepts a tied head saved beside its embedding (`torch.save(model.state_dict())` of a tied
    /// model stores both `head` and `embedding`) only when the two are equal bit for bit: the
    /// model uses the embedding, so a head that differs (weights untied by training or
    /// editing) would be silently ignored. Nothing to check when the head is not stored.
    func checkTiedCopy(_ head: String, of embedding: String) throws(EstimatorError) {
        guard stored.contains(head), let embeddingKey = storedName(embedding) else { return }
        let a: RawTensor
        let b: RawTensor
        do {
            a = try store.tensor(embeddingKey)
            b = try store.tensor(head)
        } catch { throw EstimatorError(code: error.code, error.description) }
        func fail(_ why: String) -> EstimatorError {
            EstimatorError(code: "model.tied_head_differs",
                           "\(store.source): '\(head)' \(why) '\(embeddingKey)', but config.json ties the output head to the embedding (tie_word_embeddings); the saved head would be ignored (set tie_word_embeddings to false if the model was trained untied)")
        }
        guard a.shape == b.shape else { throw fail("has shape \(b.shape), not the shape \(a.shape) of") }
        guard a.dtype == b.dtype else { throw fail("is \(b.dtype.rawValue), not \(a.dtype.rawValue) like") }
        // One storage (a tied model saved by torch.save), or equal bytes.
        if a.bytes.isEmpty || a.bytes.baseAddress == b.bytes.baseAddress || memcmp(a.bytes.baseAddress!, b.bytes.baseAddress!, a.bytes.count) == 0 {
            return
        }
        let width = a.dtype.byteWidth
        let i = (0..<a.count).first { i in
            memcmp(a.bytes.baseAddress! + i * width, b.bytes.baseAddress! + i * width, width) != 0
        } ?? 0
        let columns = a.shape.last ?? 1
        let place = a.shape.count == 2 ? "[\(i / columns), \(i % columns)]" : "\(i)"
        throw fail("differs at element \(place) (\(b.doubles()[i]) vs \(a.doubles()[i])) from")
    }

    /// The layout and θ0, with every value checked finite. θ0 is allocated once at its size and
    /// each tensor widened into its place (fp16 and bf16 to float32), after which the tensor's
    /// mapped file pages are released: loading holds θ0 and at most one tensor's pages.
    func finish() throws(EstimatorError) -> (ParameterLayout, [Float]) {
        let layout = ParameterLayout(entries)
        var failure: EstimatorError?
        let anchor = [Float](unsafeUninitializedCapacity: layout.count) { out, initialized in
            for (parameter, key) in zip(layout.parameters, keys) {
                switch Result(catching: { () throws(CheckpointError) in try store.tensor(key) }) {
                case .success(let tensor):
                    tensor.widen(into: out.baseAddress! + parameter.offset)
                    tensor.releasePages()
                case .failure(let error):
                    failure = EstimatorError(code: error.code, error.description)
                    out.baseAddress!.update(repeating: 0, count: layout.count)
                }
                if failure != nil { break }
            }
            initialized = layout.count
        }
        if let failure { throw failure }
        try checkFinite(anchor, layout: layout, source: store.source)
        return (layout, anchor)
    }

    /// A stored name that is `name` (or its base-model spelling) behind an unknown prefix
    /// (`net.transformer.wte.weight`), for a clearer error than a missing tensor.
    private func prefixedName(_ name: String) -> (stored: String, prefix: String)? {
        let spellings = name.hasPrefix(basePrefix) ? [name, String(name.dropFirst(basePrefix.count))] : [name]
        for stored in store.tensorNames {
            if let spelling = spellings.first(where: { stored.hasSuffix("." + $0) }) {
                return (stored, String(stored.dropLast(spelling.count)))
            }
        }
        return nil
    }

    func storedName(_ name: String) -> String? {
        if stored.contains(name) { return name }
        if name.hasPrefix(basePrefix), stored.contains(String(name.dropFirst(basePrefix.count))) {
            return String(name.dropFirst(basePrefix.count))
        }
        return nil
    }
}

extension ParameterLayout {
    /// The parameter called `name`, which a model's loader has just added.
    func required(_ name: String) -> Parameter {
        guard let p = self[name] else { preconditionFailure("parameter '\(name)' was not added to the layout") }
        return p
    }
}
