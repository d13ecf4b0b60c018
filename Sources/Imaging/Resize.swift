import Tensor

extension ImageTransform {
    /// Resizes an image `[C, H, W]` to `size` (height, width) with Pillow's `BILINEAR` filter
    /// (`Image.resize(..., Image.BILINEAR)`, which torchvision's `Resize` calls on PIL images).
    ///
    /// When shrinking, the triangle filter is widened by the scale factor, so every source pixel
    /// contributes (antialiasing, Pillow's "reducing support"); when enlarging, it is plain
    /// bilinear interpolation with half-pixel centres and edge clamping. The two axes are
    /// resampled separately, width first, as Pillow does.
    ///
    /// Pillow works on 8-bit images and rounds to 8 bits after each axis; this works in Float32
    /// throughout, so its results, rounded to 8 bits, differ from Pillow's by at most one level
    /// (checked against Pillow fixtures in the tests). An image that already has `size` is
    /// returned unchanged.
    public static func resize(_ image: Tensor, to size: Size2D) throws(ImagingError) -> Tensor {
        let (channels, height, width) = try imageExtents(image, channels: 1...Int.max)
        guard size.height > 0, size.width > 0 else { throw .invalidArgument("resize target \(size) must be positive") }
        var result = image
        if size.width != width {
            result = resampleRows(result, channels: channels, height: height, from: width, to: size.width)
        }
        if size.height != height {
            result = resampleColumns(result, channels: channels, width: size.width, from: height, to: size.height)
        }
        return result
    }
}

/// Pillow's `precompute_coeffs` for the bilinear (triangle) filter: for each output position,
/// the first contributing input index and the normalised weights. Computed in Double as Pillow
/// does, stored as Float.
struct ResamplingWeights {
    /// First input index of each output position.
    var start: [Int] = []
    /// Number of input indices of each output position.
    var count: [Int] = []
    /// `taps` weights per output position (zero beyond `count`).
    var weights: [Float] = []
    var taps = 0

    init(inputSize: Int, outputSize: Int) {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale  // the triangle filter's support is 1
        let inverseScale = 1 / filterScale
        taps = Int(support.rounded(.up)) * 2 + 1
        weights = [Float](repeating: 0, count: outputSize * taps)
        start.reserveCapacity(outputSize)
        count.reserveCapacity(outputSize)
        var row = [Double](repeating: 0, count: taps)
        for position in 0..<outputSize {
            let center = (Double(position) + 0.5) * scale
            // C's (int) cast truncates toward zero; negative values are clamped to 0 anyway.
            let first = max(0, Int(center - support + 0.5))
            let end = min(inputSize, Int(center + support + 0.5))
            let length = max(0, end - first)
            var total = 0.0
            for k in 0..<length {
                let x = abs((Double(k + first) - center + 0.5) * inverseScale)
                let weight = x < 1 ? 1 - x : 0
                row[k] = weight
                total += weight
            }
            for k in 0..<length {
                weights[position * taps + k] = Float(total != 0 ? row[k] / total : row[k])
            }
            start.append(first)
            count.append(length)
        }
    }
}

/// Resamples along the last axis: `[C, H, from]` → `[C, H, to]`.
private func resampleRows(_ image: Tensor, channels: Int, height: Int, from inputWidth: Int, to outputWidth: Int) -> Tensor {
    let table = ResamplingWeights(inputSize: inputWidth, outputSize: outputWidth)
    let rows = channels * height
    return Tensor(shape: [channels, height, outputWidth]) { out in
        let output = out.baseAddress!
        image.withUnsafeBufferPointer { input in
            let input = input.baseAddress!
            table.weights.withUnsafeBufferPointer { weights in
                let weights = weights.baseAddress!
                for row in 0..<rows {
                    let source = input + row * inputWidth, destination = output + row * outputWidth
                    for x in 0..<outputWidth {
                        let first = table.start[x], kernel = weights + x * table.taps
                        var sum: Float = 0
                        for k in 0..<table.count[x] { sum += source[first + k] * kernel[k] }
                        destination[x] = sum
                    }
                }
            }
        }
    }
}

/// Resamples along the middle axis: `[C, from, W]` → `[C, to, W]`, as weighted sums of whole
/// rows (vectorisable).
private func resampleColumns(_ image: Tensor, channels: Int, width: Int, from inputHeight: Int, to outputHeight: Int) -> Tensor {
    let table = ResamplingWeights(inputSize: inputHeight, outputSize: outputHeight)
    return Tensor(shape: [channels, outputHeight, width]) { out in
        let output = out.baseAddress!
        image.withUnsafeBufferPointer { input in
            let input = input.baseAddress!
            for c in 0..<channels {
                let plane = input + c * inputHeight * width
                for y in 0..<outputHeight {
                    let destination = output + (c * outputHeight + y) * width
                    destination.update(repeating: 0, count: width)
                    let first = table.start[y]
                    for k in 0..<table.count[y] {
                        let weight = table.weights[y * table.taps + k]
                        let source = plane + (first + k) * width
                        for x in 0..<width { destination[x] += weight * source[x] }
                    }
                }
            }
        }
    }
}
