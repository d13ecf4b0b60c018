import Tensor

/// The combined attack of Yu et al., "Attributing Fake Images to GANs" (ICCV'19, §4.4): for each
/// image, each attack is applied with probability 0.5, in the order relighting → cropping →
/// blur → JPEG → noise, each at a strength drawn per image from the paper's range.
///
/// The paper's ranges (gan-fingerprints spec §5 and §10.6):
/// - relighting: SfSNet, which gfp does not have; the spec's stand-in is a lighting ramp
///   (`Perturbation.lightingRamp`) with amplitude `a ~ U[−0.3, 0.3]`. As the ramp's direction is
///   uniform, gfp draws `|a| ~ U[0, 0.3]`, the same distribution. `nil` leaves relighting out.
/// - cropping: "a random offset between 5% and 20% of the side lengths", then resized back:
///   `f ~ U[0.05, 0.20]`, a `(1 − f)·side` crop at a random position, bilinear resize.
/// - blur: Gaussian, kernel size uniform in {1, 3, 5, 7, 9}, sigma by
///   `Perturbation.defaultBlurSigma(kernelSize:)` (the paper gives none).
/// - JPEG: quality uniform in 10...75 (the bounds are lost from the supplied paper text; the
///   spec takes U[10, 75], the published paper's range).
/// - noise: i.i.d. Gaussian with "variance ~ U[5.0, 20.0]"; the units are not stated, read as
///   the 0–255 scale, so σ = √v / 255. Whether the paper meant σ instead is unclear;
///   `noiseScale = .standardDeviation` (`combo:std`) reads the draw as σ·255.
public struct RandomCombination: Hashable, Sendable, CustomStringConvertible {
    /// How the noise draw is read.
    public enum NoiseScale: Hashable, Sendable {
        /// The draw is the variance on the 0–255 scale: σ = √v / 255.
        case variance
        /// The draw is the standard deviation on the 0–255 scale: σ = v / 255.
        case standardDeviation
    }

    /// The probability of applying each attack.
    public var probability: Float
    /// The largest lighting-ramp amplitude, or nil to leave relighting out.
    public var lightingRampAmplitude: Float?
    /// The range of the crop offset `f`; the crop keeps `(1 − f)` of each side.
    public var cropOffset: ClosedRange<Float>
    /// The blur kernel sizes, drawn uniformly.
    public var blurKernelSizes: [Int]
    /// The range of JPEG qualities, drawn uniformly.
    public var jpegQuality: ClosedRange<Int>
    /// The range of the noise draw (0–255 scale), read as `noiseScale` says.
    public var noiseStrength: ClosedRange<Float>
    /// How the noise draw is read.
    public var noiseScale: NoiseScale

    public init(probability: Float = 0.5, lightingRampAmplitude: Float? = 0.3, cropOffset: ClosedRange<Float> = 0.05...0.2,
                blurKernelSizes: [Int] = [1, 3, 5, 7, 9], jpegQuality: ClosedRange<Int> = 10...75,
                noiseStrength: ClosedRange<Float> = 5...20, noiseScale: NoiseScale = .variance) {
        self.probability = probability
        self.lightingRampAmplitude = lightingRampAmplitude
        self.cropOffset = cropOffset
        self.blurKernelSizes = blurKernelSizes
        self.jpegQuality = jpegQuality
        self.noiseStrength = noiseStrength
        self.noiseScale = noiseScale
    }

    /// The ICCV'19 combination with the ranges above (`combo`).
    public static let iccv19 = RandomCombination()

    /// Draws the attacks for one image: for each attack in order, a Bernoulli(`probability`)
    /// choice and, when chosen, its strength. Crop positions, ramp directions and noise are drawn
    /// when the stages are applied.
    public func drawStages(using generator: inout SeededGenerator) -> [Perturbation] {
        var stages: [Perturbation] = []
        func chosen() -> Bool { generator.nextUnitDouble() < Double(probability) }
        if let amplitude = lightingRampAmplitude, chosen() {
            stages.append(.lightingRamp(amplitude: generator.nextFloat(in: 0...amplitude)))
        }
        if chosen() {
            let keep = 1 - generator.nextFloat(in: cropOffset)
            stages.append(.randomCropResize(areaFraction: keep * keep))
        }
        if chosen() {
            stages.append(.gaussianBlur(kernelSize: blurKernelSizes[generator.nextInt(in: 0...blurKernelSizes.count - 1)]))
        }
        if chosen() {
            stages.append(.jpeg(quality: generator.nextInt(in: jpegQuality)))
        }
        if chosen() {
            let strength = generator.nextFloat(in: noiseStrength)
            let deviation = noiseScale == .variance ? strength.squareRoot() / 255 : strength / 255
            stages.append(.gaussianNoise(standardDeviation: deviation))
        }
        return stages
    }

    /// The strongest stage of each kind it may draw, for shape checks.
    var possibleStages: [Perturbation] {
        var stages: [Perturbation] = [.jpeg(quality: jpegQuality.lowerBound)]
        if let largest = blurKernelSizes.max() { stages.append(.gaussianBlur(kernelSize: largest)) }
        return stages
    }

    /// Why a parameter is out of range, or nil.
    var invalidParameterReason: String? {
        if !(0...1).contains(probability) { return "combination probability \(probability) must be in [0, 1]" }
        if let amplitude = lightingRampAmplitude, !(0...1).contains(amplitude) {
            return "combination lighting ramp amplitude \(amplitude) must be in [0, 1]"
        }
        if !(cropOffset.lowerBound >= 0 && cropOffset.upperBound < 1) {
            return "combination crop offset range \(cropOffset) must lie in [0, 1)"
        }
        if blurKernelSizes.isEmpty || blurKernelSizes.contains(where: { $0 < 1 || $0 % 2 == 0 }) {
            return "combination blur kernel sizes \(blurKernelSizes) must be odd, positive and not empty"
        }
        if !(jpegQuality.lowerBound >= 1 && jpegQuality.upperBound <= 100) {
            return "combination JPEG qualities \(jpegQuality) must lie in 1...100"
        }
        if !(noiseStrength.lowerBound >= 0 && noiseStrength.upperBound.isFinite) {
            return "combination noise range \(noiseStrength) must be finite and ≥ 0"
        }
        return nil
    }

    /// `combo` for the paper's combination, `combo:std` for it with the noise draw read as σ;
    /// other settings print as a readable summary that does not parse.
    public var description: String {
        var paper = self
        paper.noiseScale = .variance
        if paper == .iccv19 { return noiseScale == .variance ? "combo" : "combo:std" }
        let relighting = lightingRampAmplitude.map { "\($0)" } ?? "off"
        return "combo(p: \(probability), lightramp: \(relighting), crop offset: \(cropOffset), blur: \(blurKernelSizes), "
            + "jpeg: \(jpegQuality), noise: \(noiseStrength) as \(noiseScale == .variance ? "variance" : "σ") on 0–255)"
    }
}
