/// One named parameter tensor and where it sits in the flat parameter vector.
public struct Parameter: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    /// Offset of the first element in the flat vector.
    public let offset: Int
    /// True when the parameter belongs to a `torch.nn.LayerNorm` module; the HF Trainer
    /// excludes those from weight decay whatever their name.
    public let inLayerNormModule: Bool

    public init(name: String, shape: [Int], offset: Int, inLayerNormModule: Bool = false) {
        self.name = name
        self.shape = shape
        self.offset = offset
        self.inLayerNormModule = inLayerNormModule
    }

    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }

    /// The HF Trainer's rule (transformers 5.x `get_decay_parameter_names`): no weight decay for
    /// LayerNorm modules, or when the lower-cased name (or any dotted suffix of it) matches
    /// `bias`, `layernorm`, `rmsnorm`, `(?:^|\.)norm(?:$|\.)` or `_norm(?:$|\.)`.
    public var getsWeightDecay: Bool {
        if inLayerNormModule { return false }
        let lower = name.lowercased()
        if lower.contains("bias") || lower.contains("layernorm") || lower.contains("rmsnorm") { return false }
        for component in lower.split(separator: ".", omittingEmptySubsequences: false) {
            if component == "norm" || component.hasSuffix("_norm") { return false }
        }
        return true
    }
}

/// The flat parameter vector's layout: parameters in `named_parameters()` order.
public struct ParameterLayout: Sendable, Equatable {
    public let parameters: [Parameter]
    public let count: Int
    private let indexByName: [String: Int]

    /// Builds offsets from shapes in the given order.
    public init(_ entries: [(name: String, shape: [Int], inLayerNormModule: Bool)]) {
        var offset = 0
        var parameters: [Parameter] = []
        for e in entries {
            let p = Parameter(name: e.name, shape: e.shape, offset: offset, inLayerNormModule: e.inLayerNormModule)
            parameters.append(p)
            offset += p.count
        }
        self.parameters = parameters
        self.count = offset
        self.indexByName = Dictionary(parameters.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public subscript(name: String) -> Parameter? {
        indexByName[name].map { parameters[$0] }
    }

    public static func == (a: ParameterLayout, b: ParameterLayout) -> Bool { a.parameters == b.parameters }
}
