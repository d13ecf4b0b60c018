import Tensor

/// Rectified linear unit, as a layer (parameterless; keeps PyTorch `Sequential` indices aligned).
public final class ReLU: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ input: Tensor) -> Tensor { input.relu() }
}

/// Leaky ReLU with a negative slope and an optional output gain (StyleGAN2 uses 0.2 and √2).
public final class LeakyReLU: Module, UnaryLayer {
    public let negativeSlope: Float
    public let gain: Float

    public init(negativeSlope: Float = 0.2, gain: Float = 1) {
        self.negativeSlope = negativeSlope
        self.gain = gain
        super.init()
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        let y = input.leakyReLU(negativeSlope: negativeSlope)
        return gain == 1 ? y : y * gain
    }
}

/// Logistic sigmoid, as a layer.
public final class Sigmoid: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ input: Tensor) -> Tensor { input.sigmoid() }
}

/// Hyperbolic tangent, as a layer.
public final class Tanh: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ input: Tensor) -> Tensor { input.tanh() }
}

/// Flattens everything after the batch axis: `[N, C, H, W]` → `[N, C·H·W]`.
public final class Flatten: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ input: Tensor) -> Tensor { input.flattened(from: 1) }
}

/// Layers applied in order; parameters are named by position (`0.weight`, `2.bias`).
///
/// A `Conv2d` directly followed by a `ReLU` (or a `LeakyReLU` without gain) runs as one
/// convolution with the activation fused in; the layers, their names and the results stay those
/// of the two layers.
public final class Sequential: Module, UnaryLayer {
    public let layers: [any UnaryLayer]

    public init(_ layers: [any UnaryLayer]) {
        self.layers = layers
        super.init()
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        var x = input
        var index = 0
        while index < layers.count {
            if let conv = layers[index] as? Conv2d, index + 1 < layers.count,
               let activation = Self.fusableActivation(layers[index + 1]) {
                x = conv(x, activation: activation)
                index += 2
            } else {
                x = layers[index](x)
                index += 1
            }
        }
        return x
    }

    private static func fusableActivation(_ layer: any UnaryLayer) -> FusedActivation? {
        if layer is ReLU { return .relu }
        if let leaky = layer as? LeakyReLU, leaky.gain == 1 { return .leakyReLU(negativeSlope: leaky.negativeSlope) }
        return nil
    }
}

/// Nearest or bilinear upsampling by an integer factor.
public final class Upsample: Module, UnaryLayer {
    /// The interpolation.
    public enum Mode: Sendable { case nearest, bilinear }

    public let scale: Size2D
    public let mode: Mode

    public init(scale: Size2D, mode: Mode = .nearest) {
        self.scale = scale
        self.mode = mode
        super.init()
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        switch mode {
        case .nearest: return input.upsampledNearest(scale: scale)
        case .bilinear:
            return input.resizedBilinear(to: Size2D(input.shape[2] * scale.height, input.shape[3] * scale.width))
        }
    }
}
