import Foundation
import Imaging
import Tensor

/// An image perturbation, as the robustness studies of the three papers apply them to image
/// batches `[N, C, H, W]` in [0, 1].
///
/// Perturbations are values: they compare, hash, print as their CLI spelling (`description`,
/// for example `noise:0.05+jpeg:50`) and parse from it (`Perturbation(parsing:)`). Randomness
/// (noise, crop positions, the combination's choices) comes only from the generator passed to
/// `apply`, so a seed gives the same result on every machine. Random choices are drawn per
/// image, in batch order.
///
/// Two ways to apply one:
/// - `apply(_:using:)` evaluates: real JPEG through libjpeg-turbo, results clamped to [0, 1],
///   nothing recorded for autograd.
/// - `applyDifferentiably(_:using:)` is the training form for immunisation: the same random
///   draws and the same operations composed of differentiable `Tensor` ops, without the clamp
///   (noise, brightness, contrast and the lighting ramp stay linear), and with straight-through
///   estimators for the two that have no useful gradient: JPEG and quantisation compute their
///   real forward value `q(x)` as `x + (q(x) − x).detached()`, so their gradient is the identity.
public enum Perturbation: Hashable, Sendable {
    /// Additive i.i.d. Gaussian noise with `standardDeviation` in [0, 1] image units (`noise:σ`).
    case gaussianNoise(standardDeviation: Float)
    /// Gaussian blur with an odd `kernelSize`; `sigma` defaults to
    /// `defaultBlurSigma(kernelSize:)` (`blur:k`, `blur:k:σ`). Borders are reflected without
    /// repeating the edge (OpenCV's default `BORDER_REFLECT_101`, PyTorch's `reflect`), so a
    /// constant image stays constant everywhere. Kernel size 1 is the identity.
    case gaussianBlur(kernelSize: Int, sigma: Float? = nil)
    /// Compression through libjpeg-turbo at `quality` 1...100 (Pillow's defaults, 4:2:0): each
    /// image is rounded to 8 bits, encoded and decoded (`jpeg:q`). Images with 1 or 3 channels.
    case jpeg(quality: Int)
    /// The centred crop of `size`, optionally resized back to the input size with bilinear
    /// interpolation (`crop:86`, `crop:0.9`, `crop:86:resize`). Offsets are torchvision's.
    case centerCrop(CropSize, resizedBack: Bool = false)
    /// A crop covering `areaFraction` of the image (each side scaled by its square root, so the
    /// aspect ratio is kept) at a uniformly random position, resized back to the input size with
    /// bilinear interpolation (`cropresize:0.8`).
    case randomCropResize(areaFraction: Float)
    /// `x + offset` (`brightness:0.1`).
    case brightness(offset: Float)
    /// `factor · x + (1 − factor) · m`, with `m` the image's mean luma (ITU-R 601-2 for RGB, the
    /// mean for gray): torchvision's `adjust_contrast` (`contrast:1.2`). 1 or 3 channels.
    case contrast(factor: Float)
    /// Rounding to `levels` equally spaced values in [0, 1], `⌊x·(L−1) + ½⌋ / (L−1)` after
    /// clamping (`quantize:16`; `quantize:256` is 8 bits, equal to an 8-bit PNG round trip).
    case quantization(levels: Int)
    /// A smooth lighting change: the image times the gain `1 + amplitude · r`, with `r` a linear
    /// ramp from −1 to 1 across the image in a uniformly random direction (`lightramp:0.3`).
    /// The gan-fingerprints spec's stand-in for SfSNet relighting (§10.6), not relighting itself.
    case lightingRamp(amplitude: Float)
    /// The random combination of the ICCV'19 paper (`combo`): see `RandomCombination`.
    case randomCombination(RandomCombination = .iccv19)
    /// The perturbations applied in order (`a+b`); the empty sequence is the identity (`none`).
    case sequence([Perturbation])

