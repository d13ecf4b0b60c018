import Tensor

/// A 2-D convolution layer (`weight` `[out, in/groups, kh, kw]`, `bias` `[out]`) with PyTorch's
/// default initialisation. Padding may differ per side.
public final class Conv2d: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Size2D
    public let padding: Padding2D
    public let dilation: Size2D
    public let groups: Int

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Size2D, stride: Size2D = 1,
                padding: Padding2D = .zero, dilation: Size2D = 1, groups: Int = 1, bias: Bool = true,
                generator: inout SeededGenerator) {
        precondition(inputChannels % groups == 0 && outputChannels % groups == 0,
                     "Conv2d channels \(inputChannels)→\(outputChannels) not divisible by groups \(groups)")
        let fanIn = inputChannels / groups * kernelSize.height * kernelSize.width
        weight = Parameter(Initializer.pytorchDefault(
            [outputChannels, inputChannels / groups, kernelSize.height, kernelSize.width], fanIn: fanIn, generator: &generator))
        self.bias = bias ? Parameter(Initializer.pytorchDefault([outputChannels], fanIn: fanIn, generator: &generator)) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    public var inputChannels: Int { weight.shape[1] * groups }
    public var outputChannels: Int { weight.shape[0] }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        callAsFunction(input, activation: nil)
    }

    /// The convolution followed by `activation`, computed in one oneDNN call (see
    /// `Tensor.conv2d(_:weight:bias:stride:padding:dilation:groups:activation:)`).
    public func callAsFunction(_ input: Tensor, activation: FusedActivation?) -> Tensor {
        Tensor.conv2d(input, weight: weight.value, bias: bias?.value, stride: stride, padding: padding,
                      dilation: dilation, groups: groups, activation: activation)
    }
}
