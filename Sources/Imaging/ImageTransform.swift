import Tensor

/// Geometric and colour transforms of one image `[C, H, W]`, matching torchvision's on PIL images.
///
/// All of them take user data and therefore validate and throw `ImagingError.invalidImage`
/// rather than stop. They are plain loops with no threads of their own, so that the data
/// loader's background thread can run them beside the training loop.
public enum ImageTransform {
    /// Converts between 1 (gray), 2 (gray + alpha), 3 (RGB) and 4 (RGBA) channels, as Pillow's
    /// `convert("L")` / `convert("RGB")`:
    /// - gray → RGB repeats the gray plane;
    /// - RGB → gray is ITU-R 601-2 luma, `0.299 R + 0.587 G + 0.114 B` (Pillow's "L");
    /// - alpha is **dropped**, not composited (what Pillow's `convert("RGB")`, and therefore
    ///   torchvision's `ImageFolder` loader, does): transparent pixels keep their stored colour;
    /// - 1 or 3 → 2 or 4 adds an opaque alpha plane.
    /// Returns `image` itself when it has `channels` already.
    public static func convert(_ image: Tensor, toChannels channels: Int) throws(ImagingError) -> Tensor {
        let (source, height, width) = try imageExtents(image)
        guard (1...4).contains(channels) else { throw .invalidArgument("cannot convert an image to \(channels) channels") }
        if source == channels { return image }
        let plane = height * width
        let sourceColor = source >= 3, targetColor = channels >= 3
        let sourceAlpha = source == 2 || source == 4, targetAlpha = channels == 2 || channels == 4
        return Tensor(shape: [channels, height, width]) { out in
            let output = out.baseAddress!
            image.withUnsafeBufferPointer { input in
                let input = input.baseAddress!
                switch (sourceColor, targetColor) {
                case (false, false):
                    output.update(from: input, count: plane)
                case (true, true):
                    output.update(from: input, count: 3 * plane)
                case (false, true):
                    for c in 0..<3 { (output + c * plane).update(from: input, count: plane) }
                case (true, false):
                    let (red, green, blue) = (input, input + plane, input + 2 * plane)
                    for i in 0..<plane { output[i] = 0.299 * red[i] + 0.587 * green[i] + 0.114 * blue[i] }
                }
                if targetAlpha {
                    let alpha = output + (channels - 1) * plane
                    if sourceAlpha {
                        alpha.update(from: input + (source - 1) * plane, count: plane)
                    } else {
                        alpha.update(repeating: 1, count: plane)
                    }
                }
            }
        }
    }

    /// Crops the window of `size` whose top-left corner is at (`top`, `left`); parts of the
    /// window outside the image are filled with `fill`.
    public static func crop(_ image: Tensor, top: Int, left: Int, size: Size2D, fill: Float = 0) throws(ImagingError) -> Tensor {
        let (channels, height, width) = try imageExtents(image, channels: 1...Int.max)
        guard size.height > 0, size.width > 0 else { throw .invalidArgument("crop size \(size) must be positive") }
        if top == 0, left == 0, size.height == height, size.width == width { return image }
        return Tensor(shape: [channels, size.height, size.width]) { out in
            let output = out.baseAddress!
            image.withUnsafeBufferPointer { input in
                let input = input.baseAddress!
                let columns = max(0, left)..<min(width, left + size.width)
                for c in 0..<channels {
                    for y in 0..<size.height {
                        let row = output + (c * size.height + y) * size.width
                        let sourceY = top + y
                        guard sourceY >= 0, sourceY < height, !columns.isEmpty else {
                            row.update(repeating: fill, count: size.width)
                            continue
                        }
                        let before = columns.lowerBound - left, after = left + size.width - columns.upperBound
                        row.update(repeating: fill, count: before)
                        (row + before).update(from: input + (c * height + sourceY) * width + columns.lowerBound,
                                              count: columns.count)
                        (row + size.width - after).update(repeating: fill, count: after)
                    }
                }
            }
        }
    }

    /// torchvision's `CenterCrop(size)`: an image smaller than `size` is first padded with zeros
    /// (`⌊d/2⌋` before, `⌈d/2⌉` after), then the window starts at `round((H − h) / 2)`,
    /// `round((W − w) / 2)` with Python's rounding (half to even: an odd margin of 9 starts at 4,
    /// of 7 at 4).
    public static func centerCrop(_ image: Tensor, to size: Size2D) throws(ImagingError) -> Tensor {
        let (_, height, width) = try imageExtents(image, channels: 1...Int.max)
        func start(_ extent: Int, _ window: Int) -> Int {
            if window > extent { return -((window - extent) / 2) }
            return Int((Double(extent - window) / 2).rounded(.toNearestOrEven))
        }
        return try crop(image, top: start(height, size.height), left: start(width, size.width), size: size)
    }

    /// Pads an image with `value` to at least `size`, centred (`⌊d/2⌋` before, `⌈d/2⌉` after
    /// each axis; 28 → 32 puts 2 on every side, as torchvision's `Pad(2)`). An image larger
    /// than `size` along an axis keeps its extent there.
    public static func pad(_ image: Tensor, to size: Size2D, value: Float = 0) throws(ImagingError) -> Tensor {
        let (_, height, width) = try imageExtents(image, channels: 1...Int.max)
        let target = Size2D(max(height, size.height), max(width, size.width))
        return try crop(image, top: -((target.height - height) / 2), left: -((target.width - width) / 2), size: target, fill: value)
    }

    /// torchvision's `Resize(length)`: the shorter side becomes `length` and the longer one
    /// `⌊length · long / short⌋`, resampled with `resize(_:to:)`.
    public static func resizeShorterSide(_ image: Tensor, to length: Int) throws(ImagingError) -> Tensor {
        let (_, height, width) = try imageExtents(image, channels: 1...Int.max)
        guard length > 0 else { throw .invalidArgument("resize length \(length) must be positive") }
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(length * long) / Double(short))
        let size = width <= height ? Size2D(newLong, length) : Size2D(length, newLong)
        return try resize(image, to: size)
    }
}
