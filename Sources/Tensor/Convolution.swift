/// An activation computed inside a convolution (`Tensor.conv2d(…, activation:)`).
public enum FusedActivation: Hashable, Sendable {
    /// max(x, 0).
    case relu
    /// x for x > 0, `negativeSlope`·x otherwise.
    case leakyReLU(negativeSlope: Float)

    /// The slope for negative inputs (0 for ReLU).
    public var negativeSlope: Float {
        switch self {
        case .relu: 0
        case .leakyReLU(let slope): slope
        }
    }
}

/// 2-D convolution and transposed convolution on NCHW tensors, through oneDNN.
///
/// Three differentiable primitives close the set under differentiation, so gradients of
/// gradients (R1, path length) need nothing else:
/// `y = conv(x, w)`, `x̄ = convBackwardData(ȳ, w)` (the transposed convolution) and
/// `w̄ = convBackwardWeight(x, ȳ)`. Each one's derivatives are the other two.
extension Tensor {
    /// Cross-correlation of `input` `[N, C, H, W]` with `weight` `[O, C/groups, kh, kw]`, plus `bias` `[O]`.
    ///
    /// `padding` may differ per side (TensorFlow "same" padding for even kernels is
    /// `Padding2D(top: 0, bottom: 1, left: 0, right: 1)`); `dilation` 1 is a dense kernel.
    ///
    /// With `activation`, returns `activation(conv2d(…))` computed inside the convolution (oneDNN
    /// post-op: no separate pass over the output, no intermediate tensor); the values and
    /// gradients are those of the two operations applied one after the other.
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1,
                              padding: Padding2D = .zero, dilation: Size2D = 1, groups: Int = 1,
                              activation: FusedActivation? = nil) -> Tensor {
        let geometry = ConvolutionGeometry(stride: stride, padding: padding, dilation: dilation, groups: groups)
        let outShape = convolutionOutputShape(input: input.shape, weight: weight.shape, geometry: geometry)
        if let bias { precondition(bias.shape == [weight.shape[0]], "conv2d bias shape \(bias.shape) for weight \(weight.shape)") }
        return convForward(input, weight, bias, outputShape: outShape, geometry: geometry, activation: activation)
    }

    /// Transposed convolution (the gradient of `conv2d` with respect to its input), PyTorch
    /// semantics: `weight` is `[Cin, Cout/groups, kh, kw]`, output extent
    /// `(H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1`.
    public static func convTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1,
                                       padding: Size2D = 0, outputPadding: Size2D = 0, dilation: Size2D = 1,
                                       groups: Int = 1) -> Tensor {
        precondition(input.rank == 4 && weight.rank == 4 && input.shape[1] == weight.shape[0],
                     "convTranspose2d of input \(input.shape) with weight \(weight.shape)")
        precondition(outputPadding.height < Swift.max(stride.height, dilation.height)
                      && outputPadding.width < Swift.max(stride.width, dilation.width),
                      "convTranspose2d output padding \(outputPadding) must be smaller than stride or dilation")
        let geometry = ConvolutionGeometry(stride: stride, padding: Padding2D(vertical: padding.height, horizontal: padding.width),
                                           dilation: dilation, groups: groups)
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        let h = (input.shape[2] - 1) * stride.height - 2 * padding.height + dilation.height * (kh - 1) + outputPadding.height + 1
        let w = (input.shape[3] - 1) * stride.width - 2 * padding.width + dilation.width * (kw - 1) + outputPadding.width + 1
        let outShape = [input.shape[0], weight.shape[1] * groups, h, w]
        precondition(convolutionOutputShape(input: outShape, weight: weight.shape, geometry: geometry) == input.shape,
                     "convTranspose2d geometry inconsistent for input \(input.shape)")
        let y = convBackwardData(input, weight, inputShape: outShape, geometry: geometry)
        guard let bias else { return y }
        precondition(bias.shape == [outShape[1]], "convTranspose2d bias shape \(bias.shape), expected [\(outShape[1])]")
        return y + bias.reshaped(to: [1, outShape[1], 1, 1])
    }

    /// Output shape of a convolution, checking every extent.
    static func convolutionOutputShape(input: [Int], weight: [Int], geometry: ConvolutionGeometry) -> [Int] {
        precondition(input.count == 4 && weight.count == 4, "conv2d needs NCHW input and OIHW weight, got \(input) and \(weight)")
        let g = geometry.groups
        precondition(g >= 1 && input[1] == weight[1] * g && weight[0] % g == 0,
                     "conv2d: input \(input) and weight \(weight) disagree for groups \(g)")
        precondition(geometry.strideH >= 1 && geometry.strideW >= 1 && geometry.dilationH >= 1 && geometry.dilationW >= 1,
                     "conv2d stride and dilation must be positive")
        precondition([geometry.padTop, geometry.padBottom, geometry.padLeft, geometry.padRight].allSatisfy { $0 >= 0 },
                     "conv2d padding must not be negative")
        let h = DNNL.outputSize(input: input[2], kernel: weight[2], stride: geometry.strideH,
                                padBefore: geometry.padTop, padAfter: geometry.padBottom, dilation: geometry.dilationH)
        let w = DNNL.outputSize(input: input[3], kernel: weight[3], stride: geometry.strideW,
                                padBefore: geometry.padLeft, padAfter: geometry.padRight, dilation: geometry.dilationW)
        precondition(h > 0 && w > 0, "conv2d output would be empty for input \(input), weight \(weight), \(geometry)")
        return [input[0], weight[0], h, w]
    }

    static func convForward(_ x: Tensor, _ w: Tensor, _ b: Tensor?, outputShape: [Int], geometry: ConvolutionGeometry,
                            activation: FusedActivation? = nil) -> Tensor {
        let slope = activation?.negativeSlope
        let output = Tensor(shape: outputShape, storage: DNNL.convolutionForward(
            input: x.storage, inputShape: x.shape, weight: w.storage, weightShape: w.shape, bias: b?.storage,
            outputShape: outputShape, geometry: geometry, activationSlope: slope))
        let inputs = b.map { [x, w, $0] } ?? [x, w]
        return record(slope == nil ? "conv2d" : "conv2d+activation", output: output, inputs: inputs) { g, _, needed in
            // Through the activation first: its output is positive exactly where its input is.
            let g = slope.map { g.gated(byPositive: output, negativeSlope: $0) } ?? g
            return [needed[0] ? convBackwardData(g, w, inputShape: x.shape, geometry: geometry) : nil,
                    needed[1] ? convBackwardWeight(x, g, weightShape: w.shape, geometry: geometry) : nil]
                + (b == nil ? [] : [needed[2] ? g.sum(alongAxes: [0, 2, 3]) : nil])
        }
    }

    static func convBackwardData(_ gy: Tensor, _ w: Tensor, inputShape: [Int], geometry: ConvolutionGeometry) -> Tensor {
        let output = Tensor(shape: inputShape, storage: DNNL.convolutionBackwardData(
            gradOutput: gy.storage, outputShape: gy.shape, weight: w.storage, weightShape: w.shape,
            inputShape: inputShape, geometry: geometry))
        return record("convBackwardData", output: output, inputs: [gy, w]) { g, _, needed in
            [needed[0] ? convForward(g, w, nil, outputShape: gy.shape, geometry: geometry) : nil,
             needed[1] ? convBackwardWeight(g, gy, weightShape: w.shape, geometry: geometry) : nil]
        }
    }

    static func convBackwardWeight(_ x: Tensor, _ gy: Tensor, weightShape: [Int], geometry: ConvolutionGeometry) -> Tensor {
        let output = Tensor(shape: weightShape, storage: DNNL.convolutionBackwardWeights(
            input: x.storage, inputShape: x.shape, gradOutput: gy.storage, outputShape: gy.shape,
            weightShape: weightShape, geometry: geometry))
        return record("convBackwardWeight", output: output, inputs: [x, gy]) { g, _, needed in
            [needed[0] ? convBackwardData(gy, g, inputShape: x.shape, geometry: geometry) : nil,
             needed[1] ? convForward(x, g, nil, outputShape: gy.shape, geometry: geometry) : nil]
        }
    }
}

extension ConvolutionGeometry {
    init(stride: Size2D, padding: Padding2D, dilation: Size2D, groups: Int) {
        self.init(strideH: stride.height, strideW: stride.width,
                  padTop: padding.top, padBottom: padding.bottom, padLeft: padding.left, padRight: padding.right,
                  dilationH: dilation.height, dilationW: dilation.width, groups: groups)
    }
}
