// Raw CPU resampling kernels on NCHW float32 buffers: nearest-neighbour upsampling, bilinear
// resizing (PyTorch `align_corners=False`), average pooling (PyTorch `avg_pool2d`) and StyleGAN2's
// `upfirdn2d`, each paired with its exact adjoint (the transpose of the forward linear map, i.e.
// the gradient with respect to the input).

/// Namespace for the resampling kernels.
///
/// Shared conventions:
/// - Buffers are NCHW float32; `planes` is N*C and every plane is a dense row-major H×W image.
///   The kernels treat planes independently and identically.
/// - Each kernel fully overwrites its output buffer (adjoints zero-fill before scatter-adding), so
///   the output may hold garbage on entry. Input and output must not overlap.
/// - Work is split over blocks of planes with ``parallelFor`` when more than
///   ``parallelThreshold`` elements are involved and there are at least two planes; otherwise
///   the kernel runs serially on the calling thread. Each plane is always computed by the same
///   code in the same order, so the parallel and serial paths give bit-identical results.
/// - Only the per-call index/weight tables are heap-allocated (once per call); the per-pixel
///   loops allocate nothing.
enum ResamplingKernels {

    /// Number of elements (per call, summed over planes) above which work is parallelised.
    static let parallelThreshold = 32_768

    /// Upper bound on the number of contiguous plane blocks handed to ``parallelFor``.
    static let maximumChunks = 8

    // MARK: - Parallel dispatch

    /// Calls `body` on contiguous, disjoint ranges of plane indices covering `0..<planes`:
    /// once with the whole range when the work is small, otherwise on up to ``maximumChunks``
    /// blocks via ``parallelFor``.
    ///
    /// - Parameters:
    ///   - planes: Number of planes (N*C).
    ///   - elementsPerPlane: Work measure per plane (typically the larger of the input and
    ///     output plane sizes), compared against ``parallelThreshold``.
    ///   - body: Processes every plane in the given range.
    @inline(__always)
    private static func forEachPlaneBlock(
        planes: Int, elementsPerPlane: Int, _ body: (Range<Int>) -> Void
    ) {
        guard planes > 0 else { return }
        let (total, overflow) = planes.multipliedReportingOverflow(by: elementsPerPlane)
        if planes < 2 || (!overflow && total <= parallelThreshold) {
            body(0..<planes)
            return
        }
        let chunks = min(planes, maximumChunks)
        parallelFor(chunks) { chunk in
            body((chunk * planes / chunks)..<((chunk + 1) * planes / chunks))
        }
    }

    // MARK: - Nearest-neighbour upsampling

    /// Nearest-neighbour upsampling by integer factors:
    /// `output[y][x] = input[y / scaleH][x / scaleW]` (PyTorch `mode='nearest'` with an integer
    /// `scale_factor`).
    ///
    /// - Parameters:
    ///   - input: `planes × height × width` values.
    ///   - output: `planes × (height*scaleH) × (width*scaleW)` values, fully overwritten.
    ///   - planes: N*C.
    ///   - height: Input plane height.
    ///   - width: Input plane width.
    ///   - scaleH: Vertical factor (≥ 1).
    ///   - scaleW: Horizontal factor (≥ 1).
    static func nearestUpsample(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        planes: Int, height: Int, width: Int, scaleH: Int, scaleW: Int
    ) {
        precondition(planes >= 0 && height >= 0 && width >= 0, "nearestUpsample: negative size")
        precondition(scaleH >= 1 && scaleW >= 1, "nearestUpsample: scale factors must be >= 1")
        let outWidth = width * scaleW
        let inPlane = height * width
        let outPlane = inPlane * scaleH * scaleW
        forEachPlaneBlock(planes: planes, elementsPerPlane: outPlane) { block in
            for plane in block {
                let source = input + plane * inPlane
                let destination = output + plane * outPlane
                for y in 0..<height {
                    let inRow = source + y * width
                    let outRow = destination + y * scaleH * outWidth
                    switch scaleW {
                    case 1:
                        outRow.update(from: inRow, count: width)
                    case 2:
                        for x in 0..<width {
                            let value = inRow[x]
                            outRow[2 * x] = value
                            outRow[2 * x + 1] = value
                        }
                    default:
                        for x in 0..<width {
                            (outRow + x * scaleW).update(repeating: inRow[x], count: scaleW)
                        }
                    }
                    // The remaining scaleH - 1 output rows are copies of the first one.
                    for repeatRow in 1..<scaleH {
                        (outRow + repeatRow * outWidth).update(from: outRow, count: outWidth)
                    }
                }
            }
        }
    }

