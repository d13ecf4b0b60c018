import Dispatch
import Synchronization
import XCTest
@testable import Tensor

/// Checks the oneDNN convolution and sgemm kernels against naive reference loops.
final class DNNLKernelTests: XCTestCase {
    /// One convolution test case: input shape, weight shape and geometry.
    struct Case {
        var name: String
        var input: [Int]
        var weight: [Int]
        var geometry: ConvolutionGeometry

        /// Output shape [N, O, Ho, Wo] from `DNNL.outputSize`.
        var output: [Int] {
            let g = geometry
            return [input[0], weight[0],
                    DNNL.outputSize(input: input[2], kernel: weight[2], stride: g.strideH,
                                    padBefore: g.padTop, padAfter: g.padBottom, dilation: g.dilationH),
                    DNNL.outputSize(input: input[3], kernel: weight[3], stride: g.strideW,
                                    padBefore: g.padLeft, padAfter: g.padRight, dilation: g.dilationW)]
        }
    }

    static let cases: [Case] = [
        Case(name: "3x3 s1 p1", input: [3, 8, 10, 10], weight: [16, 8, 3, 3],
             geometry: .init(stride: 1, padding: 1)),
        Case(name: "3x3 s1 p1 wide", input: [3, 32, 12, 12], weight: [64, 32, 3, 3],
             geometry: .init(stride: 1, padding: 1)),
        Case(name: "3x3 s2 p1", input: [1, 8, 11, 11], weight: [16, 8, 3, 3],
             geometry: .init(stride: 2, padding: 1)),
        Case(name: "1x1", input: [3, 16, 7, 7], weight: [32, 16, 1, 1],
             geometry: .init(stride: 1)),
        Case(name: "2x2 pad (0,1,0,1)", input: [3, 4, 8, 8], weight: [8, 4, 2, 2],
             geometry: .init(padTop: 0, padBottom: 1, padLeft: 0, padRight: 1)),
        Case(name: "4x4 s2 asymmetric pad", input: [1, 16, 9, 9], weight: [16, 16, 4, 4],
             geometry: .init(strideH: 2, strideW: 2, padTop: 1, padBottom: 2, padLeft: 2, padRight: 1)),
        Case(name: "dilation 2", input: [1, 8, 12, 12], weight: [8, 8, 3, 3],
             geometry: .init(stride: 1, padding: 2, dilation: 2)),
        Case(name: "groups 2", input: [3, 8, 9, 9], weight: [16, 4, 3, 3],
             geometry: .init(stride: 1, padding: 1, groups: 2)),
        Case(name: "groups 3", input: [1, 6, 8, 8], weight: [9, 2, 3, 3],
             geometry: .init(stride: 1, padding: 1, groups: 3)),
        Case(name: "depthwise", input: [3, 16, 10, 10], weight: [16, 1, 3, 3],
             geometry: .init(stride: 1, padding: 1, groups: 16)),
        Case(name: "non-square kernel", input: [1, 8, 10, 12], weight: [8, 8, 3, 5],
             geometry: .init(padTop: 1, padBottom: 1, padLeft: 2, padRight: 2)),
        // Batch >= 16 makes oneDNN pick its Winograd kernels (partial 4x4 output tiles here).
        Case(name: "Winograd-eligible, bias", input: [16, 16, 6, 5], weight: [16, 16, 3, 3],
             geometry: .init(stride: 1, padding: 1)),
        Case(name: "Winograd-eligible, grad bias", input: [16, 32, 7, 6], weight: [16, 32, 3, 3],
             geometry: .init(stride: 1, padding: 1)),
        Case(name: "H != W, C = 3", input: [3, 3, 7, 13], weight: [16, 3, 3, 3],
             geometry: .init(stride: 1, padding: 1)),
    ]

    // MARK: Naive references (double accumulation)

