/// Adam's first and second moments as flat vectors in a `ParameterLayout`'s order.
public struct AdamMoments: Sendable {
    public let expAvg: [Float]
    public let expAvgSq: [Float]
}

/// One of Adam's moments: a preconditioner reads only the one it is built from.
public enum AdamMoment: String, Sendable {
    /// The first moment m (`adam-m`).
    case expAvg = "exp_avg"
    /// The second moment ν (`adam`).
    case expAvgSq = "exp_avg_sq"
}

/// An Adam/AdamW `state_dict` (`optimizer.pt`): `{"state": {index: {"step", "exp_avg",
/// "exp_avg_sq"}}, "param_groups": [{"params": [index…], "param_names"?: [name…], …}]}`.
///
/// State indices say nothing about which parameter they belong to; `moments(for:)` maps them
/// with `param_names` when every group has them, else by `named_parameters()` order (one group)
/// or the HF Trainer's weight-decay split (two groups), and checks every shape.
public struct OptimizerState: Sendable {
    public struct Group: Sendable {
        /// State indices, in the group's parameter order.
        public let params: [Int]
        public let paramNames: [String]?
    }

    public struct Entry: Sendable {
        /// Adam's step count (a 0-d tensor in recent torch, a number in older files).
        public let step: Double?
        public let expAvg: RawTensor
        public let expAvgSq: RawTensor
    }

    /// The model's parameters as the training code ordered them, when that is not the model's
    /// own `named_parameters()` order: a LightningModule holds the model under an attribute, and
    /// its `parameters()` (which the optimizer's groups were built from) may hold it anywhere.
    public struct ModuleParameters: Sendable {
        /// The layout's parameters in the module's `parameters()` order.
        public let order: [Parameter]
        /// The layout's name for each module parameter name (`model.gpt_neox.embed_in.weight` →
        /// `gpt_neox.embed_in.weight`), for groups that record `param_names`.
        public let modelNames: [String: String]

        public init(order: [Parameter], modelNames: [String: String]) {
            self.order = order
            self.modelNames = modelNames
        }
    }

    public let source: String
    public let groups: [Group]
    public let state: [Int: Entry]

    public init(path: String) throws(CheckpointError) {
        try self.init(try TorchArchive.load(path: path), source: path)
    }

    public init(_ value: PickleValue, source: String) throws(CheckpointError) {
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("optimizer.\(code)", file: source, detail)
        }
        guard let stateEntries = value["state"]?.dictEntries, let groupItems = value["param_groups"]?.items else {
            throw fail("bad_format", "not an optimizer state_dict (expected a dict with 'state' and 'param_groups', found a \(value.kind))")
        }

        var groups: [Group] = []
        var seen = Set<Int>()
        for (g, item) in groupItems.enumerated() {
            guard let params = item["params"]?.items else {
                throw fail("bad_format", "param_groups[\(g)] has no 'params' list")
            }
            var indices: [Int] = []
            for p in params {
                guard let i = p.intValue, i >= 0, i <= Int64(Int32.max) else {
                    throw fail("bad_format", "param_groups[\(g)].params holds \(p.kind) \(p.intValue.map(String.init) ?? ""), not a parameter index")
                }
                guard seen.insert(Int(i)).inserted else {
                    throw fail("bad_format", "parameter index \(i) appears in more than one place in param_groups")
                }
                indices.append(Int(i))
            }
            var names: [String]? = nil
            if let nameItems = item["param_names"]?.items {
                let strings = nameItems.compactMap(\.stringValue)
                guard strings.count == nameItems.count, strings.count == indices.count else {
                    throw fail("bad_format", "param_groups[\(g)].param_names must be \(indices.count) strings, one per index in 'params'")
                }
                names = strings
            }
            groups.append(Group(params: indices, paramNames: names))
        }

