#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

// The binomial distribution in log space, accurate to a few units in the 13th significant digit.
//
// One probability P(X = x) comes from Loader's saddle-point expansion ("Fast and accurate
// computation of binomial probabilities", 2000; R's `dbinom_raw`):
//
//     log P(X = x) = stirlerr(n) − stirlerr(x) − stirlerr(n − x) − D(x, np) − D(n − x, nq)
//                    − ½ log(2π x (n − x) / n),
//
// where stirlerr(m) = log m! − log(√(2πm) (m/e)^m) is the error of Stirling's formula and
// D(x, μ) = x log(x/μ) + μ − x the deviance. Unlike differences of log-gamma values, whose
// error grows with log n!, every term is either small or a deviance; the deviances reach
// thousands for n = 4096 (log P ≈ −690 at P = 1e-300 is a difference of such terms), so they are
// computed in double-double arithmetic (`DoubleDouble`), with n·p and q = 1 − p kept exact.
// The logarithm of P(X = k) is then exact to about 1e-15 absolute. A tail sum starts at its
// largest term and multiplies by the ratio of consecutive terms, (n − i)/(i + 1) · p/q, adding in
// linear space relative to that term: log-sum-exp with the exponentials done by recurrence.

/// log(2π).
private let logTwoPi = 1.8378770664093454835606594728112

/// stirlerr(m) for m = 0...15 (m = 0 is never used), from mpmath at 50 digits.
private let stirlingErrorTable: [Double] = [
    0, 0.08106146679532726, 0.0413406959554093, 0.02767792568499834, 0.020790672103765093,
    0.016644691189821193, 0.013876128823070748, 0.01189670994589177, 0.010411265261972096,
    0.009255462182712733, 0.00833056343336287, 0.007573675487951841, 0.00694284010720953,
    0.006408994188004207, 0.0059513701127588475, 0.005554733551962801,
]

/// log m! − log(√(2πm) (m/e)^m): a table up to 15, the asymptotic series beyond.
private func stirlingError(_ m: Int) -> Double {
    if m < stirlingErrorTable.count { return stirlingErrorTable[m] }
    let s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680, s4 = 1.0 / 1188
    let x = Double(m), xx = x * x
    if m > 500 { return (s0 - s1 / xx) / x }
    if m > 80 { return (s0 - (s1 - s2 / xx) / xx) / x }
    if m > 35 { return (s0 - (s1 - (s2 - s3 / xx) / xx) / xx) / x }
    return (s0 - (s1 - (s2 - (s3 - s4 / xx) / xx) / xx) / xx) / x
}

/// The deviance x log(x/μ) + μ − x ≥ 0, by its series in v = (x − μ)/(x + μ) when x is near μ
/// (the result is then at most 0.01 (x + μ), so plain doubles suffice), else in double-double.
private func deviance(_ x: Double, _ mean: DoubleDouble) -> DoubleDouble {
    let difference = DoubleDouble(x) - mean
    let d = difference.value
    if abs(d) < 0.1 * (x + mean.high) {
        // x log(x/μ) + μ − x = (x − μ) v + 2x Σ_{j≥1} v^(2j+1) / (2j + 1).
        var v = d / (x + mean.high)
        var sum = d * v
        var power = 2 * x * v
        v *= v
        var j = 1
        while j < 1000 {
            power *= v
            let next = sum + power / Double(2 * j + 1)
            if next == sum { break }
            sum = next
            j += 1
        }
        return DoubleDouble(sum)
    }
    return DoubleDouble(x) * DoubleDouble.log(DoubleDouble(x) / mean) - difference
}

/// log P(X = x) for X ~ Binomial(n, p) with q = 1 − p exact as a double-double (Loader's algorithm).
func logBinomialProbability(_ x: Int, trials n: Int, success p: Double, failure q: DoubleDouble) -> DoubleDouble {
    let nn = Double(n)
    let np = DoubleDouble.twoProduct(nn, p)
    let nq = DoubleDouble.twoProduct(nn, q.high) + DoubleDouble(nn * q.low)
    if x == 0 {
        if n == 0 { return DoubleDouble(0) }
        return p < 0.1 ? -deviance(nn, nq) - np : DoubleDouble(nn) * DoubleDouble.log(q)
    }
    if x == n {
        return q.high < 0.1 ? -deviance(nn, np) - nq : DoubleDouble(nn) * DoubleDouble.log(DoubleDouble(p))
    }
    let xx = Double(x)
    let stirling = stirlingError(n) - stirlingError(x) - stirlingError(n - x)
    let logNormaliser = logTwoPi + log(xx) + log1p(-xx / nn)
    return DoubleDouble(stirling - 0.5 * logNormaliser) - deviance(xx, np) - deviance(nn - xx, nq)
}