    /// Calls `body(outputIndex, inputIndex, weightIndex)` for every multiply of the convolution.
    static func forEachTap(_ c: Case, _ body: (Int, Int, Int) -> Void) {
        let (n, ci, h, w) = (c.input[0], c.input[1], c.input[2], c.input[3])
        let (o, cg, kh, kw) = (c.weight[0], c.weight[1], c.weight[2], c.weight[3])
        let output = c.output
        let (ho, wo) = (output[2], output[3])
        let g = c.geometry
        let og = o / g.groups
        for b in 0..<n { for oc in 0..<o { for oy in 0..<ho { for ox in 0..<wo {
            let yi = ((b * o + oc) * ho + oy) * wo + ox
            for icg in 0..<cg { for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                let ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                let ic = (oc / og) * cg + icg
                body(yi, ((b * ci + ic) * h + iy) * w + ix, ((oc * cg + icg) * kh + ky) * kw + kx)
            } } }
        } } } }
    }

    static func naiveForward(_ c: Case, x: [Float], w: [Float], bias: [Float]?) -> [Float] {
        var y = [Double](repeating: 0, count: c.output.reduce(1, *))
        forEachTap(c) { yi, xi, wi in y[yi] += Double(x[xi]) * Double(w[wi]) }
        if let bias {
            let plane = c.output[2] * c.output[3]
            for i in y.indices { y[i] += Double(bias[(i / plane) % c.output[1]]) }
        }
        return y.map(Float.init)
    }

    static func naiveBackwardData(_ c: Case, gy: [Float], w: [Float]) -> [Float] {
        var gx = [Double](repeating: 0, count: c.input.reduce(1, *))
        forEachTap(c) { yi, xi, wi in gx[xi] += Double(gy[yi]) * Double(w[wi]) }
        return gx.map(Float.init)
    }

    static func naiveBackwardWeights(_ c: Case, x: [Float], gy: [Float]) -> (gw: [Float], gb: [Float]) {
        var gw = [Double](repeating: 0, count: c.weight.reduce(1, *))
        forEachTap(c) { yi, xi, wi in gw[wi] += Double(gy[yi]) * Double(x[xi]) }
        var gb = [Double](repeating: 0, count: c.weight[0])
        let plane = c.output[2] * c.output[3]
        for i in gy.indices { gb[(i / plane) % c.output[1]] += Double(gy[i]) }
        return (gw.map(Float.init), gb.map(Float.init))
    }

    // MARK: Helpers

    /// The channel block of oneDNN's activation layout on this CPU (8: nChw8c with AVX2 only,
    /// 16: nChw16c with AVX-512), read from a convolution's output; nil if it is not blocked.
    static var activationChannelBlock: Int? {
        let output = Tensor.conv2d(Tensor(shape: [1, 8, 4, 4], scalars: .init(repeating: 1, count: 128)),
                                   weight: Tensor(shape: [8, 8, 1, 1], scalars: .init(repeating: 1, count: 64)))
        return ChannelBlockedValues(output)?.block
    }

    /// Deterministic uniform values in [-1, 1).
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
    }

    /// max |a - b| / max |b|: the error relative to the reference's magnitude (infinite if `a`
    /// has non-finite values, e.g. NaN left over from an unwritten output).
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        guard a.allSatisfy(\.isFinite) else { return .infinity }
        let scale = max(b.map(abs).max() ?? 0, 1e-12)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    /// `Tensor.conv2d` with the case's geometry.
    static func conv(_ c: Case, _ x: Tensor, _ w: Tensor, bias: Tensor? = nil, activation: FusedActivation? = nil) -> Tensor {
        let g = c.geometry
        return Tensor.conv2d(x, weight: w, bias: bias, stride: Size2D(g.strideH, g.strideW),
                             padding: Padding2D(top: g.padTop, bottom: g.padBottom, left: g.padLeft, right: g.padRight),
                             dilation: Size2D(g.dilationH, g.dilationW), groups: g.groups, activation: activation)
    }

    /// Checks `Tensor.conv2d` (whichever kernel its plan runs) on each case against
    /// `naiveForward`: with bias and no activation, ReLU and leaky ReLU, and without bias; relative
    /// error below `tolerance`. Inputs, weights and biases are drawn from `seed + index`,
    /// `seed + 10 + index` and `seed + 20 + index`.
    static func assertForwardMatchesDoublePrecisionLoop(_ cases: [Case], seed: UInt64, tolerance: Float,
                                                        file: StaticString = #filePath, line: UInt = #line) {
        for (index, c) in cases.enumerated() {
            let x = random(c.input.reduce(1, *), seed: seed + UInt64(index))
            let w = random(c.weight.reduce(1, *), seed: seed + 10 + UInt64(index)).map { $0 * 0.3 }
            let bias = random(c.weight[0], seed: seed + 20 + UInt64(index))
            let reference = naiveForward(c, x: x, w: w, bias: bias)
            for activation in [nil, FusedActivation.relu, .leakyReLU(negativeSlope: 0.2)] {
                let y = conv(c, Tensor(shape: c.input, scalars: x), Tensor(shape: c.weight, scalars: w),
                             bias: Tensor(shape: [c.weight[0]], scalars: bias), activation: activation)
                XCTAssertEqual(y.shape, c.output, c.name, file: file, line: line)
                let expected = reference.map { v in activation.map { v > 0 ? v : v * $0.negativeSlope } ?? v }
                XCTAssertLessThan(relativeError(y.scalars, expected), tolerance, "\(c.name), \(String(describing: activation))",
                                  file: file, line: line)
            }
            let unbiased = conv(c, Tensor(shape: c.input, scalars: x), Tensor(shape: c.weight, scalars: w))
            XCTAssertLessThan(relativeError(unbiased.scalars, naiveForward(c, x: x, w: w, bias: nil)), tolerance,
                              "\(c.name) without bias", file: file, line: line)
        }
    }

    func forward(_ c: Case, x: [Float], w: [Float], bias: [Float]?) -> [Float] {
        var y = [Float](repeating: .nan, count: c.output.reduce(1, *))
        y.withUnsafeMutableBufferPointer { yp in
            if let bias {
                DNNL.convolutionForward(input: x, inputShape: c.input, weight: w, weightShape: c.weight,
                                        bias: bias, output: yp.baseAddress!, outputShape: c.output,
                                        geometry: c.geometry)
            } else {
                DNNL.convolutionForward(input: x, inputShape: c.input, weight: w, weightShape: c.weight,
                                        bias: nil, output: yp.baseAddress!, outputShape: c.output,
                                        geometry: c.geometry)
            }
        }
        return y
    }

    // MARK: Tests

    func testOutputSize() {
        XCTAssertEqual(DNNL.outputSize(input: 32, kernel: 3, stride: 1, padBefore: 1, padAfter: 1, dilation: 1), 32)
        XCTAssertEqual(DNNL.outputSize(input: 32, kernel: 3, stride: 2, padBefore: 1, padAfter: 1, dilation: 1), 16)
        XCTAssertEqual(DNNL.outputSize(input: 8, kernel: 2, stride: 1, padBefore: 0, padAfter: 1, dilation: 1), 8)
        XCTAssertEqual(DNNL.outputSize(input: 12, kernel: 3, stride: 1, padBefore: 0, padAfter: 0, dilation: 2), 8)
    }

    func testConvolutionForward() {
        for (i, c) in Self.cases.enumerated() {
            let x = Self.random(c.input.reduce(1, *), seed: 1)
            let w = Self.random(c.weight.reduce(1, *), seed: 2)
            let bias = i % 2 == 0 ? Self.random(c.weight[0], seed: 3) : nil
            let y = forward(c, x: x, w: w, bias: bias)
            let error = Self.relativeError(y, Self.naiveForward(c, x: x, w: w, bias: bias))
            XCTAssertLessThanOrEqual(error, 1e-4, "forward \(c.name)")
        }
    }

    func testConvolutionBackwardData() {
        for c in Self.cases {
            let gy = Self.random(c.output.reduce(1, *), seed: 4)
            let w = Self.random(c.weight.reduce(1, *), seed: 5)
            var gx = [Float](repeating: .nan, count: c.input.reduce(1, *))
            gx.withUnsafeMutableBufferPointer { gxp in
                DNNL.convolutionBackwardData(gradOutput: gy, outputShape: c.output, weight: w,
                                             weightShape: c.weight, gradInput: gxp.baseAddress!,
                                             inputShape: c.input, geometry: c.geometry)
            }
            let error = Self.relativeError(gx, Self.naiveBackwardData(c, gy: gy, w: w))
            XCTAssertLessThanOrEqual(error, 1e-4, "backward data \(c.name)")
        }
    }

    func testConvolutionBackwardWeights() {
        for (i, c) in Self.cases.enumerated() {
            let x = Self.random(c.input.reduce(1, *), seed: 6)
            let gy = Self.random(c.output.reduce(1, *), seed: 7)
            var gw = [Float](repeating: .nan, count: c.weight.reduce(1, *))
            var gb = [Float](repeating: .nan, count: c.weight[0])
            let withBias = i % 2 == 1
            gw.withUnsafeMutableBufferPointer { gwp in
                gb.withUnsafeMutableBufferPointer { gbp in
                    DNNL.convolutionBackwardWeights(input: x, inputShape: c.input, gradOutput: gy,
                                                    outputShape: c.output, gradWeight: gwp.baseAddress!,
                                                    weightShape: c.weight,
                                                    gradBias: withBias ? gbp.baseAddress! : nil,
                                                    geometry: c.geometry)
                }
            }
            let reference = Self.naiveBackwardWeights(c, x: x, gy: gy)
            XCTAssertLessThanOrEqual(Self.relativeError(gw, reference.gw), 1e-4, "backward weights \(c.name)")
            if withBias {
                XCTAssertLessThanOrEqual(Self.relativeError(gb, reference.gb), 1e-4, "backward bias \(c.name)")
            } else {
                XCTAssertTrue(gb.allSatisfy(\.isNaN), "gradBias nil must leave the buffer alone")
            }
        }
    }

    /// Repeated calls with the same key reuse the cached plan and give identical results.
    func testRepeatedCallsAreDeterministic() {
        let c = Self.cases.first { $0.name == "3x3 s1 p1 wide" }!
        let x = Self.random(c.input.reduce(1, *), seed: 8), w = Self.random(c.weight.reduce(1, *), seed: 9)
        let first = forward(c, x: x, w: w, bias: nil)
        for _ in 0..<3 { XCTAssertEqual(forward(c, x: x, w: w, bias: nil), first) }
    }

    func testSgemmAllTransposes() {
        let (m, n, k) = (37, 29, 23)
        let alpha: Float = 1.5, beta: Float = 0.5
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                // Stored shapes (row-major) with 3 extra columns of leading-dimension padding.
                let (aRows, aCols) = transposeA ? (k, m) : (m, k)
                let (bRows, bCols) = transposeB ? (n, k) : (k, n)
                let (lda, ldb, ldc) = (aCols + 3, bCols + 3, n + 3)
                let a = Self.random(aRows * lda, seed: 10), b = Self.random(bRows * ldb, seed: 11)
                let c0 = Self.random(m * ldc, seed: 12)
                var expected = c0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0
                        for p in 0..<k {
                            let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                            let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                            sum += Double(av) * Double(bv)
                        }
                        let old = Double(c0[i * ldc + j])
                        expected[i * ldc + j] = Float(Double(alpha) * sum + Double(beta) * old)
                    }
                }
                var c = c0
                c.withUnsafeMutableBufferPointer { cp in
                    DNNL.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                               alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                               c: cp.baseAddress!, ldc: ldc)
                }
                XCTAssertLessThanOrEqual(Self.relativeError(c, expected), 1e-5,
                                         "sgemm transposeA \(transposeA) transposeB \(transposeB)")
                // The leading-dimension padding columns of C must be untouched.
                for i in 0..<m { for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]) } }
            }
        }
    }

    /// Plans share blocked buffers; garbage (NaN) left in them by one plan must not leak into the
    /// zero-padded channels of another plan's blocked layout (8 channels padded to 16 here).
    func testSharedBuffersStayZeroPadded() {
        let geometry = ConvolutionGeometry(stride: 1, padding: 1)
        let padded = Case(name: "padded", input: [2, 8, 8, 8], weight: [8, 8, 3, 3], geometry: geometry)
        let other = Case(name: "other", input: [2, 32, 8, 8], weight: [32, 32, 3, 3], geometry: geometry)
        /// Runs all three ops; `fill` replaces the random data with a constant.
        func runAll(_ c: Case, fill: Float?) -> [[Float]] {
            func data(_ shape: [Int], seed: UInt64) -> [Float] {
                let count = shape.reduce(1, *)
                return fill.map { [Float](repeating: $0, count: count) } ?? Self.random(count, seed: seed)
            }
            let x = data(c.input, seed: 30), w = data(c.weight, seed: 31), gy = data(c.output, seed: 32)
            var gx = [Float](repeating: .nan, count: x.count), gw = [Float](repeating: .nan, count: w.count)
            gx.withUnsafeMutableBufferPointer { p in
                DNNL.convolutionBackwardData(gradOutput: gy, outputShape: c.output, weight: w,
                                             weightShape: c.weight, gradInput: p.baseAddress!,
                                             inputShape: c.input, geometry: c.geometry)
            }
            gw.withUnsafeMutableBufferPointer { p in
                DNNL.convolutionBackwardWeights(input: x, inputShape: c.input, gradOutput: gy,
                                                outputShape: c.output, gradWeight: p.baseAddress!,
                                                weightShape: c.weight, gradBias: nil, geometry: c.geometry)
            }
            return [forward(c, x: x, w: w, bias: nil), gx, gw]
        }
        let before = runAll(padded, fill: nil)
        _ = runAll(other, fill: .nan)
        let after = runAll(padded, fill: nil)
        XCTAssertEqual(after, before)
        XCTAssertTrue(after.allSatisfy { $0.allSatisfy(\.isFinite) })
    }

    /// Two threads hammer the same and different plans concurrently; results must stay exact.
    func testConcurrentCalls() {
        func named(_ name: String) -> Case { Self.cases.first { $0.name == name }! }
        let shared = named("3x3 s1 p1 wide"), grouped = named("groups 2")
        let winograd = named("Winograd-eligible, bias")
        struct Job: Sendable {
            var c: Case, x: [Float], w: [Float], gy: [Float]
            var expected: [Float], gx: [Float]  // forward output, backward-data reference
        }
        let jobs: [Job] = [(shared, 20), (shared, 21), (grouped, 22), (winograd, 23)].map { c, seed in
            let x = Self.random(c.input.reduce(1, *), seed: UInt64(seed))
            let w = Self.random(c.weight.reduce(1, *), seed: UInt64(seed + 100))
            let gy = Self.random(c.output.reduce(1, *), seed: UInt64(seed + 200))
            return Job(c: c, x: x, w: w, gy: gy, expected: forward(c, x: x, w: w, bias: nil),
                       gx: Self.naiveBackwardData(c, gy: gy, w: w))
        }
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 2) { thread in
            for iteration in 0..<40 {
                let job = jobs[(thread + iteration) % jobs.count]
                var y = [Float](repeating: .nan, count: job.c.output.reduce(1, *))
                y.withUnsafeMutableBufferPointer { yp in
                    DNNL.convolutionForward(input: job.x, inputShape: job.c.input, weight: job.w,
                                            weightShape: job.c.weight, bias: nil, output: yp.baseAddress!,
                                            outputShape: job.c.output, geometry: job.c.geometry)
                }
                var gx = [Float](repeating: .nan, count: job.c.input.reduce(1, *))
                gx.withUnsafeMutableBufferPointer { gxp in
                    DNNL.convolutionBackwardData(gradOutput: job.gy, outputShape: job.c.output, weight: job.w,
                                                 weightShape: job.c.weight, gradInput: gxp.baseAddress!,
                                                 inputShape: job.c.input, geometry: job.c.geometry)
                }
                if y != job.expected || Self.relativeError(gx, job.gx) > 1e-4 {
                    failures.withLock { $0 += 1 }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }

    func testImplementationDescription() {
        let description = DNNL.implementationDescription()
        XCTAssertTrue(description.hasPrefix("oneDNN 2."), description)
        XCTAssertTrue(description.contains("bwd weights:"), description)
    }
}

extension DNNLKernelTests.Case: Sendable {
    func testWinogradPlansOverTheScratchpadLimitRunDirectKernels() {
        let geometry = ConvolutionGeometry(stride: 1, padding: 1)
        // A 3×3 layer of a stego encoder at R = 128, batch 64: Winograd would need ~0.4 GB.
        let large = DNNL.forwardPlanSummary(input: [64, 32, 128, 128], weight: [32, 32, 3, 3], geometry: geometry)
        XCTAssertLessThanOrEqual(large.scratchpadBytes, DNNL.scratchpadLimit, large.implementation)
        XCTAssertTrue(!large.implementation.contains("wino") || large.implementation == WinogradConvolution.kernelName,
                      "oneDNN's Winograd for a large layer: \(large.implementation)")
        // Small layers keep oneDNN's choice (Winograd where this CPU has it).
        let small = DNNL.forwardPlanSummary(input: [16, 64, 32, 32], weight: [64, 64, 3, 3], geometry: geometry)
        if DNNL.implementationDescription().contains("wino") {
            XCTAssertTrue(small.implementation.contains("wino"), "expected Winograd for a small layer, got \(small.implementation)")
        }
    }
}
