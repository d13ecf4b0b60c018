/// An unevaluated sum `high + low` of two doubles with |low| ≤ ulp(high)/2: about 106 bits of
/// precision, enough to keep the large terms of a binomial log-probability (thousands, for
/// n = 4096) exact to well below 1e-16 of the result.
///
/// Only what the binomial tail needs: exact sums and products (`addingProduct` is a fused
/// multiply-add), division, and a logarithm by a short series.
struct DoubleDouble: Sendable {
    var high: Double
    var low: Double

    init(_ high: Double, _ low: Double = 0) {
        self.high = high
        self.low = low
    }

    /// `high + low` rounded to a double.
    var value: Double { high + low }

    /// a + b exactly, as a rounded sum and its error (Knuth's two-sum).
    static func twoSum(_ a: Double, _ b: Double) -> DoubleDouble {
        let sum = a + b
        let bVirtual = sum - a
        let error = (a - (sum - bVirtual)) + (b - bVirtual)
        return DoubleDouble(sum, error)
    }

    /// a · b exactly, as a rounded product and its error (one fused multiply-add).
    static func twoProduct(_ a: Double, _ b: Double) -> DoubleDouble {
        let product = a * b
        return DoubleDouble(product, (-product).addingProduct(a, b))
    }

    /// Renormalises a sum whose parts may overlap (requires |high| ≥ |low| or high = 0).
    private static func quickTwoSum(_ a: Double, _ b: Double) -> DoubleDouble {
        let sum = a + b
        return DoubleDouble(sum, b - (sum - a))
    }

    static func + (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble {
        let s = twoSum(a.high, b.high), t = twoSum(a.low, b.low)
        let u = quickTwoSum(s.high, s.low + t.high)
        return quickTwoSum(u.high, u.low + t.low)
    }

    static prefix func - (a: DoubleDouble) -> DoubleDouble { DoubleDouble(-a.high, -a.low) }

    static func - (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble { a + -b }

    static func * (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble {
        let p = twoProduct(a.high, b.high)
        return quickTwoSum(p.high, p.low + (a.high * b.low + a.low * b.high))
    }

    static func / (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble {
        let first = a.high / b.high
        let remainder = a - b * DoubleDouble(first)
        let second = remainder.high / b.high
        let remainder2 = remainder - b * DoubleDouble(second)
        return quickTwoSum(first, second) + DoubleDouble(remainder2.high / b.high)
    }

    /// log 2 to 106 bits.
    static let logTwo = DoubleDouble(0.6931471805599453, 2.3190468138462996e-17)

    /// The natural logarithm of a positive, finite `x`, to about 1e-20 relative.
    ///
    /// x = 2^e · m with m in [√½, √2), and log m = 2 atanh(s) = 2s (1 + s²/3 + s⁴/5 + …) with
    /// s = (m − 1)/(m + 1), |s| < 0.172. In the bracket, 1 + s²/3 is kept in double-double and the
    /// rest (below 2e-4) is summed in plain doubles.
    static func log(_ x: DoubleDouble) -> DoubleDouble {
        precondition(x.high > 0 && x.high.isFinite, "log of \(x.high)")
        if !x.high.isNormal {
            // Subnormal: scale by 2^200 first (exact) so that the exponent arithmetic below holds.
            let scale = 0x1p200
            return log(DoubleDouble(x.high * scale, x.low * scale)) - DoubleDouble(200) * logTwo
        }
        var exponent = x.high.exponent
        if x.high.significand > 1.4142135623730951 { exponent += 1 }
        let scale = Double(sign: .plus, exponent: -exponent, significand: 1)
        let m = DoubleDouble(x.high * scale, x.low * scale)  // exact: scaling by a power of two
        let s = (m - DoubleDouble(1)) / (m + DoubleDouble(1))
        let w = s * s
        var rest = 0.0, power = w.high
        var j = 2
        while j < 40 {
            power *= w.high
            let term = power / Double(2 * j + 1)
            rest += term
            if term <= 1e-20 * rest { break }
            j += 1
        }
        let bracket = DoubleDouble(1) + w / DoubleDouble(3) + DoubleDouble(rest)
        return DoubleDouble(Double(exponent)) * logTwo + DoubleDouble(2) * s * bracket
    }
}