    /// Leaves images unchanged (`none`).
    public static let identity = Perturbation.sequence([])

    /// The size of a centre crop.
    public enum CropSize: Hashable, Sendable, CustomStringConvertible {
        /// A square of this many pixels per side.
        case pixels(Int)
        /// Each side scaled by this fraction in (0, 1] and rounded to the nearest pixel (half to even).
        case fraction(Float)

        /// The crop's extent for an image of `height × width`.
        public func extent(height: Int, width: Int) -> (height: Int, width: Int) {
            switch self {
            case .pixels(let side): return (side, side)
            case .fraction(let fraction): return (scaledSide(height, fraction), scaledSide(width, fraction))
            }
        }

        public var description: String {
            switch self {
            case .pixels(let side): return "\(side)"
            case .fraction(let fraction): return "\(fraction)"
            }
        }
    }

    // MARK: Composition

    /// This perturbation followed by `next`, as one flat sequence.
    public func then(_ next: Perturbation) -> Perturbation {
        Perturbation.composed([self, next])
    }

    /// The perturbations applied in order, flattened (nested sequences are spliced in, identities
    /// dropped); a single perturbation is returned as itself.
    public static func composed(_ perturbations: [Perturbation]) -> Perturbation {
        let flat = perturbations.flatMap(\.stages)
        return flat.count == 1 ? flat[0] : .sequence(flat)
    }

    /// The flat list of perturbations this one applies in order (itself unless a sequence).
    public var stages: [Perturbation] {
        if case .sequence(let list) = self { return list.flatMap(\.stages) }
        return [self]
    }

    // MARK: Blur kernel

    /// The blur sigma for a kernel size when none is given: `0.3 · ((k − 1) · 0.5 − 1) + 0.8`,
    /// OpenCV's `getGaussianKernel` rule and torchvision's `GaussianBlur` default. (OpenCV itself
    /// uses fixed binomial tables for k ≤ 7; torchvision and gfp use this sigma for every k.)
    public static func defaultBlurSigma(kernelSize: Int) -> Float {
        0.3 * (Float(kernelSize - 1) * 0.5 - 1) + 0.8
    }

    /// The normalised 1-D Gaussian kernel `exp(−(i − (k−1)/2)² / 2σ²) / Σ` (torchvision's
    /// `_get_gaussian_kernel1d`); the 2-D blur is its outer product, applied separably.
    public static func gaussianKernel(size: Int, sigma: Float) -> [Float] {
        precondition(size >= 1 && size % 2 == 1 && sigma > 0, "Gaussian kernel of size \(size), sigma \(sigma)")
        let centre = Double(size - 1) / 2, s = Double(sigma)
        let weights = (0..<size).map { exp(-(Double($0) - centre) * (Double($0) - centre) / (2 * s * s)) }
        let total = weights.reduce(0, +)
        return weights.map { Float($0 / total) }
    }

    // MARK: Application

    /// Perturbs `images` `[N, C, H, W]` for evaluation: exact codecs, results in [0, 1], no
    /// gradient recorded.
    /// - Throws: `PerturbationError.invalidParameter` for a parameter out of range,
    ///   `.invalidImages` for a batch the perturbation cannot take, `.imaging` if JPEG fails.
    public func apply(_ images: Tensor, using generator: inout SeededGenerator) throws(PerturbationError) -> Tensor {
        try validate()
        try Perturbation.checkBatch(images, for: self)
        let input = images.detached()
        let result: Result<Tensor, PerturbationError> = withoutGradients {
            Result { () throws(PerturbationError) -> Tensor in
                try perturbed(input, using: &generator, differentiable: false)
            }
        }
        return try result.get()
    }