        var state: [Int: Entry] = [:]
        for (key, entry) in stateEntries {
            guard let k = key.intValue, k >= 0, k <= Int64(Int32.max) else {
                throw fail("bad_format", "state has a \(key.kind) key; keys must be parameter indices")
            }
            let index = Int(k)
            guard let expAvg = entry["exp_avg"]?.tensorValue, let expAvgSq = entry["exp_avg_sq"]?.tensorValue else {
                throw fail("not_adam", "state[\(index)] has no exp_avg/exp_avg_sq tensors; not an Adam optimizer")
            }
            guard expAvg.dtype.isFloatingPoint, expAvgSq.dtype.isFloatingPoint else {
                throw fail("bad_format", "state[\(index)]: exp_avg is \(expAvg.dtype.rawValue) and exp_avg_sq is \(expAvgSq.dtype.rawValue); both must be floating point")
            }
            var step: Double? = nil
            switch entry["step"] {
            case .tensor(let t)? where t.count == 1: step = t.doubles()[0]
            case .float(let f)?: step = f
            case .int(let i)?: step = Double(i)
            default: break
            }
            state[index] = Entry(step: step, expAvg: expAvg, expAvgSq: expAvgSq)
        }
        self.source = source
        self.groups = groups
        self.state = state
    }

    /// The first and second moments of every parameter of `layout`, in its order.
    ///
    /// Errors: `optimizer.no_state` when there is no Adam state at all (a step-0 checkpoint:
    /// skip the Adam preconditioner); `optimizer.param_count`, `optimizer.bad_groups`,
    /// `optimizer.unknown_parameter`, `optimizer.missing_state`, `optimizer.shape_mismatch`,
    /// `optimizer.bad_values` when the state cannot be matched to the model exactly.
    /// With `module`, the groups index the module's parameters in its order and `param_names`
    /// are the module's names.
    public func moments(for layout: ParameterLayout, module: ModuleParameters? = nil) throws(CheckpointError) -> AdamMoments {
        AdamMoments(expAvg: try moment(.expAvg, for: layout, module: module),
                    expAvgSq: try moment(.expAvgSq, for: layout, module: module))
    }

    /// One moment of every parameter of `layout`, in its order: one float32 vector, each
    /// parameter's tensor widened into its place and its mapped pages released after. The other
    /// moment is not read. Errors as `moments(for:module:)`.
    public func moment(_ which: AdamMoment, for layout: ParameterLayout, module: ModuleParameters? = nil) throws(CheckpointError) -> [Float] {
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("optimizer.\(code)", file: source, detail)
        }
        guard !state.isEmpty else {
            throw CheckpointError(CheckpointError.Code.noAdamState, file: source, "no Adam state (step 0?)")
        }
        let what = which.rawValue
        let pairs = try assignment(for: layout, module: module)
        var failure: CheckpointError?
        let values = [Float](unsafeUninitializedCapacity: layout.count) { out, initialized in
            // Every element is written: the assignment covers every parameter once.
            initialized = layout.count
            for (parameter, index) in pairs {
                guard let entry = state[index] else {
                    failure = fail("missing_state", "no Adam state for parameter '\(parameter.name)' (state index \(index))")
                    return
                }
                let tensor = which == .expAvg ? entry.expAvg : entry.expAvgSq
                guard tensor.shape == parameter.shape else {
                    failure = fail("shape_mismatch", "Adam state \(index) \(what) has shape \(tensor.shape) but parameter '\(parameter.name)' has shape \(parameter.shape)")
                    return
                }
                let x = out.baseAddress! + parameter.offset
                tensor.widen(into: x)
                tensor.releasePages()
                let valid: (Float) -> Bool = which == .expAvg ? { $0.isFinite } : { $0.isFinite && $0 >= 0 }
                if let bad = (0..<parameter.count).first(where: { !valid(x[$0]) }) {
                    failure = fail("bad_values", "Adam state \(index) \(what) of parameter '\(parameter.name)' has \(which == .expAvg ? "non-finite" : "invalid") value \(x[bad]) at element \(bad)")
                    return
                }
            }
        }
        if let failure { throw failure }
        return values
    }

    /// Which state index belongs to each parameter.
    func assignment(for layout: ParameterLayout, module: ModuleParameters? = nil) throws(CheckpointError) -> [(Parameter, Int)] {
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("optimizer.\(code)", file: source, detail)
        }
        let parameters = module?.order ?? layout.parameters
        let total = groups.reduce(0) { $0 + $1.params.count }
        guard total == parameters.count else {
            throw fail("param_count", "optimizer has \(total) parameters in \(groups.count) param groups but the model has \(parameters.count)")
        }

        if !groups.isEmpty, groups.allSatisfy({ $0.paramNames != nil }) {
            var pairs: [(Parameter, Int)] = []
            var named = Set<String>()
            for group in groups {
                for (index, name) in zip(group.params, group.paramNames ?? []) {
                    guard let parameter = layout[module?.modelNames[name] ?? name] else {
                        throw fail("unknown_parameter", "param_names lists '\(name)', which the model does not have")
                    }
                    guard named.insert(name).inserted else {
                        throw fail("bad_groups", "param_names lists '\(name)' twice")
                    }
                    pairs.append((parameter, index))
                }
            }
            return pairs
        }
        guard groups.allSatisfy({ $0.paramNames == nil }) else {
            throw fail("bad_groups", "only some param groups have param_names")
        }

        switch groups.count {
        case 1:
            return Array(zip(parameters, groups[0].params))
        case 2:
            // The HF Trainer's split: group 0 gets weight decay, group 1 does not, each in
            // named_parameters() order. (For GPT-NeoX, GPT-2 and Llama it is also the common
            // "matrices decay, vectors do not" split of hand-written training code.)
            let decay = parameters.filter(\.getsWeightDecay)
            let rest = parameters.filter { !$0.getsWeightDecay }
            guard decay.count == groups[0].params.count else {
                throw fail("bad_groups", "param group 0 has \(groups[0].params.count) parameters but the model has \(decay.count) that get weight decay and \(rest.count) that do not (HF Trainer rule); cannot match the groups to parameters")
            }
            return Array(zip(decay, groups[0].params)) + Array(zip(rest, groups[1].params))
        default:
            throw fail("bad_groups", "\(groups.count) param groups without param_names; only one group (named_parameters order) or two (HF Trainer weight-decay split) can be matched to parameters")
        }
    }
}
