#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CConvolutionKernels

/// A 3×3 convolution computed by Winograd's F(4×4, 3×3) algorithm (CConvolutionKernels) instead of
/// oneDNN's primitive, where oneDNN has no Winograd kernel of its own.
///
/// oneDNN 2.6 offers Winograd only on AVX-512 CPUs; on AVX2-only ones every 3×3 convolution runs
/// its direct kernels, which do 4 times the multiplications. A `DNNL` plan takes this path
/// for the forward pass and for the input gradient (itself a 3×3 convolution, of the output
/// gradient with the weights' channel axes swapped and each kernel rotated by 180°) when the
/// convolution is 3×3, stride 1, padding 1, dense and ungrouped, its channels are multiples of
/// 8, oneDNN chose the channel-blocked layout nChw8c for both activations (the AVX2 layout; on
/// AVX-512 CPUs it is nChw16c and oneDNN's own Winograd runs) and did not choose Winograd
/// itself. The values agree with the direct convolution's to about 5e-6 relative (of the
/// output's largest magnitude), the usual accuracy of F(4×4, 3×3) in single precision. The
/// weight gradient of the same convolutions runs `WinogradWeightGradient`.
///
/// `GFP_WINOGRAD=0` in the environment turns the path off (for comparisons).
struct WinogradConvolution {
    /// Which product of the convolution `y = conv(x, w)` this computes.
    enum Pass {
        /// y from x (with bias and activation when the plan has them).
        case forward
        /// The input gradient from the output gradient.
        case backwardData
    }

    let pass: Pass
    let batch: Int
    /// Channels of the activation read (x, or the output gradient).
    let inputChannels: Int
    /// Channels of the activation written (y, or the input gradient).
    let outputChannels: Int
    let height: Int
    let width: Int
    /// The fused (leaky) ReLU's negative slope, or nil for none.
    let activationSlope: Float?

    /// How benchmarks and plan summaries name this kernel.
    static let kernelName = "gfp:winograd_f4x4_3x3:avx2"

    /// Whether this CPU runs the kernels (AVX2 and FMA) and the environment allows them.
    static let isEnabled: Bool = {
        if let value = getenv("GFP_WINOGRAD"), String(cString: value) == "0" { return false }
        return gfp_winograd_available() != 0
    }()

    /// The path for `pass` of the convolution of `input` [N, C, H, W] with `weight` [O, C, 3, 3],
    /// or nil when it does not apply (see the type's comment). The layouts are those oneDNN chose
    /// for the activation read and the one written.
    init?(_ pass: Pass, input: [Int], weight: [Int], geometry: ConvolutionGeometry, activationSlope: Float?,
          readLayout: BlockedLayout?, writtenLayout: BlockedLayout?, implementation: String) {
        guard Self.applies(input: input, weight: weight, geometry: geometry, layouts: [readLayout, writtenLayout],
                           implementation: implementation) else { return nil }
        if let activationSlope, !(0...1).contains(activationSlope) { return nil }
        self.pass = pass
        (batch, height, width) = (input[0], input[2], input[3])
        (inputChannels, outputChannels) = pass == .forward ? (input[1], weight[0]) : (weight[0], input[1])
        self.activationSlope = activationSlope
    }

    /// Whether the own F(4×4) kernels serve the convolution of `input` [N, C, H, W] with
    /// `weight` [O, C, 3, 3] (its passes and its weight gradient, `WinogradWeightGradient`):
    /// AVX2 and FMA, 3×3, stride 1, padding 1, dense and ungrouped, channels multiples of 8, both
    /// activations' `layouts` (as oneDNN chose them) nChw8c, and oneDNN's `implementation` not
    /// Winograd itself.
    static func applies(input: [Int], weight: [Int], geometry: ConvolutionGeometry, layouts: [BlockedLayout?],
                        implementation: String) -> Bool {
        isEnabled && input.count == 4 && weight.count == 4 && weight[2] == 3 && weight[3] == 3
            && geometry == ConvolutionGeometry(stride: 1, padding: 1)
            && input[1] % 8 == 0 && weight[0] % 8 == 0 && weight[1] == input[1]
            && layouts.allSatisfy { $0?.standardChannelBlock == 8 } && !implementation.contains("wino")
    }

    /// Output tiles (4×4 each) of the whole batch.
    private var tiles: Int { batch * ((height + 3) / 4) * ((width + 3) / 4) }

    private var weightFloats: Int { gfp_winograd_f4_weight_floats(Int32(outputChannels), Int32(inputChannels)) }
    private var workerScratchFloats: Int { gfp_winograd_f4_scratch_floats(Int32(outputChannels), Int32(inputChannels)) }

    /// The threads that share the tiles: at most one per block of tiles.
    private var workers: Int {
        let block = Int(gfp_winograd_f4_tiles_per_block(Int32(outputChannels), Int32(inputChannels)))
        return max(1, min(engineThreadCount, (tiles + block - 1) / block))
    }

    /// Bytes of scratch memory `run` needs: the transformed weights and each worker's blocks.
    var scratchBytes: Int { (weightFloats + workers * workerScratchFloats) * MemoryLayout<Float>.size }

    /// Computes the pass from `input` (nChw8c: x, or the output gradient) and the convolution's
    /// row-major OIHW `weight`, plus `bias`, into `output` (nChw8c). `scratch` holds
    /// `scratchBytes`, 64-byte aligned.
    func run(input: UnsafeRawPointer, weight: UnsafeRawPointer, bias: UnsafeRawPointer?,
             output: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer) {
        let floats = scratch.assumingMemoryBound(to: Float.self)
        let transformed = floats, w = weight.assumingMemoryBound(to: Float.self)
        // The weights' transform, shared by block of 16 written channels: serial, it took about
        // 2 % of a stego decode, with the other core waiting.
        parallelRanges((outputChannels + 15) / 16, grain: 1) { range in
            let (begin, end) = (Int32(range.lowerBound), Int32(range.upperBound))
            switch pass {
            case .forward:
                gfp_winograd_f4_transform_weights(w, Int32(outputChannels), Int32(inputChannels), begin, end, transformed)
            case .backwardData:
                gfp_winograd_f4_transform_weights_backward_data(w, Int32(inputChannels), Int32(outputChannels), begin, end,
                                                                transformed)
            }
        }
        let (tiles, workers, perWorker) = (tiles, workers, workerScratchFloats)
        let share = (tiles + workers - 1) / workers
        let x = input.assumingMemoryBound(to: Float.self), y = output.assumingMemoryBound(to: Float.self)
        let b = bias?.assumingMemoryBound(to: Float.self)
        let weightFloats = weightFloats
        parallelFor(workers) { worker in
            let begin = worker * share, end = min(tiles, begin + share)
            guard begin < end else { return }
            gfp_winograd_f4_forward(x, Int32(batch), Int32(inputChannels), Int32(height), Int32(width), transformed,
                                    Int32(outputChannels), b, activationSlope == nil ? 0 : 1, activationSlope ?? 0, y,
                                    begin, end, floats + weightFloats + worker * perWorker)
        }
    }
}
