import Foundation
import Tensor

/// Sample grids for reports: a batch of images laid out in rows and columns.
public enum SampleGrid {
    /// Lays out `images` `[N, C, H, W]` in `rows` × `columns` cells, row by row, with `gap`
    /// pixels of `background` between neighbouring cells (none around the border). Values are
    /// mapped from `range` to [0, 1] and clamped: pass `-1...1` for generator outputs. Cells
    /// beyond N stay `background`.
    /// - Returns: `[C, rows · H + (rows − 1) · gap, columns · W + (columns − 1) · gap]`.
    /// - Throws: `ImagingError.invalidImage` for a non-batch tensor, `.invalidArgument` when
    ///   N > rows · columns or the layout is empty.
    public static func make(_ images: Tensor, rows: Int, columns: Int, gap: Int = 2, background: Float = 1,
                            range: ClosedRange<Float> = 0...1) throws(ImagingError) -> Tensor {
        guard images.rank == 4, images.shape.allSatisfy({ $0 > 0 }) else {
            throw .invalidImage(shape: images.shape, reason: "expected a batch [N, C, H, W]")
        }
        guard rows > 0, columns > 0, gap >= 0 else {
            throw .invalidArgument("a grid needs positive rows and columns and a non-negative gap")
        }
        let (count, channels, height, width) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        guard count <= rows * columns else {
            throw .invalidArgument("\(count) images do not fit in \(rows) × \(columns) cells")
        }
        guard range.upperBound > range.lowerBound else { throw .invalidArgument("empty value range \(range)") }
        let gridHeight = rows * height + (rows - 1) * gap, gridWidth = columns * width + (columns - 1) * gap
        let scale = 1 / (range.upperBound - range.lowerBound), offset = range.lowerBound
        return Tensor(shape: [channels, gridHeight, gridWidth]) { out in
            let output = out.baseAddress!
            output.update(repeating: background, count: out.count)
            images.withUnsafeBufferPointer { input in
                let input = input.baseAddress!
                for n in 0..<count {
                    let top = (n / columns) * (height + gap), left = (n % columns) * (width + gap)
                    for c in 0..<channels {
                        for y in 0..<height {
                            let source = input + ((n * channels + c) * height + y) * width
                            let destination = output + (c * gridHeight + top + y) * gridWidth + left
                            for x in 0..<width { destination[x] = min(max((source[x] - offset) * scale, 0), 1) }
                        }
                    }
                }
            }
        }
    }

    /// Makes a grid (see `make`) and writes it as an 8-bit PNG to `url`.
    public static func write(_ images: Tensor, rows: Int, columns: Int, to url: URL, gap: Int = 2, background: Float = 1,
                             range: ClosedRange<Float> = 0...1) throws(ImagingError) {
        try PNG.write(make(images, rows: rows, columns: columns, gap: gap, background: background, range: range), to: url)
    }
}