    /// Perturbs `images` for training, with gradients to `images` (see the type's notes: no
    /// clamping, straight-through JPEG and quantisation). The random draws equal `apply`'s for
    /// the same generator state.
    /// - Throws: as `apply(_:using:)`.
    public func applyDifferentiably(_ images: Tensor, using generator: inout SeededGenerator) throws(PerturbationError) -> Tensor {
        try validate()
        try Perturbation.checkBatch(images, for: self)
        return try perturbed(images, using: &generator, differentiable: true)
    }

    /// Throws `PerturbationError.invalidParameter` if a parameter is out of range.
    public func validate() throws(PerturbationError) {
        if let reason = invalidParameterReason { throw .invalidParameter(perturbation: description, reason: reason) }
    }

    /// Why a parameter is out of range, or nil.
    var invalidParameterReason: String? {
        switch self {
        case .gaussianNoise(let deviation):
            return deviation.isFinite && deviation >= 0 ? nil : "noise standard deviation \(deviation) must be finite and ≥ 0"
        case let .gaussianBlur(size, sigma):
            if size < 1 || size % 2 == 0 { return "blur kernel size \(size) must be odd and positive" }
            if let sigma, !(sigma.isFinite && sigma > 0) { return "blur sigma \(sigma) must be finite and > 0" }
            return nil
        case .jpeg(let quality):
            return (1...100).contains(quality) ? nil : "JPEG quality \(quality) is outside 1...100"
        case .centerCrop(.pixels(let side), _):
            return side >= 1 ? nil : "crop size \(side) must be at least 1 pixel"
        case .centerCrop(.fraction(let fraction), _):
            return fraction > 0 && fraction <= 1 ? nil : "crop fraction \(fraction) must be in (0, 1]"
        case .randomCropResize(let area):
            return area > 0 && area <= 1 ? nil : "crop area fraction \(area) must be in (0, 1]"
        case .brightness(let offset):
            return offset.isFinite ? nil : "brightness offset \(offset) must be finite"
        case .contrast(let factor):
            return factor.isFinite && factor >= 0 ? nil : "contrast factor \(factor) must be finite and ≥ 0"
        case .quantization(let levels):
            return levels >= 2 ? nil : "quantisation needs at least 2 levels, not \(levels)"
        case .lightingRamp(let amplitude):
            return amplitude >= 0 && amplitude <= 1 ? nil : "lighting ramp amplitude \(amplitude) must be in [0, 1]"
        case .randomCombination(let combination):
            return combination.invalidParameterReason
        case .sequence(let list):
            return list.lazy.compactMap(\.invalidParameterReason).first
        }
    }

    /// Checks a batch's shape for this perturbation (and every stage of a sequence).
    static func checkBatch(_ images: Tensor, for perturbation: Perturbation) throws(PerturbationError) {
        if let reason = perturbation.unfitShapeReason(images.shape) {
            throw .invalidImages(shape: images.shape, perturbation: perturbation.description, reason: reason)
        }
    }

    /// Why this perturbation cannot take a batch of `shape`, or nil.
    func unfitShapeReason(_ shape: [Int]) -> String? {
        guard shape.count == 4, !shape.contains(where: { $0 <= 0 }) else { return "expected a non-empty batch [N, C, H, W]" }
        let (channels, height, width) = (shape[1], shape[2], shape[3])
        switch self {
        case .gaussianBlur(let size, _):
            return size / 2 < min(height, width) ? nil
                : "a \(size)×\(size) blur reflects \(size / 2) pixels at the borders and needs larger images"
        case .jpeg:
            return channels == 1 || channels == 3 ? nil : "JPEG takes 1 or 3 channels"
        case .contrast:
            return channels == 1 || channels == 3 ? nil : "contrast takes 1 or 3 channels"
        case .centerCrop(let size, _):
            let extent = size.extent(height: height, width: width)
            return extent.height <= height && extent.width <= width ? nil : "a \(extent.height)×\(extent.width) crop does not fit"
        case .randomCombination(let combination):
            return combination.possibleStages.lazy.compactMap { stage in
                stage.unfitShapeReason(shape).map { "\(stage), which the combination may draw: \($0)" }
            }.first
        case .sequence(let list):
            // A crop that is not resized back changes the extent seen by the stages after it.
            var shape = shape
            for stage in list {
                if let reason = stage.unfitShapeReason(shape) { return "\(stage): \(reason)" }
                if case .centerCrop(let size, false) = stage {
                    let extent = size.extent(height: shape[2], width: shape[3])
                    shape = [shape[0], shape[1], extent.height, extent.width]
                }
            }
            return nil
        default:
            return nil
        }
    }

