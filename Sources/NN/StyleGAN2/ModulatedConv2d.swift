import Tensor

/// StyleGAN2's modulated convolution (spec §2.4): a per-sample style `s = A(w) + 1` scales the
/// weight's input channels, optional demodulation renormalises each output channel, optional
/// ×2 upsampling uses the FIR recipe of `FIRResampling.upsampleConv2d`.
///
/// It runs in the exact unfused form: scale the input channels by `s`, convolve with the shared
/// weight, scale the output channels by `d`. An unmodulated layer (outside the fingerprinted
/// resolution range, spec §3.4) has no `affine` and uses the weight as is.
public final class ModulatedConv2d: Module {
    /// The style affine layer `w → s − 1` (`nil` when unmodulated).
    public let affine: EqualizedLinear?
    /// Raw weight `[out, in, k, k]`, scaled at run time by 1/√(in·k·k).
    public let weight: Parameter
    public let demodulate: Bool
    public let upsample: Bool

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, styleDimension: Int?,
                demodulate: Bool, upsample: Bool = false, generator: inout SeededGenerator) {
        affine = styleDimension.map {
            EqualizedLinear(inputCount: $0, outputCount: inputChannels, generator: &generator)
        }
        weight = Parameter(Initializer.normal([outputChannels, inputChannels, kernelSize, kernelSize], generator: &generator))
        self.demodulate = demodulate && styleDimension != nil
        self.upsample = upsample
        super.init()
    }

    public var inputChannels: Int { weight.shape[1] }
    public var outputChannels: Int { weight.shape[0] }
    public var weightGain: Float { 1 / Float(weight.shape[1] * weight.shape[2] * weight.shape[3]).squareRoot() }

    /// Applies the layer to `x` `[N, in, H, W]` with styles from `w` `[N, styleDimension]`
    /// (ignored when unmodulated), times `gain` (when demodulating, folded into the
    /// demodulation factors at no cost; otherwise a pass over the output when it is not 1).
    public func callAsFunction(_ x: Tensor, style w: Tensor, gain: Float = 1) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inputChannels, "ModulatedConv2d expects [N, \(inputChannels), H, W], got \(x.shape)")
        let kernel = weight.value * weightGain
        var input = x
        var styles: Tensor?
        if let affine {
            precondition(w.rank == 2 && w.shape[0] == x.shape[0], "ModulatedConv2d style \(w.shape) for input \(x.shape)")
            let s = affine(w) + 1
            styles = s
            input = x * s.reshaped(to: [x.shape[0], inputChannels, 1, 1])
        }
        let y = upsample ? FIRResampling.upsampleConv2d(input, weight: kernel)
                         : Tensor.conv2d(input, weight: kernel, padding: Padding2D(vertical: weight.shape[2] / 2,
                                                                                     horizontal: weight.shape[3] / 2))
        if demodulate, let s = styles {
            // d[n, o] = 1/√(Σ_i s[n,i]² · Σ_{ky,kx} W[o,i,ky,kx]² + 1e-8)
            let squaredWeights = kernel.square().sum(alongAxes: [2, 3])          // [out, in]
            let d = (Tensor.matmul(s.square(), squaredWeights, transposeB: true) + 1e-8).rsqrt()
            return y * (gain == 1 ? d : d * gain).reshaped(to: [x.shape[0], outputChannels, 1, 1])
        }
        return gain == 1 ? y : y * gain
    }
}
