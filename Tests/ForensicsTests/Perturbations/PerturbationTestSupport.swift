import Foundation
import Tensor

/// A smooth image with edges and a little texture, `[N, C, H, W]` in [0, 1]: close enough to a
/// photograph for JPEG's quality to matter the way it does on real images.
func naturalImages(_ count: Int, channels: Int = 3, height: Int = 64, width: Int = 64, seed: UInt64 = 1) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let texture = Tensor.normal([count, channels, height, width], standardDeviation: 0.02, using: &generator).scalars
    var values = [Float](repeating: 0, count: texture.count)
    for n in 0..<count {
        for c in 0..<channels {
            for i in 0..<height {
                for j in 0..<width {
                    let index = ((n * channels + c) * height + i) * width + j
                    let smooth = 0.5 + 0.25 * sin(2 * Double.pi * Double(i) / 32 + Double(c + n)) * cos(2 * Double.pi * Double(j) / 20)
                    let edge = (i - height / 3) * (j - width / 2) > 0 ? 0.12 : -0.12
                    values[index] = min(1, max(0, Float(smooth + edge) + texture[index]))
                }
            }
        }
    }
    return Tensor(shape: [count, channels, height, width], scalars: values)
}

/// Uniform values in `low..<high`.
func uniformImages(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64 = 2) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor.uniform(shape, low: low, high: high, using: &generator)
}

/// Peak signal-to-noise ratio in dB for images in [0, 1].
func psnr(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.shape == b.shape)
    let squared = zip(a.scalars, b.scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
    return 10 * log10(1 / (squared / Double(a.count)))
}

/// Mean and (population) standard deviation.
func moments(_ values: [Float]) -> (mean: Double, standardDeviation: Double) {
    let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
    let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
    return (mean, variance.squareRoot())
}

func maximumDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape)")
    return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

