/// Nearest and bilinear resampling, average pooling and StyleGAN2's `upfirdn2d`, on NCHW tensors.
///
/// Each operation is linear in its input; its gradient is the adjoint kernel, and the adjoint's
/// gradient is the forward kernel again, so both stay differentiable to any order.
extension Tensor {
    private var planeGeometry: (planes: Int, height: Int, width: Int) {
        precondition(rank == 4, "expected an NCHW tensor, got shape \(shape)")
        return (shape[0] * shape[1], shape[2], shape[3])
    }

    // MARK: Nearest

    /// Nearest-neighbour upsampling by integer factors (`F.interpolate(mode: "nearest")`).
    public func upsampledNearest(scale: Size2D) -> Tensor {
        precondition(scale.height >= 1 && scale.width >= 1, "nearest upsampling scale \(scale) must be positive")
        let (planes, h, w) = planeGeometry
        let x = self
        let outShape = [shape[0], shape[1], h * scale.height, w * scale.width]
        let output: Tensor
        if let blocked = ChannelBlockedKernels.upsampleNearest(x, scaleH: scale.height, scaleW: scale.width) {
            output = Tensor(shape: outShape, storage: blocked)   // a convolution's output, kept blocked
        } else {
            output = Tensor(shape: outShape) { out in
                ResamplingKernels.nearestUpsample(x.storage.pointer, out.baseAddress!, planes: planes, height: h, width: w,
                                                  scaleH: scale.height, scaleW: scale.width)
            }
        }
        return Tensor.record("upsampleNearest", output: output, inputs: [x]) { g, _, _ in
            [g.nearestUpsampleAdjoint(scale: scale)]
        }
    }

    /// Sums each `scale` block: the adjoint of `upsampledNearest(scale:)`.
    func nearestUpsampleAdjoint(scale: Size2D) -> Tensor {
        let (planes, h, w) = planeGeometry
        precondition(h % scale.height == 0 && w % scale.width == 0, "nearest adjoint: \(shape) not divisible by \(scale)")
        let (sh, sw) = (h / scale.height, w / scale.width)
        let g = self
        let outShape = [shape[0], shape[1], sh, sw]
        let output: Tensor
        if let blocked = ChannelBlockedKernels.upsampleNearestAdjoint(g, scaleH: scale.height, scaleW: scale.width) {
            output = Tensor(shape: outShape, storage: blocked)
        } else {
            output = Tensor(shape: outShape) { out in
                ResamplingKernels.nearestUpsampleAdjoint(g.storage.pointer, out.baseAddress!, planes: planes, height: sh,
                                                         width: sw, scaleH: scale.height, scaleW: scale.width)
            }
        }
        return Tensor.record("upsampleNearestAdjoint", output: output, inputs: [g]) { gg, _, _ in
            [gg.upsampledNearest(scale: scale)]
        }
    }

    // MARK: Bilinear

    /// Bilinear resampling to `size` with PyTorch's `align_corners=False` convention (no
    /// antialiasing; for shrinking images see Imaging's antialiased resize).
    public func resizedBilinear(to size: Size2D) -> Tensor {
        precondition(size.height >= 1 && size.width >= 1, "bilinear size \(size) must be positive")
        let (planes, h, w) = planeGeometry
        if size.height == h && size.width == w { return self }
        let x = self
        let output = Tensor(shape: [shape[0], shape[1], size.height, size.width]) { out in
            ResamplingKernels.bilinearResize(x.storage.pointer, out.baseAddress!, planes: planes, inHeight: h, inWidth: w,
                                             outHeight: size.height, outWidth: size.width)
        }
        return Tensor.record("resizeBilinear", output: output, inputs: [x]) { g, _, _ in
            [g.bilinearResizeAdjoint(to: Size2D(h, w))]
        }
    }

    /// The adjoint of `resizedBilinear`: maps a gradient of the resized image back to `size`.
    func bilinearResizeAdjoint(to size: Size2D) -> Tensor {
        let (planes, h, w) = planeGeometry
        let g = self
        let output = Tensor(shape: [shape[0], shape[1], size.height, size.width]) { out in
            ResamplingKernels.bilinearResizeAdjoint(g.storage.pointer, out.baseAddress!, planes: planes,
                                                    inHeight: size.height, inWidth: size.width, outHeight: h, outWidth: w)
        }
        return Tensor.record("resizeBilinearAdjoint", output: output, inputs: [g]) { gg, _, _ in
            [gg.resizedBilinear(to: Size2D(h, w))]
        }
    }

    // MARK: Average pooling

    /// Average pooling (PyTorch `avg_pool2d`, zero padding counted in the average, floor mode).
    /// `stride` defaults to the kernel size.
    public func averagePooled(kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0) -> Tensor {
        let stride = stride ?? kernel
        let (planes, h, w) = planeGeometry
        precondition(padding.height * 2 <= kernel.height && padding.width * 2 <= kernel.width,
                     "average pooling padding \(padding) must be at most half the kernel \(kernel)")
        let oh = (h + 2 * padding.height - kernel.height) / stride.height + 1
        let ow = (w + 2 * padding.width - kernel.width) / stride.width + 1
        precondition(oh > 0 && ow > 0, "average pooling of \(shape) with kernel \(kernel) is empty")
        let x = self
        let output = Tensor(shape: [shape[0], shape[1], oh, ow]) { out in
            ResamplingKernels.averagePool(x.storage.pointer, out.baseAddress!, planes: planes, height: h, width: w,
                                          kernelH: kernel.height, kernelW: kernel.width, strideH: stride.height,
                                          strideW: stride.width, padH: padding.height, padW: padding.width)
        }
        return Tensor.record("averagePool", output: output, inputs: [x]) { g, _, _ in
            [g.averagePoolAdjoint(inputSize: Size2D(h, w), kernel: kernel, stride: stride, padding: padding)]
        }
    }