    /// The perturbation itself, on a checked batch.
    func perturbed(_ x: Tensor, using generator: inout SeededGenerator, differentiable: Bool) throws(PerturbationError) -> Tensor {
        func limited(_ y: Tensor) -> Tensor { differentiable ? y : y.clamped(to: 0...1) }
        func straightThrough(_ x: Tensor, _ value: Tensor) -> Tensor {
            differentiable ? x + (value - x).detached() : value
        }
        let (height, width) = (x.shape[2], x.shape[3])
        switch self {
        case .gaussianNoise(let deviation):
            return limited(x + Tensor.normal(x.shape, standardDeviation: deviation, using: &generator))

        case let .gaussianBlur(size, sigma):
            return Perturbation.blurred(x, kernelSize: size, sigma: sigma ?? Perturbation.defaultBlurSigma(kernelSize: size))

        case .jpeg(let quality):
            let compressed: Tensor
            do throws(ImagingError) {
                compressed = try JPEG.roundTrip(x.detached(), quality: quality)
            } catch {
                throw .imaging(error)
            }
            return straightThrough(x, compressed)

        case let .centerCrop(size, resizedBack):
            let extent = size.extent(height: height, width: width)
            let top = centerCropOffset(height, extent.height), left = centerCropOffset(width, extent.width)
            let crop = x.sliced(top..<top + extent.height, alongAxis: 2).sliced(left..<left + extent.width, alongAxis: 3)
            return resizedBack ? crop.resizedBilinear(to: Size2D(height, width)) : crop

        case .randomCropResize(let area):
            let side = Double(area).squareRoot()
            let (h, w) = (scaledSide(height, side), scaledSide(width, side))
            let crops = (0..<x.shape[0]).map { n in
                let top = generator.nextInt(in: 0...(height - h)), left = generator.nextInt(in: 0...(width - w))
                return x.sliced(n..<n + 1, alongAxis: 0).sliced(top..<top + h, alongAxis: 2)
                    .sliced(left..<left + w, alongAxis: 3).resizedBilinear(to: Size2D(height, width))
            }
            return crops.count == 1 ? crops[0] : Tensor.concatenate(crops, alongAxis: 0)

        case .brightness(let offset):
            return limited(x + offset)

        case .contrast(let factor):
            let mean: Tensor
            if x.shape[1] == 3 {
                let luma = Tensor(shape: [1, 3, 1, 1], scalars: [0.299, 0.587, 0.114])
                mean = (x * luma).sum(alongAxes: [1], keepingDimensions: true).mean(alongAxes: [2, 3], keepingDimensions: true)
            } else {
                mean = x.mean(alongAxes: [1, 2, 3], keepingDimensions: true)
            }
            return limited(x * factor + mean * (1 - factor))

        case .quantization(let levels):
            return straightThrough(x, Perturbation.quantized(x.detached(), levels: levels))

        case .lightingRamp(let amplitude):
            let gains = (0..<x.shape[0]).map { _ in
                lightingGain(height: height, width: width, amplitude: amplitude,
                             angle: 2 * Double.pi * generator.nextUnitDouble())
            }
            return limited(x * Tensor.concatenate(gains, alongAxis: 0))

        case .randomCombination(let combination):
            var images: [Tensor] = []
            for n in 0..<x.shape[0] {
                let stages = combination.drawStages(using: &generator)
                images.append(try Perturbation.sequence(stages).perturbed(x.sliced(n..<n + 1, alongAxis: 0),
                                                                         using: &generator, differentiable: differentiable))
            }
            return images.count == 1 ? images[0] : Tensor.concatenate(images, alongAxis: 0)

        case .sequence(let list):
            var y = x
            for stage in list { y = try stage.perturbed(y, using: &generator, differentiable: differentiable) }
            return y
        }
    }