    /// Adjoint of ``nearestUpsample(_:_:planes:height:width:scaleH:scaleW:)``:
    /// `gradInput[y][x] = Σ gradOutput[y*scaleH + dy][x*scaleW + dx]` over the
    /// `scaleH × scaleW` block.
    ///
    /// - Parameters:
    ///   - gradOutput: `planes × (height*scaleH) × (width*scaleW)` values.
    ///   - gradInput: `planes × height × width` values, fully overwritten.
    ///   - planes: N*C.
    ///   - height: Height of the small (forward input) plane.
    ///   - width: Width of the small (forward input) plane.
    ///   - scaleH: Vertical factor (≥ 1).
    ///   - scaleW: Horizontal factor (≥ 1).
    static func nearestUpsampleAdjoint(
        _ gradOutput: UnsafePointer<Float>, _ gradInput: UnsafeMutablePointer<Float>,
        planes: Int, height: Int, width: Int, scaleH: Int, scaleW: Int
    ) {
        precondition(planes >= 0 && height >= 0 && width >= 0,
                     "nearestUpsampleAdjoint: negative size")
        precondition(scaleH >= 1 && scaleW >= 1,
                     "nearestUpsampleAdjoint: scale factors must be >= 1")
        let outWidth = width * scaleW
        let inPlane = height * width
        let outPlane = inPlane * scaleH * scaleW
        forEachPlaneBlock(planes: planes, elementsPerPlane: outPlane) { block in
            for plane in block {
                let source = gradOutput + plane * outPlane
                let destination = gradInput + plane * inPlane
                for y in 0..<height {
                    let gradRow = destination + y * width
                    let blockTop = source + y * scaleH * outWidth
                    for blockRow in 0..<scaleH {
                        let row = blockTop + blockRow * outWidth
                        for x in 0..<width {
                            let cell = row + x * scaleW
                            var sum: Float = 0
                            for dx in 0..<scaleW { sum += cell[dx] }
                            if blockRow == 0 { gradRow[x] = sum } else { gradRow[x] += sum }
                        }
                    }
                }
            }
        }
    }

    // MARK: - Bilinear resize

    /// Per-output-index source taps of a 1-D linear interpolation with PyTorch
    /// `align_corners=False` semantics: `output[o] = weight0[o]*input[index0[o]] +
    /// weight1[o]*input[index1[o]]`. Owns its storage; call ``deallocate()`` when done.
    private struct LinearTaps {
        /// Lower source index `i0 = floor(src)`.
        let index0: UnsafeMutablePointer<Int>
        /// Upper source index `i1 = min(i0 + 1, inSize - 1)`.
        let index1: UnsafeMutablePointer<Int>
        /// Weight of `index0`: `1 - lambda`.
        let weight0: UnsafeMutablePointer<Float>
        /// Weight of `index1`: `lambda = src - i0`.
        let weight1: UnsafeMutablePointer<Float>

        /// Builds the taps for resizing an axis of length `inSize` to `outSize`, exactly as
        /// PyTorch's CPU `upsample_bilinear2d` does (float arithmetic, `scale = in/out`,
        /// `src = scale*(dst + 0.5) - 0.5` clamped below at 0, `lambda` clamped to [0, 1]).
        init(inSize: Int, outSize: Int) {
            index0 = .allocate(capacity: outSize)
            index1 = .allocate(capacity: outSize)
            weight0 = .allocate(capacity: outSize)
            weight1 = .allocate(capacity: outSize)
            let scale = Float(inSize) / Float(outSize)
            for o in 0..<outSize {
                let source = max(scale * (Float(o) + 0.5) - 0.5, 0)
                let i0 = min(Int(source), inSize - 1)  // source >= 0, so truncation == floor
                let lambda = min(max(source - Float(i0), 0), 1)
                index0[o] = i0
                index1[o] = min(i0 + 1, inSize - 1)
                weight0[o] = 1 - lambda
                weight1[o] = lambda
            }
        }

        /// Frees the tables.
        func deallocate() {
            index0.deallocate()
            index1.deallocate()
            weight0.deallocate()
            weight1.deallocate()
        }
    }

    /// Bilinear resize with PyTorch semantics
    /// (`F.interpolate(mode='bilinear', align_corners=False, antialias=False)` given an output
    /// `size`): along each axis `src = (dst + 0.5) * (in/out) - 0.5`, clamped below at 0,
    /// `i0 = floor(src)`, `i1 = min(i0 + 1, in - 1)`, `lambda = src - i0`.
    ///
    /// - Parameters:
    ///   - input: `planes × inHeight × inWidth` values.
    ///   - output: `planes × outHeight × outWidth` values, fully overwritten.
    ///   - planes: N*C.
    ///   - inHeight: Input plane height (≥ 1 when the output is non-empty).
    ///   - inWidth: Input plane width (≥ 1 when the output is non-empty).
    ///   - outHeight: Output plane height.
    ///   - outWidth: Output plane width.
    static func bilinearResize(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        planes: Int, inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int
    ) {
        precondition(planes >= 0 && outHeight >= 0 && outWidth >= 0, "bilinearResize: negative size")
        guard planes > 0, outHeight > 0, outWidth > 0 else { return }
        precondition(inHeight >= 1 && inWidth >= 1, "bilinearResize: empty input")
        let rows = LinearTaps(inSize: inHeight, outSize: outHeight)
        let columns = LinearTaps(inSize: inWidth, outSize: outWidth)
        defer {
            rows.deallocate()
            columns.deallocate()
        }
        let inPlane = inHeight * inWidth
        let outPlane = outHeight * outWidth
        forEachPlaneBlock(planes: planes, elementsPerPlane: max(inPlane, outPlane)) { block in
            for plane in block {
                let source = input + plane * inPlane
                let destination = output + plane * outPlane
                for oy in 0..<outHeight {
                    let top = source + rows.index0[oy] * inWidth
                    let bottom = source + rows.index1[oy] * inWidth
                    let topWeight = rows.weight0[oy]
                    let bottomWeight = rows.weight1[oy]
                    let outRow = destination + oy * outWidth
                    for ox in 0..<outWidth {
                        let x0 = columns.index0[ox]
                        let x1 = columns.index1[ox]
                        let left = columns.weight0[ox]
                        let right = columns.weight1[ox]
                        // Same association order as PyTorch's CPU kernel.
                        outRow[ox] = topWeight * (left * top[x0] + right * top[x1])
                            + bottomWeight * (left * bottom[x0] + right * bottom[x1])
                    }
                }
            }
        }
    }

