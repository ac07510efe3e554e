import Base

/// A preconditioner as users write it: `name` or `name:key=value,…`
/// (e.g. `adam:eps=1e-2,exponent=0.5`), resolved to its full parameter set.
public struct PreconditionerSpec: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case none
        /// Adam's second moment, raw `exp_avg_sq`: p = 1/(ν^exponent + eps).
        case adam
        /// Adam's first moment: p = 1/(|exp_avg|^exponent + eps).
        case adamM = "adam-m"
        /// The KL Hessian's diagonal at the anchor (Fisher / GGN): p = 1/(diag^½ + eps). `samples`
        /// is the number of label draws where it is Monte-Carlo (language models).
        case fisher
        /// The full Gauss-Newton matrix V·diag(λ)·Vᵀ, small models only: P = V·diag(1/(|λ|^½ + eps))·Vᵀ.
        case hessian

        /// Parameters and their defaults (docs/estimator.md, "Preconditioners").
        var defaults: [(String, Double)] {
            switch self {
            case .none: []
            case .adam, .adamM: [("eps", 1e-3), ("exponent", 0.5)]
            case .fisher: [("eps", 1e-2), ("samples", 1)]
            case .hessian: [("eps", 0.1)]
            }
        }
    }

    public let kind: Kind
    /// Every parameter of the kind, defaults filled in, in canonical (sorted) order.
    public let parameters: [(name: String, value: Double)]

    public init(kind: Kind, overrides: [String: Double] = [:]) throws(PreconditionerSpecError) {
        let known = Dictionary(uniqueKeysWithValues: kind.defaults)
        for key in overrides.keys where known[key] == nil {
            throw PreconditionerSpecError("preconditioner '\(kind.rawValue)' has no parameter '\(key)'"
                + (known.isEmpty ? "" : " (it takes \(known.keys.sorted().joined(separator: ", ")))"))
        }
        var parameters: [(String, Double)] = []
        for (key, value) in kind.defaults.sorted(by: { $0.0 < $1.0 }) {
            let v = overrides[key] ?? value
            guard v.isFinite else { throw PreconditionerSpecError("\(kind.rawValue): \(key) must be finite") }
            switch key {
            case "eps" where v < 0, "exponent" where v <= 0, "samples" where v < 1 || v != v.rounded() || v > 1e6:
                throw PreconditionerSpecError("\(kind.rawValue): \(key) = \(v) is out of range")
            default: break
            }
            parameters.append((key, v))
        }
        self.kind = kind
        self.parameters = parameters
    }

    /// Parses `name[:key=value,…]`.
    public init(parsing text: String) throws(PreconditionerSpecError) {
        let trimmed = text.trimmingSpaces
        let parts = trimmed.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]).lowercased()
        guard let kind = Kind(rawValue: name) else {
            throw PreconditionerSpecError("unknown preconditioner '\(parts[0])' (known: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var overrides: [String: Double] = [:]
        if parts.count == 2 {
            for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = kv[0].trimmingSpaces
                guard kv.count == 2, !key.isEmpty, let value = Double(kv[1].trimmingSpaces) else {
                    throw PreconditionerSpecError("'\(trimmed)': expected key=number, found '\(item)'")
                }
                guard overrides.updateValue(value, forKey: key) == nil else {
                    throw PreconditionerSpecError("'\(trimmed)': parameter '\(key)' given twice")
                }
            }
        }
        try self.init(kind: kind, overrides: overrides)
    }

    public var name: String { kind.rawValue }

    public func value(_ key: String) -> Double {
        parameters.first { $0.name == key }!.value
    }

    /// Canonical parameter text, e.g. `eps=0.001,exponent=0.5` ("" for `none`).
    public var parameterText: String {
        parameters.map { "\($0.name)=\(formatNumber($0.value))" }.joined(separator: ",")
    }

    public var description: String { parameters.isEmpty ? name : "\(name):\(parameterText)" }

    public static func == (a: Self, b: Self) -> Bool { a.description == b.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

public struct PreconditionerSpecError: CodedError {
    public let detail: String
    init(_ detail: String) { self.detail = detail }
    public var code: String { "preconditioner.spec" }
    public var description: String { detail }
}

/// Shortest text that reads back as the same Double (`0.001`, `0.5`, `1e-10`).
func formatNumber(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return "\(v)"
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
