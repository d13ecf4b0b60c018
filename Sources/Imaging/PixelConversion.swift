import Tensor

// Conversions between interleaved integer samples (what codecs read and write) and planar
// Float32 CHW tensors in [0, 1] (what models see).

/// `Float(i) / 255` for every 8-bit value: a division, as torchvision's `ToTensor` does, so that
/// decoded values equal PyTorch's bit for bit.
let eightBitValues: [Float] = (0..<256).map { Float($0) / 255 }

/// The `(channels, height, width)` of a single image tensor `[C, H, W]`, checked.
func imageExtents(_ image: Tensor, channels allowed: ClosedRange<Int> = 1...4) throws(ImagingError) -> (Int, Int, Int) {
    guard image.rank == 3 else {
        throw .invalidImage(shape: image.shape, reason: "expected one image of shape [channels, height, width]")
    }
    let (channels, height, width) = (image.shape[0], image.shape[1], image.shape[2])
    guard allowed.contains(channels) else {
        throw .invalidImage(shape: image.shape, reason: "expected \(allowed.lowerBound) to \(allowed.upperBound) channels")
    }
    guard height > 0, width > 0 else { throw .invalidImage(shape: image.shape, reason: "empty image") }
    return (channels, height, width)
}

/// A planar `[channels, height, width]` tensor from interleaved samples: 8-bit values map to
/// `v / 255`, 16-bit values (host byte order) to `v / 65535`.
func planarImage(interleaved samples: UnsafeRawPointer, width: Int, height: Int, channels: Int, bitDepth: Int) -> Tensor {
    let plane = width * height
    return Tensor(shape: [channels, height, width]) { out in
        let output = out.baseAddress!
        if bitDepth == 8 {
            let source = samples.assumingMemoryBound(to: UInt8.self)
            eightBitValues.withUnsafeBufferPointer { table in
                let table = table.baseAddress!
                switch channels {
                case 1:
                    for i in 0..<plane { output[i] = table[Int(source[i])] }
                case 3:
                    let (red, green, blue) = (output, output + plane, output + 2 * plane)
                    for i in 0..<plane {
                        red[i] = table[Int(source[3 * i])]
                        green[i] = table[Int(source[3 * i + 1])]
                        blue[i] = table[Int(source[3 * i + 2])]
                    }
                default:
                    for c in 0..<channels {
                        let destination = output + c * plane
                        for i in 0..<plane { destination[i] = table[Int(source[channels * i + c])] }
                    }
                }
            }
        } else {
            let source = samples.assumingMemoryBound(to: UInt16.self)
            for c in 0..<channels {
                let destination = output + c * plane
                for i in 0..<plane { destination[i] = Float(source[channels * i + c]) / 65535 }
            }
        }
    }
}

/// `round(clamp(x, 0, 1) · maximum)`, with NaN mapped to 0.
@inline(__always) func quantized(_ x: Float, maximum: Float) -> UInt32 {
    let scaled = x * maximum + 0.5
    if scaled >= maximum { return UInt32(maximum) }
    return scaled > 0 ? UInt32(scaled) : 0  // also catches NaN
}

/// Interleaved 8-bit samples of a `[C, H, W]` image (values rounded, clamped to [0, 1]).
func interleaved8(_ image: Tensor) -> [UInt8] {
    let (channels, plane) = (image.shape[0], image.shape[1] * image.shape[2])
    return [UInt8](unsafeUninitializedCapacity: channels * plane) { out, count in
        image.withUnsafeBufferPointer { input in
            let source = input.baseAddress!
            if channels == 1 {
                for i in 0..<plane { out[i] = UInt8(truncatingIfNeeded: quantized(source[i], maximum: 255)) }
            } else {
                for c in 0..<channels {
                    let plane0 = source + c * plane
                    for i in 0..<plane {
                        out[channels * i + c] = UInt8(truncatingIfNeeded: quantized(plane0[i], maximum: 255))
                    }
                }
            }
        }
        count = channels * plane
    }
}

/// Interleaved 16-bit samples (host byte order) of a `[C, H, W]` image.
func interleaved16(_ image: Tensor) -> [UInt16] {
    let (channels, plane) = (image.shape[0], image.shape[1] * image.shape[2])
    return [UInt16](unsafeUninitializedCapacity: channels * plane) { out, count in
        image.withUnsafeBufferPointer { input in
            let source = input.baseAddress!
            for c in 0..<channels {
                let plane0 = source + c * plane
                for i in 0..<plane {
                    out[channels * i + c] = UInt16(truncatingIfNeeded: quantized(plane0[i], maximum: 65535))
                }
            }
        }
        count = channels * plane
    }
}

/// A `[C, H, W]` tensor from planar 8-bit samples (for in-memory data sets such as MNIST).
func planarImage(planar samples: UnsafePointer<UInt8>, shape: [Int]) -> Tensor {
    Tensor(shape: shape) { out in
        eightBitValues.withUnsafeBufferPointer { table in
            let table = table.baseAddress!
            for i in 0..<out.count { out[i] = table[Int(samples[i])] }
        }
    }
}
