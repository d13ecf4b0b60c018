import Forensics
import Imaging
import Tensor
import XCTest

/// Each image perturbation against its defining property.
final class ImagePerturbationTests: XCTestCase {
    // MARK: Noise

    /// The added noise has the requested standard deviation and zero mean; a seed fixes it.
    func testNoiseStandardDeviationIsMeasured() throws {
        let images = Tensor(repeating: 0.5, shape: [4, 3, 64, 64])
        for deviation: Float in [0.01, 0.05] {
            var generator = SeededGenerator(seed: 3)
            let noisy = try Perturbation.gaussianNoise(standardDeviation: deviation).apply(images, using: &generator)
            let measured = moments((noisy - images).scalars)
            XCTAssertEqual(measured.standardDeviation, Double(deviation), accuracy: 0.02 * Double(deviation), "σ = \(deviation)")
            XCTAssertEqual(measured.mean, 0, accuracy: 0.02 * Double(deviation))
        }
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5), c = SeededGenerator(seed: 6)
        let noise = Perturbation.gaussianNoise(standardDeviation: 0.05)
        XCTAssertEqual(try noise.apply(images, using: &a).scalars, try noise.apply(images, using: &b).scalars)
        XCTAssertNotEqual(try noise.apply(images, using: &a).scalars, try noise.apply(images, using: &c).scalars)
    }

    /// Evaluation results stay images: noise is clamped to [0, 1].
    func testNoiseIsClampedToTheUnitRange() throws {
        var generator = SeededGenerator(seed: 1)
        let noisy = try Perturbation.gaussianNoise(standardDeviation: 0.5).apply(uniformImages([2, 3, 16, 16]), using: &generator)
        XCTAssertEqual(noisy.scalars.min(), 0)
        XCTAssertEqual(noisy.scalars.max(), 1)
    }

    // MARK: Blur

    /// Kernels sum to 1, are symmetric and peak in the middle; the default sigma is OpenCV's
    /// rule and the kernels equal torchvision's `_get_gaussian_kernel1d`.
    func testBlurKernelSumsToOne() {
        for size in [1, 3, 5, 7, 9, 15] {
            let sigma = Perturbation.defaultBlurSigma(kernelSize: size)
            let kernel = Perturbation.gaussianKernel(size: size, sigma: sigma)
            XCTAssertEqual(kernel.count, size)
            XCTAssertEqual(kernel.reduce(0, +), 1, accuracy: 1e-6, "size \(size)")
            XCTAssertEqual(kernel, kernel.reversed(), "size \(size)")
            XCTAssertEqual(kernel.max(), kernel[size / 2])
        }
        XCTAssertEqual(Perturbation.defaultBlurSigma(kernelSize: 3), 0.8, accuracy: 1e-6)
        XCTAssertEqual(Perturbation.defaultBlurSigma(kernelSize: 5), 1.1, accuracy: 1e-6)
        XCTAssertEqual(Perturbation.defaultBlurSigma(kernelSize: 9), 1.7, accuracy: 1e-6)
        let torchvision3: [Float] = [0.2389943, 0.5220115, 0.2389943]
        let torchvision5: [Float] = [0.0707664, 0.2444604, 0.3695465, 0.2444604, 0.0707664]
        for (ours, theirs) in zip(Perturbation.gaussianKernel(size: 3, sigma: 0.8), torchvision3) { XCTAssertEqual(ours, theirs, accuracy: 1e-6) }
        for (ours, theirs) in zip(Perturbation.gaussianKernel(size: 5, sigma: 1.1), torchvision5) { XCTAssertEqual(ours, theirs, accuracy: 1e-6) }
    }

    /// A constant image stays constant: away from the borders because the kernel sums to 1, and
    /// at the borders too because they are reflected. Few channels and many (oneDNN's path).
    func testBlurPreservesAConstantImage() throws {
        for channels in [3, 16] {
            let images = Tensor(repeating: 0.37, shape: [2, channels, 20, 17])
            var generator = SeededGenerator(seed: 1)
            for size in [3, 5, 9] {
                let blurred = try Perturbation.gaussianBlur(kernelSize: size).apply(images, using: &generator)
                XCTAssertEqual(blurred.shape, images.shape)
                XCTAssertLessThan(maximumDifference(blurred, images), 1e-6, "k = \(size), C = \(channels)")
            }
        }
    }

    /// The blur equals a direct 2-D convolution with the outer-product kernel on the image with
    /// mirrored borders (`dcb|abcd|cba`), written out pixel by pixel; kernel size 1 is the identity.
    func testBlurEqualsDirectConvolutionWithReflectedBorders() throws {
        let images = uniformImages([2, 2, 7, 9], seed: 4)
        let (size, sigma): (Int, Float) = (5, 1.3)
        let kernel = Perturbation.gaussianKernel(size: size, sigma: sigma)
        var generator = SeededGenerator(seed: 1)
        let blurred = try Perturbation.gaussianBlur(kernelSize: size, sigma: sigma).apply(images, using: &generator)
        func reflect(_ i: Int, _ n: Int) -> Int { i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i) }
        var worst: Float = 0
        for n in 0..<2 {
            for c in 0..<2 {
                for i in 0..<7 {
                    for j in 0..<9 {
                        var sum: Float = 0
                        for a in 0..<size {
                            for b in 0..<size {
                                sum += kernel[a] * kernel[b] * images[n, c, reflect(i + a - size / 2, 7), reflect(j + b - size / 2, 9)]
                            }
                        }
                        worst = max(worst, abs(sum - blurred[n, c, i, j]))
                    }
                }
            }
        }
        XCTAssertLessThan(worst, 1e-5)
        XCTAssertEqual(try Perturbation.gaussianBlur(kernelSize: 1).apply(images, using: &generator).scalars, images.scalars)
    }

    // MARK: JPEG

    /// PSNR rises with quality on a natural-looking image, results lie on the 8-bit grid and
    /// equal Imaging's JPEG round trip.
    func testJPEGPSNRRisesWithQuality() throws {
        let images = naturalImages(2)
        var generator = SeededGenerator(seed: 1)
        var previous = -Double.infinity
        for quality in [10, 50, 95] {
            let compressed = try Perturbation.jpeg(quality: quality).apply(images, using: &generator)
            let ratio = psnr(compressed, images)
            XCTAssertGreaterThan(ratio, previous + 2, "quality \(quality): \(ratio) dB")
            previous = ratio
            XCTAssertEqual(compressed.scalars, try JPEG.roundTrip(images, quality: quality).scalars)
            XCTAssertTrue(compressed.scalars.allSatisfy { ($0 * 255).rounded() / 255 == $0 }, "quality \(quality): off the 8-bit grid")
        }
        XCTAssertGreaterThan(previous, 30, "quality 95 (with 4:2:0 chroma) should be close to the source")
        let gray = try Perturbation.jpeg(quality: 50).apply(naturalImages(1, channels: 1), using: &generator)
        XCTAssertEqual(gray.shape, [1, 1, 64, 64])
    }

    /// JPEG takes gray or RGB; other channel counts are a typed error naming the perturbation.
    func testJPEGRejectsOtherChannelCounts() {
        var generator = SeededGenerator(seed: 1)
        XCTAssertThrowsError(try Perturbation.jpeg(quality: 50).apply(uniformImages([1, 2, 8, 8]), using: &generator)) { error in
            guard case .invalidImages(let shape, let name, _)? = error as? PerturbationError else { return XCTFail("\(error)") }
            XCTAssertEqual(shape, [1, 2, 8, 8])
            XCTAssertEqual(name, "jpeg:50")
        }
    }

    // MARK: Crops

    /// Crop sizes are exact, offsets are torchvision's (half to even), and resizing back
    /// restores the input size.
    func testCenterCropSizes() throws {
        var generator = SeededGenerator(seed: 1)
        let images = uniformImages([2, 3, 128, 128])
        let crop = try Perturbation.centerCrop(.pixels(86)).apply(images, using: &generator)
        XCTAssertEqual(crop.shape, [2, 3, 86, 86])
        XCTAssertEqual(crop.scalars, images.sliced(21..<107, alongAxis: 2).sliced(21..<107, alongAxis: 3).scalars)
        XCTAssertEqual(try Perturbation.centerCrop(.fraction(0.9)).apply(images, using: &generator).shape, [2, 3, 115, 115])
        XCTAssertEqual(try Perturbation.centerCrop(.fraction(0.5)).apply(uniformImages([1, 1, 100, 60]), using: &generator).shape,
                       [1, 1, 50, 30])
        let resized = try Perturbation.centerCrop(.pixels(86), resizedBack: true).apply(images, using: &generator)
        XCTAssertEqual(resized.shape, images.shape)
        XCTAssertEqual(resized.scalars, crop.resizedBilinear(to: Size2D(128, 128)).scalars)
        // Offsets (7 − 3) / 2 = 2 and (8 − 3) / 2 = 2.5, which Python's round (half to even) makes 2.
        let small = Tensor(shape: [1, 1, 7, 8], scalars: (0..<56).map(Float.init))
        let smallCrop = try Perturbation.centerCrop(.pixels(3)).apply(small, using: &generator)
        XCTAssertEqual(smallCrop.scalars, [18, 19, 20, 26, 27, 28, 34, 35, 36])
        XCTAssertEqual(try Perturbation.centerCrop(.pixels(128), resizedBack: true).apply(images, using: &generator).scalars,
                       images.scalars)
        XCTAssertThrowsError(try Perturbation.centerCrop(.pixels(129)).apply(images, using: &generator))
    }

    /// A random crop-and-resize keeps the size, each image is the bilinear enlargement of one
    /// window of the requested area, every position occurs, and the seed fixes them.
    func testRandomCropResizeTakesOneWindowOfTheArea() throws {
        let images = uniformImages([200, 1, 12, 12], seed: 8)
        var generator = SeededGenerator(seed: 11)
        let output = try Perturbation.randomCropResize(areaFraction: 0.5625).apply(images, using: &generator)
        XCTAssertEqual(output.shape, images.shape)
        var positions: [[Int]: Int] = [:]
        for n in 0..<200 {
            let image = images.sliced(n..<n + 1, alongAxis: 0)
            let result = output.sliced(n..<n + 1, alongAxis: 0).scalars
            var matches: [[Int]] = []
            for top in 0...3 {
                for left in 0...3 {
                    let window = image.sliced(top..<top + 9, alongAxis: 2).sliced(left..<left + 9, alongAxis: 3)
                    if window.resizedBilinear(to: Size2D(12, 12)).scalars == result { matches.append([top, left]) }
                }
            }
            XCTAssertEqual(matches.count, 1, "image \(n): \(matches.count) 9×9 windows match")
            for match in matches { positions[match, default: 0] += 1 }
        }
        XCTAssertEqual(positions.count, 16, "not every crop position occurs: \(positions)")
        var again = SeededGenerator(seed: 11)
        XCTAssertEqual(try Perturbation.randomCropResize(areaFraction: 0.5625).apply(images, using: &again).scalars, output.scalars)
    }

    // MARK: Photometric

    /// Brightness adds its offset and contrast blends with the mean luma, both clamped.
    func testBrightnessAndContrastFormulas() throws {
        var generator = SeededGenerator(seed: 1)
        let images = uniformImages([2, 3, 8, 8], low: 0.2, high: 0.8)
        let brighter = try Perturbation.brightness(offset: 0.1).apply(images, using: &generator)
        XCTAssertLessThan(maximumDifference(brighter, images + 0.1), 1e-6)
        XCTAssertEqual(try Perturbation.brightness(offset: 0.5).apply(images, using: &generator).scalars.max(), 1)
        XCTAssertEqual(try Perturbation.brightness(offset: -0.5).apply(images, using: &generator).scalars.min(), 0)

        for (channels, factor) in [(3, Float(1.2)), (1, 0.5), (3, 0)] {
            let batch = uniformImages([2, channels, 8, 8], low: 0.3, high: 0.7, seed: 5)
            let adjusted = try Perturbation.contrast(factor: factor).apply(batch, using: &generator)
            for n in 0..<2 {
                var mean = 0.0
                let weights: [Double] = channels == 3 ? [0.299, 0.587, 0.114] : [1]
                for c in 0..<channels { for i in 0..<8 { for j in 0..<8 { mean += weights[c] * Double(batch[n, c, i, j]) } } }
                mean /= 64
                for c in 0..<channels {
                    for i in 0..<8 {
                        for j in 0..<8 {
                            let expected = min(1, max(0, Double(factor) * Double(batch[n, c, i, j]) + (1 - Double(factor)) * mean))
                            XCTAssertEqual(Double(adjusted[n, c, i, j]), expected, accuracy: 1e-5)
                        }
                    }
                }
            }
        }
    }

    /// The lighting ramp keeps the mean (the ramp is antisymmetric about the centre) and moves
    /// pixels by at most the amplitude.
    func testLightingRampGain() throws {
        let images = Tensor(repeating: 0.5, shape: [3, 3, 16, 16])
        var generator = SeededGenerator(seed: 2)
        let lit = try Perturbation.lightingRamp(amplitude: 0.3).apply(images, using: &generator)
        for n in 0..<3 {
            let values = lit.sliced(n..<n + 1, alongAxis: 0).scalars
            XCTAssertEqual(moments(values).mean, 0.5, accuracy: 1e-5)
            XCTAssertGreaterThanOrEqual(values.min()!, 0.35 - 1e-6)
            XCTAssertLessThanOrEqual(values.max()!, 0.65 + 1e-6)
            XCTAssertGreaterThan(values.max()! - values.min()!, 0.2, "image \(n): no visible ramp")
            // The gain is the same for every channel.
            XCTAssertEqual(lit.sliced(n..<n + 1, alongAxis: 0).sliced(0..<1, alongAxis: 1).scalars,
                           lit.sliced(n..<n + 1, alongAxis: 0).sliced(2..<3, alongAxis: 1).scalars)
        }
    }

    // MARK: Quantisation

    /// Quantising to L levels leaves exactly L values, each k/(L−1), each within half a step;
    /// 256 levels equals the 8-bit encoders' rounding.
    func testQuantizationLevelsCounted() throws {
        var generator = SeededGenerator(seed: 1)
        let images = uniformImages([2, 3, 32, 32])
        for levels in [2, 16, 256] {
            let quantized = try Perturbation.quantization(levels: levels).apply(images, using: &generator)
            XCTAssertEqual(Set(quantized.scalars).count, levels, "levels \(levels)")
            let top = Float(levels - 1), step = 1 / top
            XCTAssertTrue(quantized.scalars.allSatisfy { abs(($0 * top).rounded() - $0 * top) < 1e-4 }, "levels \(levels): off the grid")
            XCTAssertLessThanOrEqual(maximumDifference(quantized, images), step / 2 + 1e-6)
        }
        let eightBit = try Perturbation.quantization(levels: 256).apply(images, using: &generator)
        XCTAssertEqual(eightBit.scalars, images.scalars.map { Float(UInt8(($0 * 255 + 0.5).rounded(.down))) / 255 })
        let png = try PNG.decode(PNG.encode(images.sliced(0..<1, alongAxis: 0).reshaped(to: [3, 32, 32])))
        XCTAssertEqual(eightBit.sliced(0..<1, alongAxis: 0).scalars, png.scalars)
    }

    // MARK: Combination

    /// The same seed gives the same combined attack; another seed another one; results are images.
    func testCombinationIsDeterministicForASeed() throws {
        let images = naturalImages(6, height: 32, width: 32)
        var a = SeededGenerator(seed: 21), b = SeededGenerator(seed: 21), c = SeededGenerator(seed: 22)
        let combo = Perturbation.randomCombination()
        let first = try combo.apply(images, using: &a)
        XCTAssertEqual(first.shape, images.shape)
        XCTAssertEqual(first.scalars, try combo.apply(images, using: &b).scalars)
        XCTAssertNotEqual(first.scalars, try combo.apply(images, using: &c).scalars)
        XCTAssertTrue(first.scalars.allSatisfy { (0...1).contains($0) })
    }

    /// Each image gets the stages `drawStages` draws for it, applied in order from the same stream.
    func testCombinationAppliesTheDrawnStagesPerImage() throws {
        let images = naturalImages(5, height: 32, width: 32)
        var generator = SeededGenerator(seed: 4)
        let output = try Perturbation.randomCombination().apply(images, using: &generator)
        var replay = SeededGenerator(seed: 4)
        for n in 0..<5 {
            let stages = RandomCombination.iccv19.drawStages(using: &replay)
            let expected = try Perturbation.sequence(stages).apply(images.sliced(n..<n + 1, alongAxis: 0), using: &replay)
            XCTAssertEqual(output.sliced(n..<n + 1, alongAxis: 0).scalars, expected.scalars, "image \(n): \(stages)")
        }
        XCTAssertEqual(generator, replay)
    }

    /// The ICCV'19 definition: each attack with probability ½, in the order relighting, crop,
    /// blur, JPEG, noise, with strengths in the paper's ranges.
    func testCombinationDrawsFollowThePaper() {
        var generator = SeededGenerator(seed: 9)
        let draws = 4000
        var counts: [String: Int] = [:]
        var qualities = Set<Int>(), sizes = Set<Int>()
        let order = ["lightramp", "cropresize", "blur", "jpeg", "noise"]
        for _ in 0..<draws {
            let stages = RandomCombination.iccv19.drawStages(using: &generator)
            let names = stages.map { String($0.description.prefix { $0 != ":" }) }
            XCTAssertEqual(names, order.filter(names.contains), "out of order: \(names)")
            for (name, stage) in zip(names, stages) {
                counts[name, default: 0] += 1
                switch stage {
                case .lightingRamp(let amplitude): XCTAssertTrue((0...0.3).contains(amplitude))
                case .randomCropResize(let area): XCTAssertTrue((0.8 * 0.8...0.95 * 0.95).contains(area), "\(area)")
                case .gaussianBlur(let size, nil): sizes.insert(size)
                case .jpeg(let quality): qualities.insert(quality)
                case .gaussianNoise(let deviation):
                    XCTAssertTrue((Float(5).squareRoot() / 255...Float(20).squareRoot() / 255).contains(deviation), "\(deviation)")
                default: XCTFail("unexpected stage \(stage)")
                }
            }
        }
        for name in order {
            XCTAssertEqual(Double(counts[name, default: 0]) / Double(draws), 0.5, accuracy: 0.03, name)
        }
        XCTAssertEqual(sizes, [1, 3, 5, 7, 9])
        XCTAssertEqual(qualities, Set(10...75))
        var std = RandomCombination.iccv19
        std.noiseScale = .standardDeviation
        for stage in (0..<200).flatMap({ _ in std.drawStages(using: &generator) }) {
            if case .gaussianNoise(let deviation) = stage { XCTAssertTrue((Float(5) / 255...Float(20) / 255).contains(deviation)) }
        }
    }

    // MARK: Composition and errors

    /// A sequence is its stages applied one after the other from the same random stream.
    func testSequenceAppliesStagesInOrder() throws {
        let images = naturalImages(2, height: 24, width: 24)
        let noise = Perturbation.gaussianNoise(standardDeviation: 0.05), blur = Perturbation.gaussianBlur(kernelSize: 3)
        let jpeg = Perturbation.jpeg(quality: 40)
        var a = SeededGenerator(seed: 3), b = SeededGenerator(seed: 3)
        let composed = try noise.then(blur).then(jpeg).apply(images, using: &a)
        let stepwise = try jpeg.apply(blur.apply(noise.apply(images, using: &b), using: &b), using: &b)
        XCTAssertEqual(composed.scalars, stepwise.scalars)
        XCTAssertEqual(try Perturbation.identity.apply(images, using: &a).scalars, images.scalars)
    }

    /// Every perturbation gives images in [0, 1] of the input's shape (crops without resizing
    /// excepted for the shape).
    func testEvaluationResultsAreImages() throws {
        let images = uniformImages([3, 3, 24, 24], seed: 12)
        for text in ["noise:0.2", "blur:7", "jpeg:20", "crop:0.5:resize", "cropresize:0.5", "brightness:0.3",
                     "contrast:1.8", "quantize:4", "lightramp:0.9", "combo", "combo:std", "noise:0.1+contrast:2+blur:3"] {
            var generator = SeededGenerator(seed: 1)
            let output = try Perturbation(parsing: text).apply(images, using: &generator)
            XCTAssertEqual(output.shape, images.shape, text)
            XCTAssertTrue(output.scalars.allSatisfy { (0...1).contains($0) }, text)
            XCTAssertFalse(output.requiresGradient, text)
        }
    }

    /// Parameters out of range and unfit batches are typed errors, not crashes.
    func testInvalidParametersAndBatchesAreErrors() {
        var generator = SeededGenerator(seed: 1)
        let images = uniformImages([1, 3, 8, 8])
        func error(_ perturbation: Perturbation, _ input: Tensor = uniformImages([1, 3, 8, 8])) -> PerturbationError? {
            do { _ = try perturbation.apply(input, using: &generator); return nil } catch { return error }
        }
        for invalid: Perturbation in [.gaussianBlur(kernelSize: 4), .gaussianBlur(kernelSize: 3, sigma: 0), .jpeg(quality: 0),
                                      .gaussianNoise(standardDeviation: -1), .centerCrop(.fraction(1.5)), .quantization(levels: 1),
                                      .randomCropResize(areaFraction: 0), .contrast(factor: -1), .lightingRamp(amplitude: 2),
                                      .randomCombination(RandomCombination(blurKernelSizes: [2])),
                                      .sequence([.brightness(offset: 0.1), .jpeg(quality: 200)])] {
            guard case .invalidParameter? = error(invalid) else { return XCTFail("\(invalid) accepted") }
        }
        XCTAssertNil(error(.gaussianBlur(kernelSize: 15), images), "a 15×15 blur reflects 7 of 8 pixels")
        guard case .invalidImages(_, _, let reason)? = error(.gaussianBlur(kernelSize: 17), images) else { return XCTFail("17×17 blur of 8×8") }
        XCTAssertTrue(reason.contains("blur"), reason)
        guard case .invalidImages? = error(.brightness(offset: 0), images.reshaped(to: [3, 8, 8])) else { return XCTFail("rank 3") }
        guard case .invalidImages? = error(.centerCrop(.pixels(4)).then(.gaussianBlur(kernelSize: 9))) else {
            return XCTFail("blur after a crop to 4×4")
        }
        guard case .invalidImages? = error(.randomCombination(), uniformImages([1, 3, 4, 4])) else {
            return XCTFail("combination that may blur 4×4 images with a 9×9 kernel")
        }
    }
}