    /// Adjoint of
    /// ``bilinearResize(_:_:planes:inHeight:inWidth:outHeight:outWidth:)``: scatter-adds
    /// every `gradOutput` value into its four source pixels with the forward weights.
    ///
    /// - Parameters:
    ///   - gradOutput: `planes × outHeight × outWidth` values.
    ///   - gradInput: `planes × inHeight × inWidth` values, fully overwritten.
    ///   - planes: N*C.
    ///   - inHeight: Forward input plane height.
    ///   - inWidth: Forward input plane width.
    ///   - outHeight: Forward output plane height.
    ///   - outWidth: Forward output plane width.
    static func bilinearResizeAdjoint(
        _ gradOutput: UnsafePointer<Float>, _ gradInput: UnsafeMutablePointer<Float>,
        planes: Int, inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int
    ) {
        precondition(planes >= 0 && inHeight >= 0 && inWidth >= 0 && outHeight >= 0
                     && outWidth >= 0, "bilinearResizeAdjoint: negative size")
        let inPlane = inHeight * inWidth
        let outPlane = outHeight * outWidth
        guard planes > 0, inPlane > 0 else { return }
        guard outPlane > 0 else {
            gradInput.update(repeating: 0, count: planes * inPlane)
            return
        }
        let rows = LinearTaps(inSize: inHeight, outSize: outHeight)
        let columns = LinearTaps(inSize: inWidth, outSize: outWidth)
        defer {
            rows.deallocate()
            columns.deallocate()
        }
        forEachPlaneBlock(planes: planes, elementsPerPlane: max(inPlane, outPlane)) { block in
            for plane in block {
                let source = gradOutput + plane * outPlane
                let destination = gradInput + plane * inPlane
                destination.update(repeating: 0, count: inPlane)
                for oy in 0..<outHeight {
                    let top = destination + rows.index0[oy] * inWidth
                    let bottom = destination + rows.index1[oy] * inWidth
                    let topWeight = rows.weight0[oy]
                    let bottomWeight = rows.weight1[oy]
                    let gradRow = source + oy * outWidth
                    for ox in 0..<outWidth {
                        let x0 = columns.index0[ox]
                        let x1 = columns.index1[ox]
                        let topGrad = topWeight * gradRow[ox]
                        let bottomGrad = bottomWeight * gradRow[ox]
                        let left = columns.weight0[ox]
                        let right = columns.weight1[ox]
                        top[x0] += left * topGrad
                        top[x1] += right * topGrad
                        bottom[x0] += left * bottomGrad
                        bottom[x1] += right * bottomGrad
                    }
                }
            }
        }
    }

    // MARK: - Average pooling

    /// Output extent of ``averagePool(_:_:planes:height:width:kernelH:kernelW:strideH:strideW:padH:padW:)``
    /// along one axis: `(size + 2*pad - kernel) / stride + 1` (PyTorch, `ceil_mode=False`).
    ///
    /// - Parameters:
    ///   - size: Input extent.
    ///   - kernel: Window extent (≥ 1).
    ///   - stride: Window step (≥ 1).
    ///   - pad: Implicit zero padding on both sides (≥ 0).
    /// - Returns: The pooled extent; 0 when the padded input is smaller than the window.
    static func averagePoolOutputSize(size: Int, kernel: Int, stride: Int, pad: Int) -> Int {
        let span = size + 2 * pad - kernel
        return span < 0 ? 0 : span / stride + 1
    }

    /// Fills `start[o]`/`end[o]` with the window `[o*stride - pad, o*stride - pad + kernel)`
    /// clipped to `[0, size)`.
    ///
    /// - Parameters:
    ///   - start: `count` slots for the clipped window starts.
    ///   - end: `count` slots for the clipped window ends (exclusive).
    ///   - count: Number of output positions.
    ///   - size: Input extent.
    ///   - kernel: Window extent.
    ///   - stride: Window step.
    ///   - pad: Leading padding.
    private static func fillPoolWindows(
        start: UnsafeMutablePointer<Int>, end: UnsafeMutablePointer<Int>,
        count: Int, size: Int, kernel: Int, stride: Int, pad: Int
    ) {
        for o in 0..<count {
            let first = o * stride - pad
            start[o] = max(first, 0)
            end[o] = min(first + kernel, size)
        }
    }