    func averagePoolAdjoint(inputSize: Size2D, kernel: Size2D, stride: Size2D, padding: Size2D) -> Tensor {
        let (planes, _, _) = planeGeometry
        let g = self
        let output = Tensor(shape: [shape[0], shape[1], inputSize.height, inputSize.width]) { out in
            ResamplingKernels.averagePoolAdjoint(g.storage.pointer, out.baseAddress!, planes: planes,
                                                 height: inputSize.height, width: inputSize.width,
                                                 kernelH: kernel.height, kernelW: kernel.width, strideH: stride.height,
                                                 strideW: stride.width, padH: padding.height, padW: padding.width)
        }
        return Tensor.record("averagePoolAdjoint", output: output, inputs: [g]) { gg, _, _ in
            [gg.averagePooled(kernel: kernel, stride: stride, padding: padding)]
        }
    }

    // MARK: upfirdn2d

    /// StyleGAN2's `upfirdn2d`: upsample by inserting zeros, pad (negative amounts crop), filter
    /// with the 2-D FIR `filter` `[fh, fw]` (a constant, scaled by `gain`; flipped unless
    /// `flipFilter`, so the default is a true convolution), then keep every `down`-th sample.
    ///
    /// Output extent per axis: `(in·up + padBefore + padAfter − filterSize) / down + 1`.
    public func upfirdn2d(filter: Tensor, up: Size2D = 1, down: Size2D = 1, padding: Padding2D = .zero,
                          flipFilter: Bool = false, gain: Float = 1) -> Tensor {
        precondition(filter.rank == 2, "upfirdn2d filter must be 2-D [fh, fw], got \(filter.shape)")
        precondition(up.height >= 1 && up.width >= 1 && down.height >= 1 && down.width >= 1,
                     "upfirdn2d factors must be positive")
        let (planes, h, w) = planeGeometry
        let (fh, fw) = (filter.shape[0], filter.shape[1])
        let size = ResamplingKernels.upfirdn2dOutputSize(
            height: h, width: w, filterHeight: fh, filterWidth: fw, upY: up.height, upX: up.width,
            downY: down.height, downX: down.width, padX0: padding.left, padX1: padding.right,
            padY0: padding.top, padY1: padding.bottom)
        precondition(size.height > 0 && size.width > 0, "upfirdn2d output of \(shape) would be empty")
        // Without upsampling and cropping this is a depthwise convolution; with enough channels
        // oneDNN's depthwise kernels run it several times faster than the generic loop.
        if up == 1 && shape[1] >= Tensor.depthwiseUpfirdnMinimumChannels
            && [padding.top, padding.bottom, padding.left, padding.right].allSatisfy({ $0 >= 0 }) {
            return upfirdn2dByDepthwiseConvolution(filter: filter.detached(), down: down, padding: padding,
                                                   flipFilter: flipFilter, gain: gain)
        }
        let x = self, f = filter.detached()
        let output = Tensor(shape: [shape[0], shape[1], size.height, size.width]) { out in
            ResamplingKernels.upfirdn2d(x.storage.pointer, out.baseAddress!, planes: planes, height: h, width: w,
                                        filter: f.storage.pointer, filterHeight: fh, filterWidth: fw,
                                        upY: up.height, upX: up.width, downY: down.height, downX: down.width,
                                        padX0: padding.left, padX1: padding.right, padY0: padding.top,
                                        padY1: padding.bottom, flipFilter: flipFilter, gain: gain)
        }
        return Tensor.record("upfirdn2d", output: output, inputs: [x]) { g, _, _ in
            // The adjoint is again an upfirdn2d: up and down swapped, the filter flipped, pads moved.
            let pads = Padding2D(top: fh - padding.top - 1,
                                 bottom: h * up.height - size.height * down.height + padding.top - up.height + 1,
                                 left: fw - padding.left - 1,
                                 right: w * up.width - size.width * down.width + padding.left - up.width + 1)
            return [g.upfirdn2d(filter: f, up: down, down: up, padding: pads, flipFilter: !flipFilter, gain: gain)]
        }
    }
}

extension Tensor {
    /// Channels from which `upfirdn2d` without upsampling runs as a oneDNN depthwise convolution.
    static let depthwiseUpfirdnMinimumChannels = 8

    /// `upfirdn2d` with `up` = 1 as a depthwise convolution with the (flipped unless
    /// `flipFilter`) filter scaled by `gain`, stride `down` and zero padding.
    func upfirdn2dByDepthwiseConvolution(filter: Tensor, down: Size2D, padding: Padding2D, flipFilter: Bool,
                                         gain: Float) -> Tensor {
        let channels = shape[1]
        let kernel = (flipFilter ? filter : filter.reversed(alongAxes: [0, 1])) * gain
        let weight = kernel.reshaped(to: [1, 1] + filter.shape).expanded(to: [channels, 1] + filter.shape)
        return Tensor.conv2d(self, weight: weight, stride: down, padding: padding, groups: channels)
    }
}
