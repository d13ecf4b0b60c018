import Foundation
import XCTest
@testable import Tensor

/// Tests for ``ResamplingKernels``: every forward kernel against a deliberately literal reference
/// implementation, hard-coded PyTorch values, the adjoint identity `<A x, y> == <x, Aᵀ y>` for
/// every forward/adjoint pair, and parallel-versus-serial agreement.
final class ResamplingKernelTests: XCTestCase {

    // MARK: - Helpers

    /// Deterministic SplitMix64 generator so failures are reproducible.
    struct SplitMix64: RandomNumberGenerator {
        /// Generator state.
        var state: UInt64
        /// Creates a generator from a seed.
        init(seed: UInt64) { state = seed }
        /// Next 64 random bits.
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// `count` uniform values in [-1, 1).
    func randomValues(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1..<1, using: &rng) }
    }

    /// Runs `kernel(input, output)` on a fresh NaN-filled output of `outputCount` elements, so any
    /// element the kernel fails to overwrite shows up as NaN.
    func apply(
        _ input: [Float], outputCount: Int,
        _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> [Float] {
        var output = [Float](repeating: .nan, count: outputCount)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                kernel(source.baseAddress!, destination.baseAddress!)
            }
        }
        return output
    }

    /// Asserts element-wise `|a - b| <= tolerance * max(1, |b|)` and that no NaN is present.
    func assertClose(
        _ actual: [Float], _ expected: [Float], tolerance: Float = 1e-5, _ message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(actual.count, expected.count, "\(message): count", file: file, line: line)
        guard actual.count == expected.count else { return }
        for index in actual.indices {
            let a = actual[index], e = expected[index]
            if !(abs(a - e) <= tolerance * max(1, abs(e))) {
                XCTFail("\(message): element \(index) is \(a), expected \(e)", file: file, line: line)
                return
            }
        }
    }

    /// Double-precision dot product.
    func dot(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var sum = 0.0
        for index in a.indices { sum += Double(a[index]) * Double(b[index]) }
        return sum
    }

    /// Asserts `<A x, y> == <x, Aᵀ y>` within 1e-4 relative.
    func assertAdjoint(
        forward: [Float], y: [Float], x: [Float], adjoint: [Float], _ message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let lhs = dot(forward, y)
        let rhs = dot(x, adjoint)
        let scale = max(abs(lhs), abs(rhs), 1e-12)
        XCTAssertLessThanOrEqual(abs(lhs - rhs) / scale, 1e-4,
                                 "\(message): <Ax,y> = \(lhs), <x,Aᵀy> = \(rhs)",
                                 file: file, line: line)
        XCTAssertGreaterThan(abs(lhs), 1e-3, "\(message): degenerate dot product",
                             file: file, line: line)
    }

    // MARK: - Literal reference implementations

    /// Nearest upsampling straight from the definition.
    func naiveNearest(_ x: [Float], planes: Int, h: Int, w: Int, sH: Int, sW: Int) -> [Float] {
        var out: [Float] = []
        for p in 0..<planes {
            for y in 0..<(h * sH) {
                for xx in 0..<(w * sW) {
                    out.append(x[p * h * w + (y / sH) * w + xx / sW])
                }
            }
        }
        return out
    }

    /// PyTorch `align_corners=False` source coordinate in Double precision.
    func naiveSource(_ dst: Int, inSize: Int, outSize: Int) -> (Int, Int, Double) {
        let scale = Double(inSize) / Double(outSize)
        var source = (Double(dst) + 0.5) * scale - 0.5
        if source < 0 { source = 0 }
        let i0 = Int(source.rounded(.down))
        let i1 = min(i0 + 1, inSize - 1)
        return (i0, i1, source - Double(i0))
    }

    /// Bilinear resize straight from the formula.
    func naiveBilinear(_ x: [Float], planes: Int, ih: Int, iw: Int, oh: Int, ow: Int) -> [Float] {
        var out: [Float] = []
        for p in 0..<planes {
            func at(_ r: Int, _ c: Int) -> Double { Double(x[p * ih * iw + r * iw + c]) }
            for oy in 0..<oh {
                let (y0, y1, ly) = naiveSource(oy, inSize: ih, outSize: oh)
                for ox in 0..<ow {
                    let (x0, x1, lx) = naiveSource(ox, inSize: iw, outSize: ow)
                    let value = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1))
                        + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1))
                    out.append(Float(value))
                }
            }
        }
        return out
    }

    /// Average pooling over an explicitly zero-padded image, dividing by the window area.
    func naiveAveragePool(
        _ x: [Float], planes: Int, h: Int, w: Int, kH: Int, kW: Int, sH: Int, sW: Int,
        pH: Int, pW: Int
    ) -> [Float] {
        let ph = h + 2 * pH, pw = w + 2 * pW
        let oh = (ph - kH) / sH + 1, ow = (pw - kW) / sW + 1
        var out: [Float] = []
        for p in 0..<planes {
            var padded = [Double](repeating: 0, count: ph * pw)
            for y in 0..<h { for xx in 0..<w { padded[(y + pH) * pw + xx + pW] = Double(x[p * h * w + y * w + xx]) } }
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var sum = 0.0
                    for ky in 0..<kH { for kx in 0..<kW { sum += padded[(oy * sH + ky) * pw + ox * sW + kx] } }
                    out.append(Float(sum / Double(kH * kW)))
                }
            }
        }
        return out
    }

    /// One upfirdn2d configuration.
    struct UpFirDnCase {
        /// Label used in failure messages.
        var name: String
        /// Number of planes.
        var planes: Int
        /// Input height.
        var height: Int
        /// Input width.
        var width: Int
        /// Row-major filter.
        var filter: [Float]
        /// Filter rows.
        var filterHeight: Int
        /// Filter columns.
        var filterWidth: Int
        /// Kernel parameters.
        var parameters: ResamplingKernels.UpFirDn2DParameters
    }

    /// `_upfirdn2d_ref` done literally: materialise the zero-upsampled image, pad with
    /// max(pad, 0), crop max(-pad, 0), scale and (unless flipFilter) flip the filter, valid
    /// cross-correlation, then keep every down-th sample.
    func naiveUpFirDn(_ x: [Float], _ c: UpFirDnCase) -> (values: [Float], height: Int, width: Int) {
        let p = c.parameters
        let fh = c.filterHeight, fw = c.filterWidth
        var result: [Float] = []
        var outH = 0, outW = 0
        for plane in 0..<c.planes {
            // (a) Upsample by inserting zeros.
            let uh = c.height * p.upY, uw = c.width * p.upX
            var up = [[Double]](repeating: [Double](repeating: 0, count: uw), count: uh)
            for y in 0..<c.height {
                for xx in 0..<c.width {
                    up[y * p.upY][xx * p.upX] = Double(x[plane * c.height * c.width + y * c.width + xx])
                }
            }
            // (b) Pad with zeros...
            let top = max(p.padY0, 0), bottom = max(p.padY1, 0)
            let left = max(p.padX0, 0), right = max(p.padX1, 0)
            var padded = [[Double]](repeating: [Double](repeating: 0, count: uw + left + right),
                                    count: uh + top + bottom)
            for y in 0..<uh { for xx in 0..<uw { padded[y + top][xx + left] = up[y][xx] } }
            // ... then crop.
            let rows = Array(padded[max(-p.padY0, 0)..<(padded.count - max(-p.padY1, 0))])
            let cropped = rows.map { row in Array(row[max(-p.padX0, 0)..<(row.count - max(-p.padX1, 0))]) }
            // (c) Filter: scale by gain, flip unless flipFilter, valid cross-correlation.
            var f = [[Double]](repeating: [Double](repeating: 0, count: fw), count: fh)
            for i in 0..<fh { for j in 0..<fw { f[i][j] = Double(c.filter[i * fw + j]) * Double(p.gain) } }
            if !p.flipFilter { f = f.reversed().map { Array($0.reversed()) } }
            let ch = cropped.count - fh + 1, cw = cropped[0].count - fw + 1
            var conv = [[Double]](repeating: [Double](repeating: 0, count: cw), count: ch)
            for y in 0..<ch {
                for xx in 0..<cw {
                    var sum = 0.0
                    for i in 0..<fh { for j in 0..<fw { sum += cropped[y + i][xx + j] * f[i][j] } }
                    conv[y][xx] = sum
                }
            }
            // (d) Downsample by keeping every down-th sample.
            let kept = stride(from: 0, to: ch, by: p.downY).map { y in
                stride(from: 0, to: cw, by: p.downX).map { xx in conv[y][xx] }
            }
            outH = kept.count
            outW = kept[0].count
            result += kept.flatMap { $0.map(Float.init) }
        }
        return (result, outH, outW)
    }

    /// Runs the upfirdn2d kernel for `c` on `x`.
    func runUpFirDn(_ x: [Float], _ c: UpFirDnCase) -> (values: [Float], height: Int, width: Int) {
        let size = ResamplingKernels.upfirdn2dOutputSize(
            height: c.height, width: c.width, filterHeight: c.filterHeight,
            filterWidth: c.filterWidth, parameters: c.parameters)
        let values = c.filter.withUnsafeBufferPointer { filter in
            apply(x, outputCount: c.planes * size.height * size.width) {
                ResamplingKernels.upfirdn2d(
                    $0, $1, planes: c.planes, height: c.height, width: c.width,
                    filter: filter.baseAddress!, filterHeight: c.filterHeight,
                    filterWidth: c.filterWidth, parameters: c.parameters)
            }
        }
        return (values, size.height, size.width)
    }

    /// The configurations exercised by the upfirdn2d tests.
    func upFirDnCases() -> [UpFirDnCase] {
        var rng = SplitMix64(seed: 0xF11)
        typealias P = ResamplingKernels.UpFirDn2DParameters
        // StyleGAN2's default [1, 3, 3, 1] filter: outer product, normalised to sum 1.
        let taps: [Float] = [1, 3, 3, 1]
        let stylegan = taps.flatMap { a in taps.map { b in a * b / 64 } }
        let random3x3 = randomValues(9, &rng)
        let random3x2 = randomValues(6, &rng)
        let random5x4 = randomValues(20, &rng)
        let random4x4 = randomValues(16, &rng)
        return [
            // upsample2d(up=2): pads ((fw+up-1)/2, (fw-up)/2) = (2, 1), gain = up*up.
            UpFirDnCase(name: "upsample2d", planes: 2, height: 5, width: 7, filter: stylegan,
                        filterHeight: 4, filterWidth: 4,
                        parameters: P(upY: 2, upX: 2, downY: 1, downX: 1, padX0: 2, padX1: 1,
                                      padY0: 2, padY1: 1, flipFilter: false, gain: 4)),
            // downsample2d(down=2): pads ((fw-down+1)/2, (fw-down)/2) = (1, 1).
            UpFirDnCase(name: "downsample2d", planes: 2, height: 8, width: 6, filter: stylegan,
                        filterHeight: 4, filterWidth: 4,
                        parameters: P(upY: 1, upX: 1, downY: 2, downX: 2, padX0: 1, padX1: 1,
                                      padY0: 1, padY1: 1, flipFilter: false, gain: 1)),
            // filter2d / blur: pads (fw/2, (fw-1)/2) = (2, 1).
            UpFirDnCase(name: "blur", planes: 3, height: 6, width: 9, filter: stylegan,
                        filterHeight: 4, filterWidth: 4,
                        parameters: P(upY: 1, upX: 1, downY: 1, downX: 1, padX0: 2, padX1: 1,
                                      padY0: 2, padY1: 1, flipFilter: false, gain: 1)),
            UpFirDnCase(name: "negative pads, up 2", planes: 1, height: 6, width: 5,
                        filter: random4x4, filterHeight: 4, filterWidth: 4,
                        parameters: P(upY: 2, upX: 2, downY: 1, downX: 1, padX0: -1, padX1: -2,
                                      padY0: 0, padY1: -3, flipFilter: false, gain: 1)),
            UpFirDnCase(name: "negative pads, down 2", planes: 2, height: 9, width: 7,
                        filter: random3x3, filterHeight: 3, filterWidth: 3,
                        parameters: P(upY: 1, upX: 1, downY: 2, downX: 2, padX0: -2, padX1: 1,
                                      padY0: -1, padY1: 2, flipFilter: true, gain: 1)),
            UpFirDnCase(name: "asymmetric up [1, 2], down [2, 1]", planes: 2, height: 7, width: 4,
                        filter: random3x2, filterHeight: 3, filterWidth: 2,
                        parameters: P(upY: 1, upX: 2, downY: 2, downX: 1, padX0: 1, padX1: 2,
                                      padY0: 0, padY1: 1, flipFilter: false, gain: 1)),
            UpFirDnCase(name: "random 3x3 flip", planes: 2, height: 4, width: 6, filter: random3x3,
                        filterHeight: 3, filterWidth: 3,
                        parameters: P(upY: 2, upX: 2, downY: 1, downX: 1, padX0: 1, padX1: 1,
                                      padY0: 2, padY1: 0, flipFilter: true, gain: 1.5)),
            UpFirDnCase(name: "random 3x3 no flip", planes: 2, height: 4, width: 6, filter: random3x3,
                        filterHeight: 3, filterWidth: 3,
                        parameters: P(upY: 2, upX: 2, downY: 1, downX: 1, padX0: 1, padX1: 1,
                                      padY0: 2, padY1: 0, flipFilter: false, gain: 1.5)),
            UpFirDnCase(name: "up 3 down 2, 5x4 filter", planes: 1, height: 5, width: 8,
                        filter: random5x4, filterHeight: 5, filterWidth: 4,
                        parameters: P(upY: 3, upX: 2, downY: 2, downX: 3, padX0: 2, padX1: -1,
                                      padY0: 3, padY1: 0, flipFilter: false, gain: 0.7)),
            UpFirDnCase(name: "1x1 filter, down 3 with crop", planes: 1, height: 10, width: 11,
                        filter: [2], filterHeight: 1, filterWidth: 1,
                        parameters: P(upY: 1, upX: 1, downY: 3, downX: 3, padX0: -1, padX1: 0,
                                      padY0: 0, padY1: -2, flipFilter: false, gain: 1)),
        ]
    }

    // MARK: - Nearest

    /// Several integer factors on non-square planes.
    let nearestConfigs: [(planes: Int, h: Int, w: Int, sH: Int, sW: Int)] =
        [(2, 3, 4, 2, 2), (1, 5, 2, 3, 1), (3, 2, 3, 1, 4), (2, 4, 3, 2, 3), (1, 1, 1, 1, 1)]

    /// Forward nearest upsampling equals the literal definition.
    func testNearestUpsampleMatchesNaive() {
        var rng = SplitMix64(seed: 1)
        for c in nearestConfigs {
            let x = randomValues(c.planes * c.h * c.w, &rng)
            let got = apply(x, outputCount: c.planes * c.h * c.sH * c.w * c.sW) {
                ResamplingKernels.nearestUpsample($0, $1, planes: c.planes,
                                                  height: c.h, width: c.w, scaleH: c.sH, scaleW: c.sW)
            }
            assertClose(got, naiveNearest(x, planes: c.planes, h: c.h, w: c.w, sH: c.sH, sW: c.sW),
                        tolerance: 0, "nearest \(c)")
        }
    }

    /// `<up(x), y> == <x, upᵀ(y)>`.
    func testNearestUpsampleAdjoint() {
        var rng = SplitMix64(seed: 2)
        for c in nearestConfigs where c.h * c.w > 1 {
            let inCount = c.planes * c.h * c.w, outCount = inCount * c.sH * c.sW
            let x = randomValues(inCount, &rng), y = randomValues(outCount, &rng)
            let ax = apply(x, outputCount: outCount) {
                ResamplingKernels.nearestUpsample($0, $1, planes: c.planes,
                                                  height: c.h, width: c.w, scaleH: c.sH, scaleW: c.sW)
            }
            let aty = apply(y, outputCount: inCount) {
                ResamplingKernels.nearestUpsampleAdjoint($0, $1,
                                                         planes: c.planes, height: c.h, width: c.w,
                                                         scaleH: c.sH, scaleW: c.sW)
            }
            assertAdjoint(forward: ax, y: y, x: x, adjoint: aty, "nearest \(c)")
        }
    }

    /// The adjoint sums each block (checked on a hand-made example).
    func testNearestUpsampleAdjointValues() {
        // 4x6 gradient, scale (2, 3) -> 2x2 block sums.
        let g: [Float] = (0..<24).map(Float.init)
        let got = apply(g, outputCount: 4) {
            ResamplingKernels.nearestUpsampleAdjoint($0, $1, planes: 1,
                                                     height: 2, width: 2, scaleH: 2, scaleW: 3)
        }
        // Block (0,0): 0+1+2+6+7+8 = 24; (0,1): 3+4+5+9+10+11 = 42; (1,0): 12+13+14+18+19+20 = 96;
        // (1,1): 15+16+17+21+22+23 = 114.
        XCTAssertEqual(got, [24, 42, 96, 114])
    }

    // MARK: - Bilinear

    /// (inH, inW, outH, outW) pairs: upsampling, downsampling, non-integer ratios, identity,
    /// single-pixel axes.
    let bilinearConfigs = [(2, 3, 3, 5), (4, 4, 8, 8), (7, 5, 3, 2), (5, 9, 7, 4), (3, 3, 3, 3),
                           (1, 4, 3, 7), (6, 1, 2, 5), (10, 13, 4, 17)]

    /// Hard-coded PyTorch values:
    /// `F.interpolate(torch.arange(6.).reshape(1,1,2,3), size=(3,5), mode='bilinear',
    /// align_corners=False)`. By the formula: rows use scale 2/3, src = [-1/6→0, 0.5, 7/6→(1,1)];
    /// columns use scale 3/5, src = [-0.2→0, 0.4, 1.0, 1.6, 2.2→(2,2)], giving
    /// row0 = [0, .4, 1, 1.6, 2], row1 = row0 + 1.5, row2 = row0 + 3. Verified with PyTorch 
    /// (/work/torchvenv): [0.0, 0.4, 1.0, 1.6, 2.0, 1.5, 1.9, 2.5, 3.1, 3.5, 3.0, 3.4, 4.0, 4.6, 5.0].
    func testBilinearMatchesPyTorchValues() {
        let x: [Float] = [0, 1, 2, 3, 4, 5]
        let got = apply(x, outputCount: 15) {
            ResamplingKernels.bilinearResize($0, $1, planes: 1, inHeight: 2,
                                             inWidth: 3, outHeight: 3, outWidth: 5)
        }
        let expected: [Float] = [0.0, 0.4, 1.0, 1.6, 2.0,
                                 1.5, 1.9, 2.5, 3.1, 3.5,
                                 3.0, 3.4, 4.0, 4.6, 5.0]
        assertClose(got, expected, tolerance: 1e-6, "bilinear PyTorch values")
    }

    /// Forward bilinear equals the literal formula.
    func testBilinearMatchesNaive() {
        var rng = SplitMix64(seed: 3)
        for (ih, iw, oh, ow) in bilinearConfigs {
            let planes = 2
            let x = randomValues(planes * ih * iw, &rng)
            let got = apply(x, outputCount: planes * oh * ow) {
                ResamplingKernels.bilinearResize($0, $1, planes: planes,
                                                 inHeight: ih, inWidth: iw, outHeight: oh, outWidth: ow)
            }
            assertClose(got, naiveBilinear(x, planes: planes, ih: ih, iw: iw, oh: oh, ow: ow),
                        "bilinear \(ih)x\(iw) -> \(oh)x\(ow)")
        }
    }

    /// `<resize(x), y> == <x, resizeᵀ(y)>`.
    func testBilinearAdjoint() {
        var rng = SplitMix64(seed: 4)
        for (ih, iw, oh, ow) in bilinearConfigs {
            let planes = 3
            let x = randomValues(planes * ih * iw, &rng), y = randomValues(planes * oh * ow, &rng)
            let ax = apply(x, outputCount: y.count) {
                ResamplingKernels.bilinearResize($0, $1, planes: planes,
                                                 inHeight: ih, inWidth: iw, outHeight: oh, outWidth: ow)
            }
            let aty = apply(y, outputCount: x.count) {
                ResamplingKernels.bilinearResizeAdjoint($0, $1, planes: planes,
                                                        inHeight: ih, inWidth: iw,
                                                        outHeight: oh, outWidth: ow)
            }
            assertAdjoint(forward: ax, y: y, x: x, adjoint: aty, "bilinear \(ih)x\(iw) -> \(oh)x\(ow)")
        }
    }

    // MARK: - Average pooling

    /// (h, w, kH, kW, sH, sW, pH, pW) configurations.
    let poolConfigs = [(6, 8, 2, 2, 2, 2, 0, 0), (5, 7, 3, 3, 1, 1, 1, 1), (7, 6, 3, 3, 2, 2, 1, 1),
                       (5, 9, 2, 3, 1, 2, 0, 1), (4, 5, 4, 2, 3, 1, 2, 1), (3, 3, 3, 3, 3, 3, 0, 0)]

    /// Hard-coded PyTorch values:
    /// `F.avg_pool2d(torch.arange(12.).reshape(1,1,3,4), kernel_size=(3,2), stride=(2,1),
    /// padding=(1,1), count_include_pad=True)` (shape 2x5; verified with /work/torchvenv).
    /// E.g. output (0,0) covers padded rows -1..1, cols -1..0: (0 + 4) / 6 = 0.6667.
    func testAveragePoolMatchesPyTorchValues() {
        let x: [Float] = (0..<12).map(Float.init)
        XCTAssertEqual(ResamplingKernels.averagePoolOutputSize(size: 3, kernel: 3, stride: 2, pad: 1), 2)
        XCTAssertEqual(ResamplingKernels.averagePoolOutputSize(size: 4, kernel: 2, stride: 1, pad: 1), 5)
        let got = apply(x, outputCount: 10) {
            ResamplingKernels.averagePool($0, $1, planes: 1, height: 3, width: 4,
                                          kernelH: 3, kernelW: 2, strideH: 2, strideW: 1,
                                          padH: 1, padW: 1)
        }
        let expected: [Float] = [0.6666667, 1.6666666, 2.3333333, 3.0, 1.6666666,
                                 2.0, 4.3333335, 5.0, 5.6666665, 3.0]
        assertClose(got, expected, tolerance: 1e-6, "avg_pool2d PyTorch values")
    }

    /// Forward average pooling equals the explicit padded-window average.
    func testAveragePoolMatchesNaive() {
        var rng = SplitMix64(seed: 5)
        for c in poolConfigs {
            let (h, w, kH, kW, sH, sW, pH, pW) = c
            let planes = 2
            let oh = ResamplingKernels.averagePoolOutputSize(size: h, kernel: kH, stride: sH, pad: pH)
            let ow = ResamplingKernels.averagePoolOutputSize(size: w, kernel: kW, stride: sW, pad: pW)
            let x = randomValues(planes * h * w, &rng)
            let got = apply(x, outputCount: planes * oh * ow) {
                ResamplingKernels.averagePool($0, $1, planes: planes, height: h,
                                              width: w, kernelH: kH, kernelW: kW, strideH: sH,
                                              strideW: sW, padH: pH, padW: pW)
            }
            assertClose(got, naiveAveragePool(x, planes: planes, h: h, w: w, kH: kH, kW: kW,
                                              sH: sH, sW: sW, pH: pH, pW: pW),
                        "avgpool \(c)")
        }
    }

    /// `<pool(x), y> == <x, poolᵀ(y)>`.
    func testAveragePoolAdjoint() {
        var rng = SplitMix64(seed: 6)
        for c in poolConfigs {
            let (h, w, kH, kW, sH, sW, pH, pW) = c
            let planes = 2
            let oh = ResamplingKernels.averagePoolOutputSize(size: h, kernel: kH, stride: sH, pad: pH)
            let ow = ResamplingKernels.averagePoolOutputSize(size: w, kernel: kW, stride: sW, pad: pW)
            let x = randomValues(planes * h * w, &rng), y = randomValues(planes * oh * ow, &rng)
            let ax = apply(x, outputCount: y.count) {
                ResamplingKernels.averagePool($0, $1, planes: planes, height: h,
                                              width: w, kernelH: kH, kernelW: kW, strideH: sH,
                                              strideW: sW, padH: pH, padW: pW)
            }
            let aty = apply(y, outputCount: x.count) {
                ResamplingKernels.averagePoolAdjoint($0, $1, planes: planes,
                                                     height: h, width: w, kernelH: kH, kernelW: kW,
                                                     strideH: sH, strideW: sW, padH: pH, padW: pW)
            }
            assertAdjoint(forward: ax, y: y, x: x, adjoint: aty, "avgpool \(c)")
        }
    }

    // MARK: - upfirdn2d

    /// Output size formula, including the StyleGAN2 resampling shapes and the floor/ceil
    /// equivalence.
    func testUpFirDnOutputSize() {
        let up = ResamplingKernels.upfirdn2dOutputSize(
            height: 5, width: 7, filterHeight: 4, filterWidth: 4, upY: 2, upX: 2, downY: 1,
            downX: 1, padX0: 2, padX1: 1, padY0: 2, padY1: 1)
        XCTAssertTrue(up == (10, 14), "upsample2d doubles the size, got \(up)")
        let down = ResamplingKernels.upfirdn2dOutputSize(
            height: 8, width: 6, filterHeight: 4, filterWidth: 4, upY: 1, upX: 1, downY: 2,
            downX: 2, padX0: 1, padX1: 1, padY0: 1, padY1: 1)
        XCTAssertTrue(down == (4, 3), "downsample2d halves the size, got \(down)")
        let blur = ResamplingKernels.upfirdn2dOutputSize(
            height: 6, width: 9, filterHeight: 4, filterWidth: 4, upY: 1, upX: 1, downY: 1,
            downX: 1, padX0: 2, padX1: 1, padY0: 2, padY1: 1)
        XCTAssertTrue(blur == (6, 9), "blur keeps the size, got \(blur)")
        for c in upFirDnCases() {
            let p = c.parameters
            let size = ResamplingKernels.upfirdn2dOutputSize(
                height: c.height, width: c.width, filterHeight: c.filterHeight,
                filterWidth: c.filterWidth, parameters: p)
            let spanY = c.height * p.upY + p.padY0 + p.padY1 - c.filterHeight + 1
            let spanX = c.width * p.upX + p.padX0 + p.padX1 - c.filterWidth + 1
            XCTAssertEqual(size.height, (spanY + p.downY - 1) / p.downY, c.name)
            XCTAssertEqual(size.width, (spanX + p.downX - 1) / p.downX, c.name)
        }
    }

    /// Hard-coded values from StyleGAN2-ADA's `_upfirdn2d_ref` run in PyTorch (/work/torchvenv):
    /// x = torch.arange(6.).reshape(1,1,2,3), f = [[1,2,3],[4,5,6]], up=[2,1] (x,y),
    /// down=[1,2], padding=[1,-1,1,1], gain=2. By hand for flip_filter=False: upsampled rows
    /// [0,0,1,0,2,0] and [3,0,4,0,5,0]; pad left 1 / crop right 1 gives [0,0,0,1,0,2] and
    /// [0,3,0,4,0,5]; one zero row above and below; filter*2 flipped = [[12,10,8],[6,4,2]];
    /// output row 0 = [0, 2, 4, 10], row 1 (conv row 2) starts with 3*10 = 30.
    func testUpFirDnMatchesPyTorchValues() {
        let x: [Float] = [0, 1, 2, 3, 4, 5]
        let filter: [Float] = [1, 2, 3, 4, 5, 6]
        for (flip, expected) in [(false, [Float]([0, 2, 4, 10, 30, 68, 40, 88])),
                                 (true, [Float]([0, 12, 10, 32, 12, 30, 16, 38]))] {
            let c = UpFirDnCase(name: "pytorch", planes: 1, height: 2, width: 3, filter: filter,
                                filterHeight: 2, filterWidth: 3,
                                parameters: .init(upY: 1, upX: 2, downY: 2, downX: 1, padX0: 1,
                                                  padX1: -1, padY0: 1, padY1: 1, flipFilter: flip,
                                                  gain: 2))
            let got = runUpFirDn(x, c)
            XCTAssertEqual(got.height, 2)
            XCTAssertEqual(got.width, 4)
            assertClose(got.values, expected, tolerance: 1e-6, "upfirdn2d PyTorch flip=\(flip)")
            // The literal reference must agree with PyTorch too.
            assertClose(naiveUpFirDn(x, c).values, expected, tolerance: 1e-6,
                        "naive upfirdn2d PyTorch flip=\(flip)")
        }
    }

    /// Polyphase kernel equals the literal materialise/pad/crop/flip/correlate/stride reference.
    func testUpFirDnMatchesNaive() {
        var rng = SplitMix64(seed: 7)
        for c in upFirDnCases() {
            let x = randomValues(c.planes * c.height * c.width, &rng)
            let got = runUpFirDn(x, c)
            let expected = naiveUpFirDn(x, c)
            XCTAssertEqual(got.height, expected.height, c.name)
            XCTAssertEqual(got.width, expected.width, c.name)
            assertClose(got.values, expected.values, "upfirdn2d \(c.name)")
        }
    }

    /// flipFilter=false equals flipFilter=true with a pre-flipped filter (convolution vs.
    /// correlation convention).
    func testUpFirDnFlipConvention() {
        var rng = SplitMix64(seed: 8)
        let filter = randomValues(6, &rng)  // 2x3
        let flipped = Array(filter.reversed())
        let x = randomValues(5 * 4, &rng)
        let p = ResamplingKernels.UpFirDn2DParameters(upY: 2, upX: 1, downY: 1, downX: 2,
                                                      padX0: 1, padX1: 1, padY0: 1, padY1: 0,
                                                      flipFilter: false, gain: 1)
        var q = p
        q.flipFilter = true
        let a = runUpFirDn(x, UpFirDnCase(name: "conv", planes: 1, height: 5, width: 4,
                                          filter: filter, filterHeight: 2, filterWidth: 3,
                                          parameters: p))
        let b = runUpFirDn(x, UpFirDnCase(name: "corr", planes: 1, height: 5, width: 4,
                                          filter: flipped, filterHeight: 2, filterWidth: 3,
                                          parameters: q))
        assertClose(a.values, b.values, tolerance: 0, "flip convention")
    }

    /// The StyleGAN2-ADA gradient parameters give back the input shape and the exact adjoint.
    func testUpFirDnAdjoint() {
        var rng = SplitMix64(seed: 9)
        for c in upFirDnCases() {
            let x = randomValues(c.planes * c.height * c.width, &rng)
            let forward = runUpFirDn(x, c)
            let y = randomValues(forward.values.count, &rng)
            let gradParameters = ResamplingKernels.upfirdn2dGradientParameters(
                height: c.height, width: c.width, filterHeight: c.filterHeight,
                filterWidth: c.filterWidth, parameters: c.parameters)
            XCTAssertEqual(gradParameters.upY, c.parameters.downY, c.name)
            XCTAssertEqual(gradParameters.downX, c.parameters.upX, c.name)
            XCTAssertEqual(gradParameters.flipFilter, !c.parameters.flipFilter, c.name)
            let gradCase = UpFirDnCase(name: c.name + " adjoint", planes: c.planes,
                                       height: forward.height, width: forward.width,
                                       filter: c.filter, filterHeight: c.filterHeight,
                                       filterWidth: c.filterWidth, parameters: gradParameters)
            let adjoint = runUpFirDn(y, gradCase)
            XCTAssertEqual(adjoint.height, c.height, "\(c.name): adjoint height")
            XCTAssertEqual(adjoint.width, c.width, "\(c.name): adjoint width")
            guard adjoint.values.count == x.count else { continue }
            assertAdjoint(forward: forward.values, y: y, x: x, adjoint: adjoint.values,
                          "upfirdn2d \(c.name)")
            // The adjoint call itself must also match the literal reference.
            assertClose(adjoint.values, naiveUpFirDn(y, gradCase).values,
                        "upfirdn2d \(c.name) adjoint vs naive")
        }
    }

    // MARK: - Parallel path

    /// Runs `kernel` once over all planes (parallel path: > 32K elements, many planes) and once
    /// plane by plane (always serial), and requires bit-identical results.
    func assertParallelMatchesSerial(
        planes: Int, inPlane: Int, outPlane: Int, _ name: String,
        _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) {
        XCTAssertGreaterThan(planes * max(inPlane, outPlane), ResamplingKernels.parallelThreshold,
                             "\(name): must exercise the parallel path")
        var rng = SplitMix64(seed: 10)
        let x = randomValues(planes * inPlane, &rng)
        let all = apply(x, outputCount: planes * outPlane) { kernel($0, $1, planes) }
        var serial: [Float] = []
        for plane in 0..<planes {
            let slice = Array(x[(plane * inPlane)..<((plane + 1) * inPlane)])
            serial += apply(slice, outputCount: outPlane) { kernel($0, $1, 1) }
        }
        XCTAssertEqual(all, serial, "\(name): parallel differs from serial")
    }

    /// Every kernel gives the same result on the parallel and serial paths.
    func testParallelMatchesSerial() {
        let planes = 37, h = 40, w = 36
        let pooled = ResamplingKernels.averagePoolOutputSize(size: h, kernel: 3, stride: 2, pad: 1)
            * ResamplingKernels.averagePoolOutputSize(size: w, kernel: 3, stride: 2, pad: 1)
        assertParallelMatchesSerial(planes: planes, inPlane: h * w, outPlane: h * w * 4, "nearest") {
            ResamplingKernels.nearestUpsample($0, $1, planes: $2, height: h,
                                              width: w, scaleH: 2, scaleW: 2)
        }
        assertParallelMatchesSerial(planes: planes, inPlane: h * w * 4, outPlane: h * w, "nearestᵀ") {
            ResamplingKernels.nearestUpsampleAdjoint($0, $1, planes: $2,
                                                     height: h, width: w, scaleH: 2, scaleW: 2)
        }
        assertParallelMatchesSerial(planes: planes, inPlane: h * w, outPlane: 31 * 29, "bilinear") {
            ResamplingKernels.bilinearResize($0, $1, planes: $2, inHeight: h,
                                             inWidth: w, outHeight: 31, outWidth: 29)
        }
        assertParallelMatchesSerial(planes: planes, inPlane: 31 * 29, outPlane: h * w, "bilinearᵀ") {
            ResamplingKernels.bilinearResizeAdjoint($0, $1, planes: $2,
                                                    inHeight: h, inWidth: w,
                                                    outHeight: 31, outWidth: 29)
        }
        assertParallelMatchesSerial(planes: planes, inPlane: h * w, outPlane: pooled, "avgpool") {
            ResamplingKernels.averagePool($0, $1, planes: $2, height: h, width: w,
                                          kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                                          padH: 1, padW: 1)
        }
        assertParallelMatchesSerial(planes: planes, inPlane: pooled, outPlane: h * w, "avgpoolᵀ") {
            ResamplingKernels.averagePoolAdjoint($0, $1, planes: $2,
                                                 height: h, width: w, kernelH: 3, kernelW: 3,
                                                 strideH: 2, strideW: 2, padH: 1, padW: 1)
        }
        let taps: [Float] = [1, 3, 3, 1]
        let filter = taps.flatMap { a in taps.map { b in a * b / 64 } }
        filter.withUnsafeBufferPointer { f in
            assertParallelMatchesSerial(planes: planes, inPlane: h * w, outPlane: h * w * 4,
                                        "upfirdn2d") {
                ResamplingKernels.upfirdn2d($0, $1, planes: $2, height: h, width: w,
                                            filter: f.baseAddress!, filterHeight: 4, filterWidth: 4,
                                            upY: 2, upX: 2, downY: 1, downX: 1, padX0: 2, padX1: 1,
                                            padY0: 2, padY1: 1, flipFilter: false, gain: 4)
            }
        }
    }
}