    /// Validates pooling arguments shared by the forward and adjoint kernels.
    ///
    /// - Parameters:
    ///   - function: Name used in the failure message.
    ///   - planes: N*C.
    ///   - height: Input plane height.
    ///   - width: Input plane width.
    ///   - kernelH: Window height.
    ///   - kernelW: Window width.
    ///   - strideH: Vertical step.
    ///   - strideW: Horizontal step.
    ///   - padH: Vertical padding.
    ///   - padW: Horizontal padding.
    private static func checkPoolArguments(
        _ function: StaticString, planes: Int, height: Int, width: Int, kernelH: Int, kernelW: Int,
        strideH: Int, strideW: Int, padH: Int, padW: Int
    ) {
        precondition(planes >= 0 && height >= 0 && width >= 0, "\(function): negative size")
        precondition(kernelH >= 1 && kernelW >= 1 && strideH >= 1 && strideW >= 1,
                     "\(function): kernel and stride must be >= 1")
        precondition(padH >= 0 && padW >= 0, "\(function): padding must be >= 0")
    }

    /// Average pooling with PyTorch `avg_pool2d` semantics, `count_include_pad=True`,
    /// `ceil_mode=False`: every output is the sum of the in-image part of its
    /// `kernelH × kernelW` window divided by `kernelH*kernelW` (padding counts as zeros).
    /// Output size per axis is `(size + 2*pad - kernel) / stride + 1`
    /// (see ``averagePoolOutputSize(size:kernel:stride:pad:)``).
    ///
    /// - Parameters:
    ///   - input: `planes × height × width` values.
    ///   - output: `planes × outHeight × outWidth` values, fully overwritten.
    ///   - planes: N*C.
    ///   - height: Input plane height.
    ///   - width: Input plane width.
    ///   - kernelH: Window height (≥ 1).
    ///   - kernelW: Window width (≥ 1).
    ///   - strideH: Vertical step (≥ 1).
    ///   - strideW: Horizontal step (≥ 1).
    ///   - padH: Implicit zero padding at top and bottom (≥ 0).
    ///   - padW: Implicit zero padding at left and right (≥ 0).
    static func averagePool(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        planes: Int, height: Int, width: Int, kernelH: Int, kernelW: Int,
        strideH: Int, strideW: Int, padH: Int, padW: Int
    ) {
        checkPoolArguments("averagePool", planes: planes, height: height, width: width,
                           kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW,
                           padH: padH, padW: padW)
        let outHeight = averagePoolOutputSize(size: height, kernel: kernelH, stride: strideH, pad: padH)
        let outWidth = averagePoolOutputSize(size: width, kernel: kernelW, stride: strideW, pad: padW)
        guard planes > 0, outHeight > 0, outWidth > 0 else { return }
        let windows = UnsafeMutablePointer<Int>.allocate(capacity: 2 * (outHeight + outWidth))
        defer { windows.deallocate() }
        let rowStart = windows, rowEnd = windows + outHeight
        let colStart = windows + 2 * outHeight, colEnd = colStart + outWidth
        fillPoolWindows(start: rowStart, end: rowEnd, count: outHeight, size: height,
                        kernel: kernelH, stride: strideH, pad: padH)
        fillPoolWindows(start: colStart, end: colEnd, count: outWidth, size: width,
                        kernel: kernelW, stride: strideW, pad: padW)
        // With ceil_mode=False every window lies inside the padded image, so PyTorch's
        // count_include_pad divisor is always the full window area.
        let divisor = Float(kernelH * kernelW)
        let inPlane = height * width
        let outPlane = outHeight * outWidth
        forEachPlaneBlock(planes: planes, elementsPerPlane: max(inPlane, outPlane)) { block in
            for plane in block {
                let source = input + plane * inPlane
                let destination = output + plane * outPlane
                for oy in 0..<outHeight {
                    let y0 = rowStart[oy], y1 = rowEnd[oy]
                    let outRow = destination + oy * outWidth
                    for ox in 0..<outWidth {
                        let x0 = colStart[ox], x1 = colEnd[ox]
                        var sum: Float = 0
                        var y = y0
                        while y < y1 {
                            let row = source + y * width
                            var x = x0
                            while x < x1 {
                                sum += row[x]
                                x += 1
                            }
                            y += 1
                        }
                        outRow[ox] = sum / divisor
                    }
                }
            }
        }
    }

