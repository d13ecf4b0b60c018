import CConvolutionKernels

/// A forward 3×3 convolution with stride 2 and padding 1, computed by a direct AVX2 kernel of
/// gfp's own (CConvolutionKernels' `gfp_stride2_forward`) instead of oneDNN's.
///
/// On AVX2-only CPUs oneDNN 2.6's direct kernel ran the stride-2 layers of the stego decoder
/// (8 × 8 and 4 × 4 outputs at batch 256) at 55–85 GFLOP/s, where `dnnl_sgemm` runs at 130–165:
/// these layers took about 40 % of a decode once the stride-1 layers ran Winograd. The own kernel
/// copies one image at a time into a zero-bordered buffer and keeps 6 output positions × 16
/// output channels in registers. A `DNNL` forward plan takes this path when the convolution is
/// 3×3, stride 2, padding 1 on every side, dense and ungrouped, oneDNN chose nChw8c for its output
/// (output channels a multiple of 8; the AVX2 layout) and nChw8c or row-major for its input (the
/// latter for inputs of few channels, such as a decoder's RGB image), and the CPU has AVX2 and
/// FMA. Bias and (leaky) ReLU are applied as the output is written. `GFP_WINOGRAD=0` turns it
/// off with the other own kernels.
struct Stride2Convolution {
    let batch: Int
    let inputChannels: Int
    let height: Int
    let width: Int
    let outputChannels: Int
    /// Whether the input is nChw8c (otherwise row-major NCHW).
    let inputIsBlocked: Bool
    /// The fused (leaky) ReLU's negative slope, or nil for none.
    let activationSlope: Float?

    /// How benchmarks and plan summaries name this kernel.
    static let kernelName = "gfp:direct_3x3_stride2:avx2"

    init?(input: [Int], weight: [Int], output: [Int], geometry: ConvolutionGeometry, activationSlope: Float?,
          readLayout: BlockedLayout?, writtenLayout: BlockedLayout?) {
        guard WinogradConvolution.isEnabled, input.count == 4, weight.count == 4, output.count == 4,
              weight[2] == 3, weight[3] == 3, weight[1] == input[1],
              geometry == ConvolutionGeometry(strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1),
              output[2] == (input[2] - 1) / 2 + 1, output[3] == (input[3] - 1) / 2 + 1,
              output[1] % 8 == 0, writtenLayout?.standardChannelBlock == 8 else { return nil }
        if let readLayout {
            guard readLayout.standardChannelBlock == 8, input[1] % 8 == 0 else { return nil }
        }
        if let activationSlope, !(0...1).contains(activationSlope) { return nil }
        (batch, inputChannels, height, width) = (input[0], input[1], input[2], input[3])
        outputChannels = output[1]
        inputIsBlocked = readLayout != nil
        self.activationSlope = activationSlope
    }

    /// Work units: one image's 16 output channels each.
    private var units: Int { batch * ((outputChannels + 15) / 16) }

    /// The packed weights' floats, rounded up to whole cache lines (the workers' buffers follow).
    private var weightFloats: Int { (gfp_stride2_weight_floats(Int32(outputChannels), Int32(inputChannels)) + 15) / 16 * 16 }
    private var workerScratchFloats: Int {
        // Rounded up to whole cache lines so that every worker's buffer stays 64-byte aligned.
        (gfp_stride2_scratch_floats(Int32(inputChannels), Int32(height), Int32(width)) + 15) / 16 * 16
    }

    /// The threads that share the units.
    private var workers: Int { max(1, min(engineThreadCount, units)) }

    /// Bytes of scratch memory `run` needs: the packed weights and one padded image per worker.
    var scratchBytes: Int { (weightFloats + workers * workerScratchFloats) * MemoryLayout<Float>.size }

    /// Computes the convolution of `input` (nChw8c, or row-major when `inputIsBlocked` is false)
    /// with row-major OIHW `weight`, plus `bias`, into `output` (nChw8c). `scratch` holds
    /// `scratchBytes`, 64-byte aligned.
    func run(input: UnsafeRawPointer, weight: UnsafeRawPointer, bias: UnsafeRawPointer?,
             output: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer) {
        let floats = scratch.assumingMemoryBound(to: Float.self)
        gfp_stride2_pack_weights(weight.assumingMemoryBound(to: Float.self), Int32(outputChannels),
                                 Int32(inputChannels), floats)
        let (units, workers, perWorker) = (units, workers, workerScratchFloats)
        let share = (units + workers - 1) / workers
        let workerScratch = floats + weightFloats
        let x = input.assumingMemoryBound(to: Float.self), y = output.assumingMemoryBound(to: Float.self)
        let b = bias?.assumingMemoryBound(to: Float.self)
        parallelFor(workers) { worker in
            let begin = worker * share, end = min(units, begin + share)
            guard begin < end else { return }
            gfp_stride2_forward(x, Int32(inputChannels), Int32(height), Int32(width), inputIsBlocked ? 1 : 0, floats,
                                Int32(outputChannels), b, activationSlope == nil ? 0 : 1, activationSlope ?? 0, y,
                                begin, end, workerScratch + worker * perWorker)
        }
    }
}
