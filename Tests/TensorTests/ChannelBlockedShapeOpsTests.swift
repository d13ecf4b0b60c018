import XCTest
import TestSupport
@testable import Tensor

/// Concatenation along channels, its backward slices and nearest upsampling computed on
/// convolution outputs in their blocked layout (`ChannelBlockedKernels`): the values must be
/// exactly those of the row-major path, and the next convolution must read them without a reorder.
final class ChannelBlockedShapeOpsTests: XCTestCase {
    func plainCopy(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, scalars: t.scalars) }

    /// Two blocked convolution outputs (32 and 16 channels) and a row-major 6-channel tensor.
    func operands(seed: UInt64) -> (Tensor, Tensor, Tensor) {
        var random = SeededGenerator(seed: seed)
        let x = Tensor.normal([3, 8, 6, 5], using: &random)
        let a = Tensor.conv2d(x, weight: Tensor.normal([32, 8, 3, 3], standardDeviation: 0.2, using: &random), padding: 1)
        let b = Tensor.conv2d(x, weight: Tensor.normal([16, 8, 3, 3], standardDeviation: 0.2, using: &random), padding: 1)
        let c = Tensor.normal([3, 6, 6, 5], using: &random)
        return (a, b, c)
    }

    func testConcatenationOfBlockedOutputsStaysBlockedAndFeedsTheNextConvolutionDirectly() throws {
        let (a, b, c) = operands(seed: 1)
        XCTAssertNotNil(ChannelBlockedValues(a), "the test needs a blocked-only convolution output")
        let joined = Tensor.concatenate([a, b, c], alongAxis: 1)     // 54 channels, the last block padded
        XCTAssertNotNil(ChannelBlockedValues(joined), "joined in the blocked layout")
        var random = SeededGenerator(seed: 2)
        let w = Tensor.normal([32, 54, 3, 3], standardDeviation: 0.1, using: &random)
        let y = Tensor.conv2d(joined, weight: w, padding: 1)
        XCTAssertFalse(joined.storage.hasPlainValues, "the convolution took the blocked values as they were")

        let reference = Tensor.concatenate([plainCopy(a), plainCopy(b), c], alongAxis: 1)
        XCTAssertEqual(joined.scalars, reference.scalars)
        XCTAssertTrue(y.isAlmostEqual(to: Tensor.conv2d(reference, weight: w, padding: 1), tolerance: 1e-5))
        // A row-major operand in the middle, and blocked-only operands in a reshaped form, also work.
        let (d, e, _) = operands(seed: 3)
        let rowMajor = Tensor.normal([3, 16, 6, 5], using: &random)
        let middle = Tensor.concatenate([d, rowMajor, e], alongAxis: 1)
        XCTAssertNotNil(ChannelBlockedValues(middle))
        XCTAssertEqual(middle.scalars, Tensor.concatenate([plainCopy(d), rowMajor, plainCopy(e)], alongAxis: 1).scalars)
    }

    func testUnalignedOperandFallsBackToRowMajor() {
        let (a, _, c) = operands(seed: 4)
        let joined = Tensor.concatenate([c, a], alongAxis: 1)        // starts with 6 channels: no block boundary
        XCTAssertNil(ChannelBlockedValues(joined))
        XCTAssertEqual(joined.scalars, Tensor.concatenate([c, plainCopy(a)], alongAxis: 1).scalars)
    }

    func testBlockedSlicesOfAGradientMatchRowMajorSlices() throws {
        var random = SeededGenerator(seed: 5)
        let x = Tensor.normal([2, 8, 5, 4], using: &random)
        let g = Tensor.conv2d(x, weight: Tensor.normal([54, 8, 3, 3], using: &random), padding: 1)
        XCTAssertNotNil(ChannelBlockedValues(g))
        let ranges = [0..<32, 16..<48, 48..<54, 32..<54]
        let slices = ranges.map { g.channelPiece($0) }        // before reading g row-major
        for (range, slice) in zip(ranges, slices) {
            XCTAssertNotNil(ChannelBlockedValues(slice), "\(range) stays blocked")
            XCTAssertEqual(slice.scalars, plainCopy(g).sliced(range, alongAxis: 1).scalars, "\(range)")
        }
        XCTAssertEqual(g.channelPiece(8..<24).scalars, plainCopy(g).sliced(8..<24, alongAxis: 1).scalars)
        // A start off the block boundary (blocks are 16 channels with AVX-512, 8 with AVX2 only).
        let h = Tensor.conv2d(x, weight: Tensor.normal([54, 8, 3, 3], using: &random), padding: 1)
        let block = try XCTUnwrap(ChannelBlockedValues(h)).block
        let unaligned = block / 2 ..< block / 2 + 16
        let piece = h.channelPiece(unaligned)
        XCTAssertNil(ChannelBlockedValues(piece), "\(unaligned) with blocks of \(block): row-major")
        XCTAssertEqual(piece.scalars, plainCopy(h).sliced(unaligned, alongAxis: 1).scalars)
    }

    func testNearestUpsamplingAndItsAdjointStayBlockedAndMatch() {
        var random = SeededGenerator(seed: 6)
        let x = Tensor.normal([2, 8, 5, 3], using: &random)
        for channels in [32, 20] {
            let w = Tensor.normal([channels, 8, 3, 3], using: &random)
            let up = Tensor.conv2d(x, weight: w, padding: 1).upsampledNearest(scale: Size2D(2, 3))
            XCTAssertNotNil(ChannelBlockedValues(up), "\(channels) channels: upsampled in the layout")
            let reference = plainCopy(Tensor.conv2d(x, weight: w, padding: 1)).upsampledNearest(scale: Size2D(2, 3))
            XCTAssertEqual(up.scalars, reference.scalars)

            let down = Tensor.conv2d(x, weight: w, padding: 1).nearestUpsampleAdjoint(scale: Size2D(5, 1))
            XCTAssertNotNil(ChannelBlockedValues(down))
            let referenceDown = plainCopy(Tensor.conv2d(x, weight: w, padding: 1)).nearestUpsampleAdjoint(scale: Size2D(5, 1))
            XCTAssertTrue(down.isAlmostEqual(to: referenceDown, tolerance: 1e-6))
        }
    }

    /// A U-Net step (upsample, join with a skip connection and a row-major input, convolve) whose
    /// forward and backward passes both run in the blocked layout: gradients against finite
    /// differences, and equal to those of the row-major path.
    func testUNetJoinGradientsMatchFiniteDifferencesAndTheRowMajorPath() {
        var random = SeededGenerator(seed: 7)
        let x = Tensor.normal([2, 3, 4, 4], using: &random)
        let image = Tensor.normal([2, 2, 8, 8], using: &random)
        let wDown = Tensor.normal([16, 3, 3, 3], standardDeviation: 0.3, using: &random)
        let wSkip = Tensor.normal([16, 3, 3, 3], standardDeviation: 0.3, using: &random)
        let wOut = Tensor.normal([4, 34, 3, 3], standardDeviation: 0.2, using: &random)
        func uNet(_ t: [Tensor], rowMajor: Bool) -> Tensor {
            // Pad and crop: the same values, row-major.
            func maybePlain(_ y: Tensor) -> Tensor { rowMajor ? y.padded([(0, 1)]).sliced(0..<y.shape[3], alongAxis: 3) : y }
            // A smooth activation (a ReLU's kinks would defeat finite differences), kept blocked.
            let low = maybePlain(Tensor.conv2d(t[0], weight: t[1], padding: 1).sigmoid())
            let skip = maybePlain(Tensor.conv2d(t[0].upsampledNearest(scale: 2), weight: t[2], padding: 1))
            let joined = Tensor.concatenate([low.upsampledNearest(scale: 2), skip, t[4]], alongAxis: 1)
            return Tensor.conv2d(joined, weight: t[3], padding: 1)
        }
        assertGradientsMatchFiniteDifferences([x, wDown, wSkip, wOut, image], epsilon: 1e-2, tolerance: 2e-2) {
            uNet($0, rowMajor: false)
        }
        let leaves = [x, wDown, wSkip, wOut, image].map { $0.requiringGradient() }
        let r = Tensor.normal([2, 4, 8, 8], using: &random)
        let blocked = gradients(of: (uNet(leaves, rowMajor: false) * r).sum(), with: leaves)
        let rowMajor = gradients(of: (uNet(leaves, rowMajor: true) * r).sum(), with: leaves)
        for (index, (g1, g2)) in zip(blocked, rowMajor).enumerated() {
            XCTAssertTrue(g1.isAlmostEqual(to: g2, tolerance: 1e-4), "input \(index)")
        }
    }
}
