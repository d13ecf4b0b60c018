import Forensics
import Imaging
import Tensor
import TestSupport
import XCTest

/// The training forms pass gradients to the images: checked by finite differences where the
/// function is differentiable, and the straight-through estimators' gradient is the identity.
final class DifferentiablePerturbationTests: XCTestCase {
    /// `applyDifferentiably` with a fresh generator of `seed`, so every evaluation of a finite
    /// difference draws the same noise and crop positions.
    private func differentiable(_ perturbation: Perturbation, seed: UInt64 = 5) -> ([Tensor]) -> Tensor {
        { inputs in
            var generator = SeededGenerator(seed: seed)
            return try! perturbation.applyDifferentiably(inputs[0], using: &generator)
        }
    }

    /// Noise is additive: its gradient is exactly the identity, and finite differences agree.
    func testNoiseGradientIsTheIdentity() throws {
        let images = uniformImages([2, 3, 5, 5]).requiringGradient()
        var generator = SeededGenerator(seed: 1)
        let noisy = try Perturbation.gaussianNoise(standardDeviation: 0.3).applyDifferentiably(images, using: &generator)
        let weights = uniformImages([2, 3, 5, 5], low: -1, high: 1, seed: 9)
        let gradient = gradients(of: (noisy * weights).sum(), with: [images])[0]
        XCTAssertEqual(gradient.scalars, weights.scalars)
        assertGradientsMatchFiniteDifferences([uniformImages([1, 2, 4, 4])], differentiable(.gaussianNoise(standardDeviation: 0.1)))
    }

    /// The blur (reflected borders, separable FIR) is linear and differentiable, with few and
    /// with many channels (the generic kernel and oneDNN's depthwise convolution).
    func testBlurGradientMatchesFiniteDifferences() {
        assertGradientsMatchFiniteDifferences([uniformImages([1, 2, 7, 6], seed: 3)], differentiable(.gaussianBlur(kernelSize: 5)))
        assertGradientsMatchFiniteDifferences([uniformImages([1, 8, 5, 5], seed: 4)],
                                              differentiable(.gaussianBlur(kernelSize: 3, sigma: 1.4)))
    }

    /// Crops (slicing and bilinear resizing) are differentiable, the random one at fixed positions.
    func testCropGradientsMatchFiniteDifferences() {
        assertGradientsMatchFiniteDifferences([uniformImages([1, 2, 9, 8], seed: 5)],
                                              differentiable(.centerCrop(.fraction(0.7), resizedBack: true)))
        assertGradientsMatchFiniteDifferences([uniformImages([1, 1, 7, 7], seed: 6)], differentiable(.centerCrop(.pixels(4))))
        assertGradientsMatchFiniteDifferences([uniformImages([3, 1, 8, 8], seed: 7)],
                                              differentiable(.randomCropResize(areaFraction: 0.5)))
    }

    /// Brightness, contrast (through the mean too) and the lighting ramp are linear without the clamp.
    func testPhotometricGradientsMatchFiniteDifferences() {
        assertGradientsMatchFiniteDifferences([uniformImages([2, 3, 4, 4], seed: 8)], differentiable(.brightness(offset: 0.9)))
        assertGradientsMatchFiniteDifferences([uniformImages([2, 3, 4, 4], seed: 9)], differentiable(.contrast(factor: 1.7)))
        assertGradientsMatchFiniteDifferences([uniformImages([1, 1, 4, 4], seed: 10)], differentiable(.contrast(factor: 0.3)))
        assertGradientsMatchFiniteDifferences([uniformImages([2, 3, 4, 4], seed: 11)], differentiable(.lightingRamp(amplitude: 0.8)))
    }

    /// Straight-through JPEG: the forward value is the real codec's, the gradient the identity.
    func testJPEGStraightThroughEstimator() throws {
        let images = naturalImages(2, height: 16, width: 16).requiringGradient()
        var generator = SeededGenerator(seed: 1)
        let compressed = try Perturbation.jpeg(quality: 30).applyDifferentiably(images, using: &generator)
        let real = try JPEG.roundTrip(images.detached(), quality: 30)
        XCTAssertLessThan(maximumDifference(compressed, real), 1e-6)
        XCTAssertGreaterThan(maximumDifference(real, images), 0.01, "quality 30 should change the image")
        let weights = uniformImages(images.shape, low: -1, high: 1, seed: 3)
        XCTAssertEqual(gradients(of: (compressed * weights).sum(), with: [images])[0].scalars, weights.scalars)
    }

    /// Straight-through quantisation likewise.
    func testQuantizationStraightThroughEstimator() throws {
        let images = uniformImages([1, 3, 6, 6]).requiringGradient()
        var generator = SeededGenerator(seed: 1)
        let quantized = try Perturbation.quantization(levels: 4).applyDifferentiably(images, using: &generator)
        XCTAssertLessThan(maximumDifference(quantized, try Perturbation.quantization(levels: 4).apply(images, using: &generator)), 1e-6)
        let weights = uniformImages(images.shape, low: -1, high: 1, seed: 3)
        XCTAssertEqual(gradients(of: (quantized * weights).sum(), with: [images])[0].scalars, weights.scalars)
    }

    /// The training form draws what the evaluation form draws: without clamping to trigger, the
    /// two agree; a differentiable combination passes a gradient to every image.
    func testTrainingFormDrawsLikeTheEvaluationForm() throws {
        let images = uniformImages([3, 3, 16, 16], low: 0.3, high: 0.7)
        let perturbation = try Perturbation(parsing: "cropresize:0.7+blur:3+noise:0.01")
        var a = SeededGenerator(seed: 8), b = SeededGenerator(seed: 8)
        XCTAssertLessThan(maximumDifference(try perturbation.apply(images, using: &a),
                                            try perturbation.applyDifferentiably(images, using: &b)), 1e-6)
        XCTAssertEqual(a, b)

        let leaf = naturalImages(4, height: 16, width: 16).requiringGradient()
        var generator = SeededGenerator(seed: 2)
        let combined = try Perturbation.randomCombination().applyDifferentiably(leaf, using: &generator)
        XCTAssertEqual(combined.shape, leaf.shape)
        let gradient = gradients(of: combined.sum(), with: [leaf])[0]
        for n in 0..<4 {
            XCTAssertGreaterThan(gradient.sliced(n..<n + 1, alongAxis: 0).abs().sum().scalar, 0, "image \(n) got no gradient")
        }
    }
}
