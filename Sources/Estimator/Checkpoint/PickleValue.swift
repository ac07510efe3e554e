/// The data a restricted unpickle produces: plain containers, scalars and tensors. Nothing
/// here can hold code or an arbitrary object.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    /// Key/value pairs in insertion order (dicts and `OrderedDict`s alike).
    case dict([(key: PickleValue, value: PickleValue)])
    case tensor(RawTensor)
}

extension PickleValue {
    /// The value stored under a string key, when this is a dict.
    public subscript(key: String) -> PickleValue? {
        guard case .dict(let pairs) = self else { return nil }
        for pair in pairs {
            if case .string(let k) = pair.key, k == key { return pair.value }
        }
        return nil
    }

    public var dictEntries: [(key: PickleValue, value: PickleValue)]? {
        if case .dict(let pairs) = self { pairs } else { nil }
    }

    /// The items of a list or a tuple.
    public var items: [PickleValue]? {
        switch self {
        case .list(let items), .tuple(let items): items
        default: nil
        }
    }

    public var intValue: Int64? { if case .int(let v) = self { v } else { nil } }
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var tensorValue: RawTensor? { if case .tensor(let t) = self { t } else { nil } }

    /// A short name of the value's kind, for error messages.
    public var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .list: "list"
        case .tuple: "tuple"
        case .dict: "dict"
        case .tensor: "tensor"
        }
    }
}