/// The natural logarithm of P(X ≥ k) for X ~ Binomial(n, p): the one-sided upper tail.
///
/// Exact up to rounding (a few times 1e-14 relative in the probability for n ≤ 4096) and free of
/// underflow: for n = 4096 fingerprint bits and k = 4000 matches the probability is about
/// 10^-1021, far below the smallest `Double`, and its logarithm is still returned to full
/// precision. Returns 0 for k ≤ 0 and −∞ for k > n.
///
/// - Parameters:
///   - k: the number of successes (for a fingerprint: matching bits).
///   - n: the number of trials (bits), at least 0.
///   - p: the success probability in [0, 1] (0.5 for bits that match by chance).
public func logBinomialTail(atLeast k: Int, trials n: Int, probability p: Double) -> Double {
    binomialUpperTail(atLeast: k, trials: n, probability: p).logarithm
}

/// P(X ≥ k) for X ~ Binomial(n, p), the one-sided upper tail (SciPy's `binom.sf(k - 1, n, p)`).
///
/// Accurate to a few times 1e-14 relative for n ≤ 4096 down to the smallest normal `Double`
/// (2.2e-308); below that it underflows to zero: use `logBinomialTail(atLeast:trials:probability:)`.
public func binomialTail(atLeast k: Int, trials n: Int, probability p: Double) -> Double {
    binomialUpperTail(atLeast: k, trials: n, probability: p).value
}

/// P(X ≥ k) both as a value and as a logarithm, each computed directly (neither is `exp` or `log`
/// of the other when that would lose precision).
func binomialUpperTail(atLeast k: Int, trials n: Int, probability p: Double) -> (value: Double, logarithm: Double) {
    precondition(n >= 0, "binomial tail with \(n) trials")
    precondition(p >= 0 && p <= 1, "binomial tail with success probability \(p), outside [0, 1]")
    if k <= 0 { return (1, 0) }
    if k > n || p == 0 { return (0, -.infinity) }
    if p == 1 { return (1, 0) }
    let q = DoubleDouble.twoSum(1, -p)
    if Double(k) > Double(n) * p {
        // Above the mean every further term is smaller than the one before: sum upwards from k.
        let logFirst = logBinomialProbability(k, trials: n, success: p, failure: q)
        let odds = p / q.value
        var term = 1.0, sum = 1.0, i = k
        while i < n {
            term *= Double(n - i) / Double(i + 1) * odds
            sum += term
            if term < sum * 0x1p-60 { break }
            i += 1
        }
        // exp(high + low) = exp(high) (1 + low) to within low², which is below 1e-26.
        return (exp(logFirst.high) * (1 + logFirst.low) * sum, logFirst.high + (logFirst.low + log(sum)))
    }
    // At or below the mean the tail is at least about one half: 1 − P(X ≤ k − 1), whose terms
    // decrease downwards from k − 1.
    let lower = binomialLowerTail(atMost: k - 1, trials: n, success: p, failure: q)
    return (1 - lower, log1p(-lower))
}

/// P(X ≤ j) for j below the mean n·p, summed downwards from its largest term.
private func binomialLowerTail(atMost j: Int, trials n: Int, success p: Double, failure q: DoubleDouble) -> Double {
    let logFirst = logBinomialProbability(j, trials: n, success: p, failure: q)
    let inverseOdds = q.value / p
    var term = 1.0, sum = 1.0, i = j
    while i > 0 {
        term *= Double(i) / Double(n - i + 1) * inverseOdds
        sum += term
        if term < sum * 0x1p-60 { break }
        i -= 1
    }
    return exp(logFirst.high) * (1 + logFirst.low) * sum
}