    /// Adjoint of
    /// ``averagePool(_:_:planes:height:width:kernelH:kernelW:strideH:strideW:padH:padW:)``:
    /// every `gradOutput` value divided by `kernelH*kernelW` is added to each in-image pixel of
    /// its window.
    ///
    /// - Parameters:
    ///   - gradOutput: `planes × outHeight × outWidth` values, with the output size of the
    ///     forward call.
    ///   - gradInput: `planes × height × width` values, fully overwritten.
    ///   - planes: N*C.
    ///   - height: Forward input plane height.
    ///   - width: Forward input plane width.
    ///   - kernelH: Window height (≥ 1).
    ///   - kernelW: Window width (≥ 1).
    ///   - strideH: Vertical step (≥ 1).
    ///   - strideW: Horizontal step (≥ 1).
    ///   - padH: Implicit zero padding at top and bottom (≥ 0).
    ///   - padW: Implicit zero padding at left and right (≥ 0).
    static func averagePoolAdjoint(
        _ gradOutput: UnsafePointer<Float>, _ gradInput: UnsafeMutablePointer<Float>,
        planes: Int, height: Int, width: Int, kernelH: Int, kernelW: Int,
        strideH: Int, strideW: Int, padH: Int, padW: Int
    ) {
        checkPoolArguments("averagePoolAdjoint", planes: planes, height: height, width: width,
                           kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW,
                           padH: padH, padW: padW)
        let inPlane = height * width
        guard planes > 0, inPlane > 0 else { return }
        let outHeight = averagePoolOutputSize(size: height, kernel: kernelH, stride: strideH, pad: padH)
        let outWidth = averagePoolOutputSize(size: width, kernel: kernelW, stride: strideW, pad: padW)
        let outPlane = outHeight * outWidth
        guard outPlane > 0 else {
            gradInput.update(repeating: 0, count: planes * inPlane)
            return
        }
        let windows = UnsafeMutablePointer<Int>.allocate(capacity: 2 * (outHeight + outWidth))
        defer { windows.deallocate() }
        let rowStart = windows, rowEnd = windows + outHeight
        let colStart = windows + 2 * outHeight, colEnd = colStart + outWidth
        fillPoolWindows(start: rowStart, end: rowEnd, count: outHeight, size: height,
                        kernel: kernelH, stride: strideH, pad: padH)
        fillPoolWindows(start: colStart, end: colEnd, count: outWidth, size: width,
                        kernel: kernelW, stride: strideW, pad: padW)
        let divisor = Float(kernelH * kernelW)
        forEachPlaneBlock(planes: planes, elementsPerPlane: max(inPlane, outPlane)) { block in
            for plane in block {
                let source = gradOutput + plane * outPlane
                let destination = gradInput + plane * inPlane
                destination.update(repeating: 0, count: inPlane)
                for oy in 0..<outHeight {
                    let y0 = rowStart[oy], y1 = rowEnd[oy]
                    let gradRow = source + oy * outWidth
                    for ox in 0..<outWidth {
                        let x0 = colStart[ox], x1 = colEnd[ox]
                        let share = gradRow[ox] / divisor
                        var y = y0
                        while y < y1 {
                            let row = destination + y * width
                            var x = x0
                            while x < x1 {
                                row[x] += share
                                x += 1
                            }
                            y += 1
                        }
                    }
                }
            }
        }
    }

    // MARK: - upfirdn2d

    /// The scalar parameters of an ``upfirdn2d(_:_:planes:height:width:filter:filterHeight:filterWidth:upY:upX:downY:downX:padX0:padX1:padY0:padY1:flipFilter:gain:)``
    /// call, as returned by
    /// ``upfirdn2dGradientParameters(height:width:filterHeight:filterWidth:upY:upX:downY:downX:padX0:padX1:padY0:padY1:flipFilter:gain:)``.
    struct UpFirDn2DParameters: Equatable, Sendable {
        /// Vertical zero-insertion upsampling factor (≥ 1).
        var upY: Int
        /// Horizontal zero-insertion upsampling factor (≥ 1).
        var upX: Int
        /// Vertical decimation factor (≥ 1).
        var downY: Int
        /// Horizontal decimation factor (≥ 1).
        var downX: Int
        /// Left padding of the upsampled image (negative crops).
        var padX0: Int
        /// Right padding of the upsampled image (negative crops).
        var padX1: Int
        /// Top padding of the upsampled image (negative crops).
        var padY0: Int
        /// Bottom padding of the upsampled image (negative crops).
        var padY1: Int
        /// `true` = cross-correlation with the filter as given, `false` = true convolution.
        var flipFilter: Bool
        /// Factor applied to the filter.
        var gain: Float
    }

    /// Output plane size of ``upfirdn2d(_:_:planes:height:width:filter:filterHeight:filterWidth:upY:upX:downY:downX:padX0:padX1:padY0:padY1:flipFilter:gain:)``:
    /// `out = (in*up + pad0 + pad1 - filter) / down + 1` per axis, i.e.
    /// `ceil((in*up + pad0 + pad1 - filter + 1) / down)`; 0 when the padded upsampled image is
    /// smaller than the filter (a case the kernel itself rejects, as StyleGAN2's reference does).
    ///
    /// - Parameters:
    ///   - height: Input plane height.
    ///   - width: Input plane width.
    ///   - filterHeight: Filter rows.
    ///   - filterWidth: Filter columns.
    ///   - upY: Vertical upsampling factor.
    ///   - upX: Horizontal upsampling factor.
    ///   - downY: Vertical downsampling factor.
    ///   - downX: Horizontal downsampling factor.
    ///   - padX0: Left padding (negative crops).
    ///   - padX1: Right padding (negative crops).
    ///   - padY0: Top padding (negative crops).
    ///   - padY1: Bottom padding (negative crops).
    /// - Returns: The output plane height and width.
    static func upfirdn2dOutputSize(
        height: Int, width: Int, filterHeight: Int, filterWidth: Int,
        upY: Int, upX: Int, downY: Int, downX: Int,
        padX0: Int, padX1: Int, padY0: Int, padY1: Int
    ) -> (height: Int, width: Int) {
        precondition(upY >= 1 && upX >= 1 && downY >= 1 && downX >= 1,
                     "upfirdn2dOutputSize: up/down factors must be >= 1")
        let spanY = height * upY + padY0 + padY1 - filterHeight
        let spanX = width * upX + padX0 + padX1 - filterWidth
        return (spanY < 0 ? 0 : spanY / downY + 1, spanX < 0 ? 0 : spanX / downX + 1)
    }

