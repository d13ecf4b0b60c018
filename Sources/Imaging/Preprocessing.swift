import Tensor

/// A fixed preprocessing pipeline for one image `[C, H, W]`: a channel conversion and a list of
/// geometric steps, each matching its torchvision transform on PIL images.
///
/// ```swift
/// let prepare = Preprocessing.resizeAndCenterCrop(resolution: 64)   // Resize(64) + CenterCrop(64), RGB
/// let image = try prepare.apply(PNG.read(contentsOf: url))
/// ```
/// Preprocessing is deterministic (no random augmentation) and a value, so a data loader can
/// run it on its own thread.
public struct Preprocessing: Sendable, Hashable {
    /// One geometric step.
    public enum Step: Sendable, Hashable {
        /// torchvision `Resize(n)`: the shorter side becomes n (`ImageTransform.resizeShorterSide`).
        case resizeShorterSide(Int)
        /// torchvision `Resize((h, w))`: Pillow bilinear, antialiased when shrinking (`ImageTransform.resize`).
        case resize(Size2D)
        /// torchvision `CenterCrop((h, w))`, padding with zeros first if the image is smaller.
        case centerCrop(Size2D)
        /// Zero padding, centred, to at least this size (28 → 32 is torchvision's `Pad(2)`).
        case pad(Size2D)
    }

    /// The channel count every image is converted to (1 or 3 for models; 2 and 4 keep alpha),
    /// or `nil` to keep what the file holds. See `ImageTransform.convert(_:toChannels:)`:
    /// alpha is dropped, gray becomes RGB by repetition, RGB becomes gray by ITU-R 601-2 luma.
    public var channels: Int?
    /// The geometric steps, in order.
    public var steps: [Step]

    /// A pipeline converting to `channels` and then running `steps`.
    public init(channels: Int? = nil, steps: [Step] = []) {
        self.channels = channels
        self.steps = steps
    }

    /// Shorter side to `resolution`, then the centred `resolution` × `resolution` square: what
    /// StyleGAN-style data preparation and torchvision's `Resize(R)` + `CenterCrop(R)` do.
    public static func resizeAndCenterCrop(resolution: Int, channels: Int? = 3) -> Preprocessing {
        Preprocessing(channels: channels, steps: [.resizeShorterSide(resolution), .centerCrop(Size2D(resolution, resolution))])
    }

    /// The CelebA preset of the fingerprinting papers: centre crop 148 × 148 (the face in the
    /// aligned 178 × 218 images), then resize to `resolution` (128 by default).
    public static func celebA(resolution: Int = 128, channels: Int? = 3) -> Preprocessing {
        Preprocessing(channels: channels, steps: [.centerCrop(Size2D(148, 148)), .resize(Size2D(resolution, resolution))])
    }

    /// Centred zero padding to `size` × `size` (Fashion-MNIST's 28 → 32).
    public static func pad(to size: Int, channels: Int? = nil) -> Preprocessing {
        Preprocessing(channels: channels, steps: [.pad(Size2D(size, size))])
    }

    /// Runs the pipeline on `image` `[C, H, W]`. The channel conversion runs first when it
    /// reduces the channel count and last when it adds channels: the geometric steps work on
    /// each channel alike, so for gray and RGB the order changes only the amount of work.
    /// - Throws: `ImagingError.invalidImage` or `.invalidArgument` for unfit images or steps.
    public func apply(_ image: Tensor) throws(ImagingError) -> Tensor {
        var result = image
        let early = channels.map { $0 < image.shape.first ?? 0 } ?? false
        if early, let channels { result = try ImageTransform.convert(result, toChannels: channels) }
        for step in steps {
            switch step {
            case let .resizeShorterSide(length): result = try ImageTransform.resizeShorterSide(result, to: length)
            case let .resize(size): result = try ImageTransform.resize(result, to: size)
            case let .centerCrop(size): result = try ImageTransform.centerCrop(result, to: size)
            case let .pad(size): result = try ImageTransform.pad(result, to: size)
            }
        }
        if !early, let channels { result = try ImageTransform.convert(result, toChannels: channels) }
        return result
    }
}
