import Tensor

/// StyleGAN2's `upfirdn2d` as a layer: zero-insertion upsampling, padding (negative crops), a
/// fixed FIR filter scaled by `gain`, and downsampling. `Blur` presets are below.
public final class UpFirDn2d: Module, UnaryLayer {
    /// The 2-D filter `[fh, fw]` (a constant, not a parameter).
    public let filter: Tensor
    public let up: Size2D
    public let down: Size2D
    public let padding: Padding2D
    public let gain: Float
    public let flipFilter: Bool

    public init(filter: Tensor, up: Size2D = 1, down: Size2D = 1, padding: Padding2D = .zero, gain: Float = 1,
                flipFilter: Bool = false) {
        precondition(filter.rank == 2, "UpFirDn2d filter must be 2-D, got \(filter.shape)")
        self.filter = filter.detached()
        self.up = up
        self.down = down
        self.padding = padding
        self.gain = gain
        self.flipFilter = flipFilter
        super.init()
    }

    /// A separable FIR filter `outer(taps, taps)` normalised to sum 1 (`[1, 3, 3, 1]` is StyleGAN2's).
    public static func separableFilter(_ taps: [Float]) -> Tensor {
        let total = taps.reduce(0, +) * taps.reduce(0, +)
        return Tensor(shape: [taps.count, taps.count], scalars: taps.flatMap { a in taps.map { a * $0 / total } })
    }

    /// Blur keeping the size (`[1, 3, 3, 1]`, padding 2/1).
    public static func blur() -> UpFirDn2d {
        UpFirDn2d(filter: FIRResampling.filter, padding: Padding2D(top: 2, bottom: 1, left: 2, right: 1))
    }

    /// StyleGAN2's ×2 FIR upsampling.
    public static func upsample2x() -> UpFirDn2d {
        UpFirDn2d(filter: FIRResampling.filter, up: 2, padding: Padding2D(top: 2, bottom: 1, left: 2, right: 1), gain: 4)
    }

    /// StyleGAN2's ×2 FIR downsampling.
    public static func downsample2x() -> UpFirDn2d { UpFirDn2d(filter: FIRResampling.filter, down: 2, padding: 1) }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        input.upfirdn2d(filter: filter, up: up, down: down, padding: padding, flipFilter: flipFilter, gain: gain)
    }
}

/// Per-pixel noise scaled by a learned strength (initialised to 0), broadcast over channels:
/// `x + noise · strength` with `noise` `[N, 1, H, W]`.
public final class NoiseInjection: Module {
    public let strength: Parameter

    public override init() {
        strength = Parameter(Tensor.zeros([1]))
        super.init()
    }

    public func callAsFunction(_ input: Tensor, noise: Tensor) -> Tensor {
        precondition(noise.shape == [input.shape[0], 1, input.shape[2], input.shape[3]],
                     "NoiseInjection noise \(noise.shape) for input \(input.shape)")
        return input + noise * strength.value
    }
}
