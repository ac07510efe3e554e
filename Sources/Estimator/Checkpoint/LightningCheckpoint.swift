/// A PyTorch Lightning checkpoint (`ModelCheckpoint`, `Trainer.save_checkpoint`): a `torch.save`
/// archive holding a dict with the LightningModule's `state_dict`, the `global_step` it was saved
/// at and `optimizer_states` (one `Optimizer.state_dict()` per optimizer), next to loop, callback,
/// scheduler and hyper-parameter state that is not read.
///
/// Lightning's files need no pickle globals beyond `torch.save`'s own (checked with
/// pytorch-lightning 2.6.6: `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, the
/// storage types), except for hyper-parameters a user passed: paths, `argparse.Namespace`s and
/// sets are read as plain data; a file whose `hyper_parameters` hold other objects is refused.
public struct LightningCheckpoint: Sendable {
    public let source: String
    /// The number of optimizer steps taken when the file was saved: the checkpoint's step.
    public let globalStep: Int
    /// The module's state dict under the model's own names.
    public let weights: LightningWeights
    /// `optimizer_states[0]` as stored; nil when the file holds no optimizer state
    /// (`save_weights_only=True`).
    private let optimizerValue: PickleValue?

    public init(path: String) throws(CheckpointError) {
        try self.init(try TorchArchive.load(path: path), source: path)
    }

    /// The checkpoint in an unpickled `.ckpt`; `source` names the file in errors.
    public init(_ value: PickleValue, source: String) throws(CheckpointError) {
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("lightning.\(code)", file: source, detail)
        }
        guard value.dictEntries != nil else {
            throw fail("not_a_checkpoint", "pickle holds a \(value.kind), not a Lightning checkpoint dict")
        }
        guard let stateDict = value["state_dict"] else {
            throw fail("no_state_dict", "no 'state_dict' key; not a Lightning checkpoint (a bare torch.save state dict is read as a .pt/.bin file)")
        }
        guard stateDict.dictEntries != nil else {
            throw fail("no_state_dict", "'state_dict' is a \(stateDict.kind), not a dict of tensors")
        }
        guard let step = value["global_step"] else {
            throw fail("no_global_step", "no 'global_step' key; the step cannot be known")
        }
        guard let global = step.intValue, global >= 0 else {
            throw fail("bad_global_step", "'global_step' is \(step.kind) \(step.intValue.map(String.init) ?? ""), not a non-negative int")
        }
        switch value["optimizer_states"] {
        case nil, .none?:
            optimizerValue = nil
        case let states?:
            guard let items = states.items else {
                throw fail("bad_optimizer_states", "'optimizer_states' is a \(states.kind), not a list of optimizer state dicts")
            }
            optimizerValue = items.first
        }
        self.source = source
        self.globalStep = Int(global)
        self.weights = try LightningWeights(try TorchStateDict(stateDict, source: source))
    }

    /// Whether the file holds an optimizer's state at all.
    public var hasOptimizerState: Bool { optimizerValue != nil }

    /// The first optimizer's state (`optimizer_states[0]`); nil when the file holds none.
    public func optimizerState() throws(CheckpointError) -> OptimizerState? {
        try optimizerValue.map { (value) throws(CheckpointError) in try OptimizerState(value, source: source) }
    }

    /// One of Adam's moments for `layout`: the optimizer's param groups index the module's
    /// `parameters()`, which is the state dict's order without buffers.
    public func adamMoment(_ which: AdamMoment, for layout: ParameterLayout) throws(CheckpointError) -> [Float] {
        guard let optimizer = try optimizerState() else {
            throw CheckpointError(CheckpointError.Code.noAdamState, file: source, "no optimizer_states in the Lightning checkpoint")
        }
        return try optimizer.moment(which, for: layout, module: weights.moduleParameters(for: layout))
    }
}

