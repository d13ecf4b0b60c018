import Tensor

/// A fully connected layer `y = x·Wᵀ + b` with PyTorch's layout (`weight` `[out, in]`) and
/// default initialisation.
public final class Linear: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?

    /// Creates the layer with PyTorch's default initialisation.
    public init(inputCount: Int, outputCount: Int, bias: Bool = true, generator: inout SeededGenerator) {
        weight = Parameter(Initializer.pytorchDefault([outputCount, inputCount], fanIn: inputCount, generator: &generator))
        self.bias = bias ? Parameter(Initializer.pytorchDefault([outputCount], fanIn: inputCount, generator: &generator)) : nil
        super.init()
    }

    public var inputCount: Int { weight.shape[1] }
    public var outputCount: Int { weight.shape[0] }

    /// Applies the layer to `[N, in]` (or any `[..., in]`, flattened to rows and back).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.shape.last == inputCount, "Linear(\(inputCount)→\(outputCount)) got input \(input.shape)")
        let rows = input.reshaped(to: [-1, inputCount])
        var y = Tensor.matmul(rows, weight.value, transposeB: true)
        if let bias { y = y + bias.value }
        return input.rank == 2 ? y : y.reshaped(to: Array(input.shape.dropLast()) + [outputCount])
    }
}
