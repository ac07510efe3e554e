#if canImport(Glibc)
import Glibc
#endif

/// The parameters a subset estimate moves: every parameter whose name matches one of the glob
/// patterns (`fnmatch` without flags, so `*` also crosses dots: `gpt_neox.layers.0.attention.*`),
/// in layout order. The rest stay at the anchor. Patterns are kept sorted and deduplicated:
/// that list is what identifies the subset in an estimate's key.
public struct ParameterSelection: Sendable, Equatable {
    public let patterns: [String]
    /// The matched parameters, in layout order.
    public let parameters: [Parameter]
    /// Their coordinates in the flat vector, adjacent ranges merged, ascending.
    public let ranges: [Range<Int>]
    /// D of the subset: how many coordinates move.
    public let count: Int

    /// Selects the parameters of `layout` that `patterns` match. Throws `params.empty` for no
    /// patterns and `params.no_match` for a pattern that matches no parameter (a typo would
    /// otherwise silently shrink the subset).
    public init(patterns: [String], layout: ParameterLayout) throws(EstimatorError) {
        let patterns = Self.canonical(patterns)
        guard !patterns.isEmpty else {
            throw EstimatorError(code: "params.empty", "no parameter patterns given; omit --params to move every parameter")
        }
        for pattern in patterns where !layout.parameters.contains(where: { Self.matches(pattern, $0.name) }) {
            let names = layout.parameters.prefix(6).map(\.name).joined(separator: ", ")
            throw EstimatorError(code: "params.no_match",
                                 "parameter pattern '\(pattern)' matches none of the model's \(layout.parameters.count) parameters (they are named like \(names)\(layout.parameters.count > 6 ? ", …" : ""))")
        }
        self.patterns = patterns
        parameters = layout.parameters.filter { p in patterns.contains { Self.matches($0, p.name) } }
        var ranges: [Range<Int>] = []
        for p in parameters where p.count > 0 {
            if let last = ranges.last, last.upperBound == p.offset {
                ranges[ranges.count - 1] = last.lowerBound..<p.range.upperBound
            } else {
                ranges.append(p.range)
            }
        }
        self.ranges = ranges
        count = ranges.reduce(0) { $0 + $1.count }
    }

    /// Sorted and deduplicated: the form stored in keys.
    public static func canonical(_ patterns: [String]) -> [String] {
        Array(Set(patterns)).sorted()
    }

    /// Whether `name` matches the glob `pattern` (`*`, `?`, `[…]`).
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }

    /// Copies the selected coordinates of `full` (D long) into `subset` (`count` long).
    public func gather(_ full: UnsafePointer<Float>, into subset: UnsafeMutablePointer<Float>) {
        var k = 0
        for r in ranges {
            (subset + k).update(from: full + r.lowerBound, count: r.count)
            k += r.count
        }
    }

    /// Writes `subset` (`count` long) into the selected coordinates of `full`, leaving the rest.
    public func scatter(_ subset: UnsafePointer<Float>, into full: UnsafeMutablePointer<Float>) {
        var k = 0
        for r in ranges {
            (full + r.lowerBound).update(from: subset + k, count: r.count)
            k += r.count
        }
    }

    /// The selected coordinates of a D-long array.
    public func gather<S>(_ full: [S]) -> [S] {
        ranges.flatMap { full[$0] }
    }
}
