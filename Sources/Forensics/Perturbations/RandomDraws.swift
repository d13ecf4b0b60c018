import Tensor

// Scalar draws for perturbation parameters (crop positions, kernel sizes, qualities).
// Written out here rather than taken from the standard library's `random(in:using:)`, whose
// algorithm is not specified, so that a seed gives the same perturbation everywhere.

extension SeededGenerator {
    /// A uniform `Double` in [0, 1) with 53 random bits.
    mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform `Float` in `range` (the upper bound is reached only when the range is a point).
    mutating func nextFloat(in range: ClosedRange<Float>) -> Float {
        range.lowerBound + Float(nextUnitDouble() * Double(range.upperBound - range.lowerBound))
    }

    /// A uniform integer in `range` (Lemire's multiply-shift with rejection: unbiased).
    mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        let bound = UInt64(range.upperBound - range.lowerBound) &+ 1
        if bound == 0 { return range.lowerBound &+ Int(truncatingIfNeeded: next()) }   // the whole 64-bit range
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return range.lowerBound + Int(product.high)
    }
}
