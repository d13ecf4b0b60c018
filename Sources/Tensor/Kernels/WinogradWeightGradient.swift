import CConvolutionKernels

/// The weight gradient of a 3×3 convolution computed by Winograd's F(3×3, 4×4), the transpose of
/// the forward pass's F(4×4, 3×3) (CConvolutionKernels' `WinogradWeightGradient.c`), instead of
/// oneDNN's direct kernel.
///
/// On AVX2-only CPUs oneDNN 2.6 runs every 3×3 weight gradient directly; in a training step of
/// the 64-channel 32×32 GAN the one of the 32×32 layers alone took 30 % of oneDNN's time once the
/// forward and input-gradient passes ran Winograd. Per 4×4 output tile the kernel transforms the
/// 6×6 input patch (as the forward pass does) and the 4×4 output-gradient patch into the
/// Winograd domain, sums their products per channel pair over all tiles (36 multiply-adds per
/// tile instead of 144) and transforms the sum once. A `DNNL` backward-weights plan takes this
/// path for the same convolutions as `WinogradConvolution` (3×3, stride 1, padding 1, dense and
/// ungrouped, channels multiples of 8, nChw8c activations, oneDNN not on Winograd itself). The
/// values agree with the direct kernel's to about 1e-5 of the gradient's largest magnitude.
/// `GFP_WINOGRAD=0` turns it off with the other own kernels.
struct WinogradWeightGradient {
    let batch: Int
    let inputChannels: Int
    let outputChannels: Int
    let height: Int
    let width: Int

    /// How benchmarks and plan summaries name this kernel.
    static let kernelName = "gfp:winograd_f3x3_4x4_weights:avx2"

    /// The path for the weight gradient of the convolution of `input` [N, C, H, W] with weights
    /// of shape `weight` [O, C, 3, 3], or nil when it does not apply. `inputLayout` and
    /// `gradientLayout` are the layouts oneDNN chose for x and the output gradient.
    init?(input: [Int], weight: [Int], geometry: ConvolutionGeometry, inputLayout: BlockedLayout?,
          gradientLayout: BlockedLayout?, implementation: String) {
        guard WinogradConvolution.applies(input: input, weight: weight, geometry: geometry,
                                          layouts: [inputLayout, gradientLayout], implementation: implementation)
        else { return nil }
        (batch, inputChannels, height, width) = (input[0], input[1], input[2], input[3])
        outputChannels = weight[0]
    }

    /// Output tiles (4×4 each) of the whole batch.
    private var tiles: Int { batch * ((height + 3) / 4) * ((width + 3) / 4) }

    private var accumulatorFloats: Int {
        gfp_winograd_f4_weight_gradient_accumulator_floats(Int32(outputChannels), Int32(inputChannels))
    }
    private var workerScratchFloats: Int {
        gfp_winograd_f4_weight_gradient_scratch_floats(Int32(outputChannels), Int32(inputChannels))
    }

    /// The threads that share the tiles: at most one per 64 tiles, since each worker's
    /// accumulator (36 × C × O floats) is cleared and summed whatever its share.
    private var workers: Int { max(1, min(engineThreadCount, tiles / 64)) }

    /// Bytes of scratch memory `run` needs: each worker's accumulator and block buffers.
    var scratchBytes: Int { workers * (accumulatorFloats + workerScratchFloats) * MemoryLayout<Float>.size }

    /// Writes the gradient with respect to the OIHW weights into `weightGradient` (row-major
    /// [O, C, 3, 3], overwritten) from `input` (x) and `outputGradient`, both nChw8c. `scratch`
    /// holds `scratchBytes`, 64-byte aligned.
    func run(input: UnsafeRawPointer, outputGradient: UnsafeRawPointer, weightGradient: UnsafeMutablePointer<Float>,
             scratch: UnsafeMutableRawPointer) {
        let floats = scratch.assumingMemoryBound(to: Float.self)
        let (tiles, workers, accumulatorFloats) = (tiles, workers, accumulatorFloats)
        let share = (tiles + workers - 1) / workers
        let x = input.assumingMemoryBound(to: Float.self), gy = outputGradient.assumingMemoryBound(to: Float.self)
        let blocks = floats + workers * accumulatorFloats
        parallelFor(workers) { worker in
            let begin = worker * share, end = min(tiles, begin + share)
            let accumulator = floats + worker * accumulatorFloats
            // An empty range still clears its accumulator, which the sum below reads.
            gfp_winograd_f4_weight_gradient_accumulate(x, gy, Int32(inputChannels), Int32(height), Int32(width),
                                                       Int32(outputChannels), begin, max(begin, end), accumulator,
                                                       blocks + worker * workerScratchFloats)
        }
        parallelRanges(inputChannels, grain: 8) { range in
            gfp_winograd_f4_weight_gradient_finish(floats, Int32(workers), accumulatorFloats, Int32(outputChannels),
                                                   Int32(inputChannels), Int32(range.lowerBound),
                                                   Int32(range.upperBound), weightGradient)
        }
    }
}