    /// Convenience overload of
    /// ``upfirdn2dOutputSize(height:width:filterHeight:filterWidth:upY:upX:downY:downX:padX0:padX1:padY0:padY1:)``
    /// taking a parameter bundle.
    ///
    /// - Parameters:
    ///   - height: Input plane height.
    ///   - width: Input plane width.
    ///   - filterHeight: Filter rows.
    ///   - filterWidth: Filter columns.
    ///   - parameters: Up/down factors and pads.
    /// - Returns: The output plane height and width.
    static func upfirdn2dOutputSize(
        height: Int, width: Int, filterHeight: Int, filterWidth: Int,
        parameters p: UpFirDn2DParameters
    ) -> (height: Int, width: Int) {
        upfirdn2dOutputSize(height: height, width: width, filterHeight: filterHeight,
                            filterWidth: filterWidth, upY: p.upY, upX: p.upX, downY: p.downY,
                            downX: p.downX, padX0: p.padX0, padX1: p.padX1, padY0: p.padY0,
                            padY1: p.padY1)
    }

    /// Parameters of the upfirdn2d call that computes the adjoint (gradient with respect to the
    /// input) of a forward upfirdn2d call, exactly as StyleGAN2-ADA's `_upfirdn2d_cuda.backward`:
    /// same filter and gain, `up' = down`, `down' = up`, `flip' = !flip`, and pads
    /// `[fw - padX0 - 1, inW*upX - outW*downX + padX0 - upX + 1,
    ///   fh - padY0 - 1, inH*upY - outH*downY + padY0 - upY + 1]`,
    /// where `in`/`out` are the forward input/output plane sizes. Applied to a `gradOutput` of
    /// the forward output size it yields exactly `height × width`.
    ///
    /// - Parameters:
    ///   - height: Forward input plane height.
    ///   - width: Forward input plane width.
    ///   - filterHeight: Filter rows.
    ///   - filterWidth: Filter columns.
    ///   - upY: Forward vertical upsampling factor.
    ///   - upX: Forward horizontal upsampling factor.
    ///   - downY: Forward vertical downsampling factor.
    ///   - downX: Forward horizontal downsampling factor.
    ///   - padX0: Forward left padding.
    ///   - padX1: Forward right padding.
    ///   - padY0: Forward top padding.
    ///   - padY1: Forward bottom padding.
    ///   - flipFilter: Forward flip flag.
    ///   - gain: Forward gain.
    /// - Returns: The adjoint call's parameters (apply them to `gradOutput` with the same filter).
    static func upfirdn2dGradientParameters(
        height: Int, width: Int, filterHeight: Int, filterWidth: Int,
        upY: Int, upX: Int, downY: Int, downX: Int,
        padX0: Int, padX1: Int, padY0: Int, padY1: Int,
        flipFilter: Bool, gain: Float
    ) -> UpFirDn2DParameters {
        let out = upfirdn2dOutputSize(height: height, width: width, filterHeight: filterHeight,
                                      filterWidth: filterWidth, upY: upY, upX: upX, downY: downY,
                                      downX: downX, padX0: padX0, padX1: padX1, padY0: padY0,
                                      padY1: padY1)
        return UpFirDn2DParameters(
            upY: downY, upX: downX, downY: upY, downX: upX,
            padX0: filterWidth - padX0 - 1,
            padX1: width * upX - out.width * downX + padX0 - upX + 1,
            padY0: filterHeight - padY0 - 1,
            padY1: height * upY - out.height * downY + padY0 - upY + 1,
            flipFilter: !flipFilter, gain: gain)
    }

    /// Convenience overload of
    /// ``upfirdn2dGradientParameters(height:width:filterHeight:filterWidth:upY:upX:downY:downX:padX0:padX1:padY0:padY1:flipFilter:gain:)``
    /// taking the forward call's parameter bundle.
    ///
    /// - Parameters:
    ///   - height: Forward input plane height.
    ///   - width: Forward input plane width.
    ///   - filterHeight: Filter rows.
    ///   - filterWidth: Filter columns.
    ///   - parameters: Forward call parameters.
    /// - Returns: The adjoint call's parameters.
    static func upfirdn2dGradientParameters(
        height: Int, width: Int, filterHeight: Int, filterWidth: Int,
        parameters p: UpFirDn2DParameters
    ) -> UpFirDn2DParameters {
        upfirdn2dGradientParameters(height: height, width: width, filterHeight: filterHeight,
                                    filterWidth: filterWidth, upY: p.upY, upX: p.upX,
                                    downY: p.downY, downX: p.downX, padX0: p.padX0,
                                    padX1: p.padX1, padY0: p.padY0, padY1: p.padY1,
                                    flipFilter: p.flipFilter, gain: p.gain)
    }