/// A LightningModule's state dict seen under the names a model's code asks for. The module holds
/// the model under an attribute (`self.model = GPTNeoXForCausalLM(…)` stores
/// `model.gpt_neox.embed_in.weight`), so each stored name answers as it is spelled and, failing
/// that, with its first component removed; wrapper prefixes (`StateDictNames`) are dropped from
/// both. A name as spelled wins over a shortened one, because some architectures' own names
/// begin with `model.` (Llama). Two stored tensors that shorten to the same name (a module holding
/// the model and a copy, e.g. an EMA) make that name ambiguous: asking for it is an error.
public struct LightningWeights: TensorStore {
    public let source: String
    /// Every name a tensor answers to: the stored names (unwrapped), then the shortened ones.
    public let tensorNames: [String]
    /// The names in the file, in its order: the module's `parameters()` order, buffers included.
    public let storedNames: [String]
    private let stored: TorchStateDict
    /// Name asked for → name in the file.
    private let aliases: [String: String]
    /// Shortened names that two stored tensors share, with both stored names.
    private let ambiguous: [String: (String, String)]

    init(_ stored: TorchStateDict) {
        self.stored = stored
        source = stored.source
        storedNames = stored.tensorNames
        var aliases: [String: String] = [:]
        var ambiguous: [String: (String, String)] = [:]
        var names: [String] = []
        for name in stored.tensorNames {
            let spelled = StateDictNames.unwrapped(name)
            if aliases[spelled] == nil {
                aliases[spelled] = name
                names.append(spelled)
            }
        }
        var shortenedBy: [String: String] = [:]
        for name in stored.tensorNames {
            let spelled = StateDictNames.unwrapped(name)
            guard let dot = spelled.firstIndex(of: "."), spelled.index(after: dot) < spelled.endIndex else { continue }
            let shortened = StateDictNames.unwrapped(String(spelled[spelled.index(after: dot)...]))
            if let other = shortenedBy[shortened] {
                if aliases[shortened] == shortenedBy[shortened] { ambiguous[shortened] = (other, name) }
                continue
            }
            shortenedBy[shortened] = name
            if aliases[shortened] == nil {
                aliases[shortened] = name
                names.append(shortened)
            }
        }
        self.aliases = aliases
        self.ambiguous = ambiguous
        tensorNames = names
    }

    public func tensor(_ name: String) throws(CheckpointError) -> RawTensor {
        if let both = ambiguous[name] {
            throw CheckpointError("lightning.ambiguous_name", file: source, "'\(name)' could be '\(both.0)' or '\(both.1)' of the LightningModule's state dict; keep one copy of the model in the module, or save its state dict with torch.save")
        }
        guard let storedName = aliases[name] else { throw .missingTensor(name, in: source) }
        return try stored.tensor(storedName)
    }

    /// The name in the file that a model's parameter `name` was read from: as asked, or without
    /// the base model's prefix (`gpt_neox.`, `transformer.`, `model.`), as `ParameterLoader`
    /// looks it up.
    func storedName(ofParameter name: String) -> String? {
        if let found = aliases[name] { return found }
        guard let dot = name.firstIndex(of: ".") else { return nil }
        return aliases[String(name[name.index(after: dot)...])]
    }

    /// The layout's parameters in the module's `parameters()` order, which is the state dict's
    /// order (buffers and a tied head saved twice are not parameters of the layout), and the
    /// model name of each module parameter name, for optimizers that record `param_names`.
    public func moduleParameters(for layout: ParameterLayout) -> OptimizerState.ModuleParameters {
        let position = Dictionary(storedNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var placed: [(position: Int, parameter: Parameter)] = []
        var modelNames: [String: String] = [:]
        for (index, parameter) in layout.parameters.enumerated() {
            guard let name = storedName(ofParameter: parameter.name), let at = position[name] else {
                // Not read from this file (cannot happen for a model loaded from it): keep it last.
                placed.append((storedNames.count + index, parameter))
                continue
            }
            placed.append((at, parameter))
            modelNames[name] = parameter.name
        }
        placed.sort { $0.position < $1.position }
        return OptimizerState.ModuleParameters(order: placed.map(\.parameter), modelNames: modelNames)
    }
}
