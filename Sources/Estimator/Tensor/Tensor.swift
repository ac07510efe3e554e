/// A dense, row-major tensor that owns its elements.
public struct Tensor<Scalar: Sendable>: Sendable {
    public var shape: [Int]
    public var scalars: [Scalar]

    public init(shape: [Int], scalars: [Scalar]) {
        precondition(shape.reduce(1, *) == scalars.count, "shape \(shape) does not hold \(scalars.count) elements")
        self.shape = shape
        self.scalars = scalars
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }
}

extension Tensor where Scalar == Float {
    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }
}

/// Product of a shape's dimensions, or nil when it overflows `Int` or a dimension is negative.
@inlinable
public func elementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = p
    }
    return n
}