    /// Polyphase tap table for one axis of upfirdn2d. For output index `o` the non-zero taps are
    /// `t = 0..<count[o]`, reading input sample `firstInput[o] + t` with effective (already
    /// flipped) filter index `j = j0 + t*up`. Because consecutive taps share the phase `j % up`,
    /// the effective filter is stored *phase-packed* along this axis (see
    /// ``packedIndex(_:filterSize:up:)``), which turns the taps of one output into a contiguous
    /// run starting at `firstTap[o]`. Owns its storage; call ``deallocate()``.
    private struct PolyphaseTaps {
        /// First real input sample hit by output `o`.
        let firstInput: UnsafeMutablePointer<Int>
        /// Phase-packed effective-filter index of the first tap of output `o`.
        let firstTap: UnsafeMutablePointer<Int>
        /// Number of taps of output `o` that land on real (non-inserted-zero) samples.
        let count: UnsafeMutablePointer<Int>

        /// Builds the table. Output `o` correlates the padded upsampled signal at positions
        /// `o*down + j`, `j ∈ [0, filterSize)`; padded position `q` is upsampled position
        /// `u = q - pad0`, a real sample `u/up` iff `0 ≤ u < inSize*up` and `u % up == 0`.
        ///
        /// - Parameters:
        ///   - inSize: Input extent.
        ///   - outSize: Output extent.
        ///   - filterSize: Filter extent.
        ///   - up: Upsampling factor.
        ///   - down: Downsampling factor.
        ///   - pad0: Leading pad (negative crops).
        init(inSize: Int, outSize: Int, filterSize: Int, up: Int, down: Int, pad0: Int) {
            firstInput = .allocate(capacity: outSize)
            firstTap = .allocate(capacity: outSize)
            count = .allocate(capacity: outSize)
            let upsampledSize = inSize * up
            for o in 0..<outSize {
                let base = o * down - pad0  // upsampled position under filter tap 0
                var start = max(0, -base)
                let remainder = (base + start) % up  // base + start >= 0
                if remainder != 0 { start += up - remainder }
                let end = min(filterSize, upsampledSize - base)
                let taps = start < end ? (end - start + up - 1) / up : 0
                count[o] = taps
                firstTap[o] = taps > 0 ? Self.packedIndex(start, filterSize: filterSize, up: up) : 0
                firstInput[o] = taps > 0 ? (base + start) / up : 0
            }
        }

        /// Position of filter index `j` in the phase-packed layout: indices are grouped by phase
        /// `j % up` (phase 0 first), in increasing order within a phase. E.g. for 4 taps and
        /// `up = 2` the order is `[0, 2, 1, 3]`, so `packedIndex(1) == 2`.
        ///
        /// - Parameters:
        ///   - j: Filter index in `0..<filterSize`.
        ///   - filterSize: Filter extent along this axis.
        ///   - up: Upsampling factor (the number of phases).
        /// - Returns: The packed position of `j`.
        static func packedIndex(_ j: Int, filterSize: Int, up: Int) -> Int {
            var position = j / up
            for phase in 0..<(j % up) {
                position += (filterSize - phase + up - 1) / up  // taps in the earlier phase
            }
            return position
        }

        /// Frees the tables.
        func deallocate() {
            firstInput.deallocate()
            firstTap.deallocate()
            count.deallocate()
        }
    }

