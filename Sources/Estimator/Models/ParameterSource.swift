/// Where a forward pass reads each parameter's values from.
protocol ParameterSource {
    func callAsFunction(_ parameter: Parameter) -> UnsafePointer<Float>
}

/// A whole flat parameter vector θ (`ParameterLayout` order).
struct FlatParameters: ParameterSource {
    let theta: UnsafePointer<Float>

    @inline(__always)
    func callAsFunction(_ parameter: Parameter) -> UnsafePointer<Float> { theta + parameter.offset }
}