    // MARK: Operations

    /// Separable Gaussian blur with reflected borders, composed of differentiable ops.
    static func blurred(_ x: Tensor, kernelSize: Int, sigma: Float) -> Tensor {
        guard kernelSize > 1 else { return x }
        let kernel = gaussianKernel(size: kernelSize, sigma: sigma)
        let radius = kernelSize / 2
        let horizontal = reflectPadded(x, radius, axis: 3).upfirdn2d(filter: Tensor(shape: [1, kernelSize], scalars: kernel))
        return reflectPadded(horizontal, radius, axis: 2).upfirdn2d(filter: Tensor(shape: [kernelSize, 1], scalars: kernel))
    }

    /// `x` padded by `amount` on both sides of `axis` with its mirror image, the edge sample not
    /// repeated (`dcb|abcd|cba`); needs `amount` < the extent.
    static func reflectPadded(_ x: Tensor, _ amount: Int, axis: Int) -> Tensor {
        guard amount > 0 else { return x }
        let n = x.shape[axis]
        let before = x.sliced(1..<amount + 1, alongAxis: axis).reversed(alongAxes: [axis])
        let after = x.sliced(n - 1 - amount..<n - 1, alongAxis: axis).reversed(alongAxes: [axis])
        return Tensor.concatenate([before, x, after], alongAxis: axis)
    }

    /// `⌊clamp(x, 0, 1)·(L−1) + ½⌋ / (L−1)` element-wise (NaN → 0), as Imaging's 8-bit encoders round.
    static func quantized(_ x: Tensor, levels: Int) -> Tensor {
        let top = Float(levels - 1)
        var result = x
        result.withUnsafeMutableBufferPointer { values in
            for i in values.indices {
                let scaled = (values[i] * top + 0.5).rounded(.down)
                values[i] = scaled >= top ? 1 : (scaled > 0 ? scaled / top : 0)   // `> 0` also catches NaN
            }
        }
        return result
    }
}

// MARK: Helpers

/// `extent · fraction` rounded to the nearest pixel (half to even), at least 1.
private func scaledSide(_ extent: Int, _ fraction: some BinaryFloatingPoint) -> Int {
    max(1, Int((Double(extent) * Double(fraction)).rounded(.toNearestOrEven)))
}

/// torchvision's centre-crop offset: `round((extent − window) / 2)`, half to even.
private func centerCropOffset(_ extent: Int, _ window: Int) -> Int {
    Int((Double(extent - window) / 2).rounded(.toNearestOrEven))
}

/// The gain map `[1, 1, H, W]` of a lighting ramp: `1 + amplitude · (cos θ·u + sin θ·v) / (|cos θ| + |sin θ|)`
/// with `u`, `v` the pixel centres' coordinates in [−1, 1] (so the ramp spans exactly [−1, 1]).
private func lightingGain(height: Int, width: Int, amplitude: Float, angle: Double) -> Tensor {
    let (c, s) = (cos(angle), sin(angle))
    let norm = abs(c) + abs(s)
    return Tensor(shape: [1, 1, height, width], unsafeUninitializedScalars: { out in
        for i in 0..<height {
            let v = Double(2 * i + 1) / Double(height) - 1
            for j in 0..<width {
                let u = Double(2 * j + 1) / Double(width) - 1
                out[i * width + j] = 1 + amplitude * Float((c * u + s * v) / norm)
            }
        }
    })
}
