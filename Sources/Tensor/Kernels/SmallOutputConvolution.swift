/// A forward convolution whose output has at most four positions per image, computed as one
/// matrix product (`dnnl_sgemm`) of the gathered input windows with the weights, instead of
/// oneDNN's direct kernel.
///
/// The direct kernels parallelise and vectorise over output positions; with 2 × 2 or 1 × 1
/// outputs (the last layers of the stego decoder) they ran at 40–80 GFLOP/s on an AVX2 CPU,
/// against 130–150 for `dnnl_sgemm`. Here all images' windows form one tall matrix, and the
/// taps that read only padding for every output position (5 of 9 for a 3 × 3, stride-2 layer
/// on a 2 × 2 input) are left out. A `DNNL` forward plan takes this path when the convolution is
/// dense and ungrouped, its output has at most four positions, and oneDNN chose the channel-
/// blocked layout nChw8c for both activations with channels that fill whole blocks (the AVX2
/// layout; the path was measured there only). Bias and (leaky) ReLU are applied as the output
/// is written.
struct SmallOutputConvolution {
    let batch: Int
    let inputChannels: Int
    let height: Int
    let width: Int
    let outputChannels: Int
    let outputHeight: Int
    let outputWidth: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let geometry: ConvolutionGeometry
    /// The fused (leaky) ReLU's negative slope, or nil for none.
    let activationSlope: Float?
    /// The kernel taps (ky, kx) that read inside the input for at least one output position.
    let taps: [(y: Int, x: Int)]

    /// How benchmarks and plan summaries name this kernel.
    static let kernelName = "gfp:small_output_gemm"

    /// The most output positions per image this path takes.
    static let maximumOutputPositions = 4

    private static let block = 8

    init?(input: [Int], weight: [Int], output: [Int], geometry: ConvolutionGeometry, activationSlope: Float?,
          readLayout: BlockedLayout?, writtenLayout: BlockedLayout?) {
        let block = Self.block
        guard input.count == 4, weight.count == 4, output.count == 4, geometry.groups == 1,
              geometry.dilationH == 1, geometry.dilationW == 1, output[2] * output[3] <= Self.maximumOutputPositions,
              input[1] % block == 0, output[1] % block == 0,
              readLayout?.standardChannelBlock == block, writtenLayout?.standardChannelBlock == block else { return nil }
        if let activationSlope, !(0...1).contains(activationSlope) { return nil }
        (batch, inputChannels, height, width) = (input[0], input[1], input[2], input[3])
        (outputChannels, outputHeight, outputWidth) = (output[1], output[2], output[3])
        (kernelHeight, kernelWidth) = (weight[2], weight[3])
        self.geometry = geometry
        self.activationSlope = activationSlope
        var taps: [(y: Int, x: Int)] = []
        for ky in 0..<weight[2] {
            for kx in 0..<weight[3] {
                let rows = (0..<output[2]).contains { oy in (0..<input[2]).contains(oy * geometry.strideH - geometry.padTop + ky) }
                let columns = (0..<output[3]).contains { ox in (0..<input[3]).contains(ox * geometry.strideW - geometry.padLeft + kx) }
                if rows && columns { taps.append((ky, kx)) }
            }
        }
        guard !taps.isEmpty else { return nil }
        self.taps = taps
    }

    /// Rows of the product: one per output position.
    private var rows: Int { batch * outputHeight * outputWidth }
    /// Columns of the gathered windows: the used taps times the input channels.
    private var depth: Int { taps.count * inputChannels }

    /// Bytes of scratch memory `run` needs: windows, packed weights and products.
    var scratchBytes: Int { (rows * depth + outputChannels * depth + rows * outputChannels) * MemoryLayout<Float>.size }

    /// Computes the convolution of `input` (nChw8c) with row-major OIHW `weight`, plus `bias`,
    /// into `output` (nChw8c). `scratch` holds `scratchBytes`.
    func run(input: UnsafeRawPointer, weight: UnsafeRawPointer, bias: UnsafeRawPointer?,
             output: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer) {
        let block = Self.block
        let (rows, depth, c, o) = (rows, depth, inputChannels, outputChannels)
        let windows = scratch.assumingMemoryBound(to: Float.self)
        let packed = windows + rows * depth, products = packed + outputChannels * depth
        let x = input.assumingMemoryBound(to: Float.self), w = weight.assumingMemoryBound(to: Float.self)
        // packed[o][t·C + c] = w[o][c][ky_t][kx_t]
        for oc in 0..<o {
            for (t, tap) in taps.enumerated() {
                for ic in 0..<c {
                    packed[oc * depth + t * c + ic] = w[((oc * c + ic) * kernelHeight + tap.y) * kernelWidth + tap.x]
                }
            }
        }
        // windows[m][t·C + c] = x[n][c / 8][iy][ix][c % 8], or 0 in the padding; shared by image
        // between the threads (serial, it took about 3 % of a stego decode, the other core waiting).
        let plane = height * width * block
        parallelRanges(batch, grain: 1) { images in
            for n in images {
                for oy in 0..<outputHeight {
                    for ox in 0..<outputWidth {
                        let row = windows + ((n * outputHeight + oy) * outputWidth + ox) * depth
                        for (t, tap) in taps.enumerated() {
                            let iy = oy * geometry.strideH - geometry.padTop + tap.y
                            let ix = ox * geometry.strideW - geometry.padLeft + tap.x
                            let target = row + t * c
                            guard iy >= 0, iy < height, ix >= 0, ix < width else {
                                target.initialize(repeating: 0, count: c)
                                continue
                            }
                            for cb in 0..<c / block {
                                let source = x + (n * (c / block) + cb) * plane + (iy * width + ix) * block
                                (target + cb * block).update(from: source, count: block)
                            }
                        }
                    }
                }
            }
        }
        DNNL.sgemm(transposeA: false, transposeB: true, m: rows, n: o, k: depth, alpha: 1, a: windows, lda: depth,
                   b: packed, ldb: depth, beta: 0, c: products, ldc: o)
        // output[n][o / 8][oy][ox][o % 8] = activation(products[m][o] + bias[o])
        let y = output.assumingMemoryBound(to: Float.self), b = bias?.assumingMemoryBound(to: Float.self)
        let positions = outputHeight * outputWidth, slope = activationSlope
        parallelRanges(batch, grain: 1) { images in
            for n in images {
                for position in 0..<positions {
                    let product = products + (n * positions + position) * o
                    for oc in 0..<o {
                        var value = product[oc] + (b?[oc] ?? 0)
                        if let slope, value < 0 { value *= slope }
                        y[((n * (o / block) + oc / block) * positions + position) * block + oc % block] = value
                    }
                }
            }
        }
    }
}
