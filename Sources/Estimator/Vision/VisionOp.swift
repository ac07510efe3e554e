/// One step of a vision network, over channels-last activations [images, height, width,
/// channels]. Parameters are offsets into the flat θ (`ParameterLayout`); constants that are not
/// parameters (BatchNorm's running statistics, which are buffers) are held here.
public indirect enum VisionOp: Sendable {
    /// A 2-D convolution (PyTorch `nn.Conv2d`), including the depthwise 7×7 (groups = channels)
    /// and the non-overlapping stem and downsampling convolutions (kernel = stride).
    case convolution(Convolution)
    /// LayerNorm over the channels at each position (ConvNeXt's channels-first and
    /// channels-last LayerNorms are the same operation on channels-last activations).
    case layerNorm(ChannelNorm)
    /// BatchNorm in eval mode: (x − running mean)/√(running var + ε)·weight + bias per channel.
    case batchNorm(BatchNorm)
    /// ConvNeXt V2's global response normalization.
    case globalResponseNorm(GlobalResponseNorm)
    case activation(Activation)
    /// ConvNeXt V1's per-channel layer scale γ∘x.
    case layerScale(Parameter)
    /// `nn.MaxPool2d(kernel, stride, padding)`; padding counts as −∞.
    case maxPool(kernel: Int, stride: Int, padding: Int)
    /// Mean over height and width: [N, H, W, C] → [N, 1, 1, C].
    case globalAveragePool
    /// `nn.Linear` over the channels at every position (ConvNeXt's pointwise layers, the
    /// classifier after pooling): weight [out, in].
    case linear(PointwiseLinear)
    /// body(x) + shortcut(x); an empty shortcut is the identity.
    case residual(body: [VisionOp], shortcut: [VisionOp])
}

/// `nn.Conv2d` with a square kernel: weight [outputs, inputs/groups, kernel, kernel].
public struct Convolution: Sendable, Equatable {
    public let weight: Parameter
    public let bias: Parameter?
    public let inputs: Int
    public let outputs: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let groups: Int

    public init(weight: Parameter, bias: Parameter?, inputs: Int, outputs: Int, kernel: Int, stride: Int, padding: Int, groups: Int = 1) {
        precondition(inputs % groups == 0 && outputs % groups == 0)
        self.weight = weight
        self.bias = bias
        self.inputs = inputs
        self.outputs = outputs
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
    }

    /// One filter per channel (ConvNeXt's 7×7).
    public var isDepthwise: Bool { groups > 1 && groups == inputs && groups == outputs }
    /// Non-overlapping patches without padding (ConvNeXt's stem and downsampling): every input
    /// position feeds exactly one output position.
    public var isPatchwise: Bool { groups == 1 && kernel == stride && padding == 0 }

    public func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernel) / stride + 1 }
}

/// LayerNorm over channels: weight and bias [channels].
public struct ChannelNorm: Sendable, Equatable {
    public let weight: Parameter
    public let bias: Parameter
    public let channels: Int
    public let epsilon: Float
}

/// BatchNorm2d in eval mode: weight and bias are parameters; the running statistics are buffers.
public struct BatchNorm: Sendable, Equatable {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: [Float]
    public let runningVariance: [Float]
    public let channels: Int
    public let epsilon: Float
}

/// GRN: with Gₙ,c = ‖xₙ,·,·,c‖₂ over positions and Nₙ,c = Gₙ,c / (mean_c Gₙ,c + 1e-6),
/// y = weight∘(x∘N) + bias + x. Weight and bias are stored [1, 1, 1, channels].
public struct GlobalResponseNorm: Sendable, Equatable {
    public let weight: Parameter
    public let bias: Parameter
    public let channels: Int
}

/// `nn.Linear` on the channel axis: weight [outputs, inputs], optional bias [outputs].
public struct PointwiseLinear: Sendable, Equatable {
    public let weight: Parameter
    public let bias: Parameter?
    public let inputs: Int
    public let outputs: Int
}