    /// StyleGAN2(-ADA) `upfirdn2d` with `_upfirdn2d_ref` semantics, for a non-separable 2-D
    /// filter: (a) upsample by inserting `up - 1` zeros after every sample (input `i` lands at
    /// `i*up`; the upsampled extent is `in*up`), (b) pad with `max(pad, 0)` zeros and crop
    /// `max(-pad, 0)` samples on each side, (c) cross-correlate ("valid") with the filter
    /// multiplied by `gain` (`gain ** (f.ndim / 2)` with `f.ndim == 2`), flipped in both axes
    /// first unless `flipFilter` (so `flipFilter == false` is a true convolution), (d) keep every
    /// `down`-th sample starting at 0.
    ///
    /// Implemented polyphase: the zero-inserted image is never materialised and only the filter
    /// taps that land on real input samples are visited. Output size: see
    /// ``upfirdn2dOutputSize(height:width:filterHeight:filterWidth:upY:upX:downY:downX:padX0:padX1:padY0:padY1:)``.
    ///
    /// - Parameters:
    ///   - input: `planes × height × width` values.
    ///   - output: `planes × outHeight × outWidth` values, fully overwritten.
    ///   - planes: N*C.
    ///   - height: Input plane height.
    ///   - width: Input plane width.
    ///   - filter: `filterHeight × filterWidth` row-major filter taps.
    ///   - filterHeight: Filter rows (≥ 1).
    ///   - filterWidth: Filter columns (≥ 1).
    ///   - upY: Vertical upsampling factor (≥ 1).
    ///   - upX: Horizontal upsampling factor (≥ 1).
    ///   - downY: Vertical downsampling factor (≥ 1).
    ///   - downX: Horizontal downsampling factor (≥ 1).
    ///   - padX0: Left padding (negative crops).
    ///   - padX1: Right padding (negative crops).
    ///   - padY0: Top padding (negative crops).
    ///   - padY1: Bottom padding (negative crops).
    ///   - flipFilter: `false` = convolution (StyleGAN default), `true` = correlation.
    ///   - gain: Factor applied to the filter.
    static func upfirdn2d(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        planes: Int, height: Int, width: Int,
        filter: UnsafePointer<Float>, filterHeight: Int, filterWidth: Int,
        upY: Int, upX: Int, downY: Int, downX: Int,
        padX0: Int, padX1: Int, padY0: Int, padY1: Int,
        flipFilter: Bool, gain: Float
    ) {
        precondition(planes >= 0 && height >= 0 && width >= 0, "upfirdn2d: negative size")
        precondition(filterHeight >= 1 && filterWidth >= 1, "upfirdn2d: empty filter")
        precondition(height * upY + padY0 + padY1 >= filterHeight
                     && width * upX + padX0 + padX1 >= filterWidth,
                     "upfirdn2d: padded upsampled image is smaller than the filter")
        let outSize = upfirdn2dOutputSize(height: height, width: width, filterHeight: filterHeight,
                                          filterWidth: filterWidth, upY: upY, upX: upX,
                                          downY: downY, downX: downX, padX0: padX0, padX1: padX1,
                                          padY0: padY0, padY1: padY1)
        let outHeight = outSize.height, outWidth = outSize.width
        let inPlane = height * width
        let outPlane = outHeight * outWidth
        guard planes > 0, outPlane > 0 else { return }

        // Effective correlation filter: gain applied, flipped unless flipFilter, and stored
        // phase-packed along both axes so each output's taps form a contiguous block.
        let filterCount = filterHeight * filterWidth
        let taps = UnsafeMutablePointer<Float>.allocate(capacity: filterCount)
        defer { taps.deallocate() }
        for i in 0..<filterHeight {
            let packedRow = PolyphaseTaps.packedIndex(i, filterSize: filterHeight, up: upY)
            for j in 0..<filterWidth {
                let packedColumn = PolyphaseTaps.packedIndex(j, filterSize: filterWidth, up: upX)
                let index = i * filterWidth + j
                taps[packedRow * filterWidth + packedColumn] =
                    gain * filter[flipFilter ? index : filterCount - 1 - index]
            }
        }
        let rows = PolyphaseTaps(inSize: height, outSize: outHeight, filterSize: filterHeight,
                                 up: upY, down: downY, pad0: padY0)
        let columns = PolyphaseTaps(inSize: width, outSize: outWidth, filterSize: filterWidth,
                                    up: upX, down: downX, pad0: padX0)
        defer {
            rows.deallocate()
            columns.deallocate()
        }
        forEachPlaneBlock(planes: planes, elementsPerPlane: max(inPlane, outPlane)) { block in
            for plane in block {
                let source = input + plane * inPlane
                let destination = output + plane * outPlane
                for oy in 0..<outHeight {
                    let outRow = destination + oy * outWidth
                    let rowTaps = rows.count[oy]
                    if rowTaps == 0 {
                        outRow.update(repeating: 0, count: outWidth)
                        continue
                    }
                    let firstRow = source + rows.firstInput[oy] * width
                    let firstTapRow = taps + rows.firstTap[oy] * filterWidth
                    for ox in 0..<outWidth {
                        let columnTaps = columns.count[ox]
                        let inColumn = firstRow + columns.firstInput[ox]
                        let tapColumn = firstTapRow + columns.firstTap[ox]
                        var sum: Float = 0
                        for ty in 0..<rowTaps {
                            let inPixels = inColumn + ty * width
                            let tapPixels = tapColumn + ty * filterWidth
                            for tx in 0..<columnTaps { sum += inPixels[tx] * tapPixels[tx] }
                        }
                        outRow[ox] = sum
                    }
                }
            }
        }
    }

    /// Convenience overload of ``upfirdn2d(_:_:planes:height:width:filter:filterHeight:filterWidth:upY:upX:downY:downX:padX0:padX1:padY0:padY1:flipFilter:gain:)``
    /// taking a parameter bundle (e.g. the result of
    /// ``upfirdn2dGradientParameters(height:width:filterHeight:filterWidth:parameters:)``).
    ///
    /// - Parameters:
    ///   - input: `planes × height × width` values.
    ///   - output: Output planes of
    ///     ``upfirdn2dOutputSize(height:width:filterHeight:filterWidth:parameters:)``, fully
    ///     overwritten.
    ///   - planes: N*C.
    ///   - height: Input plane height.
    ///   - width: Input plane width.
    ///   - filter: `filterHeight × filterWidth` row-major filter taps.
    ///   - filterHeight: Filter rows.
    ///   - filterWidth: Filter columns.
    ///   - parameters: Up/down factors, pads, flip flag and gain.
    static func upfirdn2d(
        _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
        planes: Int, height: Int, width: Int,
        filter: UnsafePointer<Float>, filterHeight: Int, filterWidth: Int,
        parameters p: UpFirDn2DParameters
    ) {
        upfirdn2d(input, output, planes: planes, height: height, width: width,
                  filter: filter, filterHeight: filterHeight, filterWidth: filterWidth,
                  upY: p.upY, upX: p.upX, downY: p.downY, downX: p.downX,
                  padX0: p.padX0, padX1: p.padX1, padY0: p.padY0, padY1: p.padY1,
                  flipFilter: p.flipFilter, gain: p.gain)
    }
}
