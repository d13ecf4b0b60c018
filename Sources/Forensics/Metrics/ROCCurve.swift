/// The receiver operating characteristic of a detector whose higher scores mean "positive"
/// (fingerprinted, fake, attributed to this source), with its area and operating points.
///
/// Each point is the decision "positive when score ≥ threshold" for one distinct score, from the
/// highest (the first point after (0, 0)) to the lowest (the last point, (1, 1)). Equal scores
/// form a single step, so a tie between a positive and a negative counts one half towards the
/// area, which therefore equals the Mann–Whitney probability P(s₊ > s₋) + ½ P(s₊ = s₋).
public struct ROCCurve: Hashable, Sendable {
    /// One operating point of the curve.
    public struct Point: Hashable, Codable, Sendable {
        /// The fraction of negatives scored at or above `threshold`.
        public let falsePositiveRate: Double
        /// The fraction of positives scored at or above `threshold`.
        public let truePositiveRate: Double
        /// The decision threshold; `+∞` for the first point, which declares nothing positive.
        public let threshold: Double
    }

    /// The operating points from (0, 0) to (1, 1), false-positive rates non-decreasing.
    public let points: [Point]
    /// The number of positive samples.
    public let positiveCount: Int
    /// The number of negative samples.
    public let negativeCount: Int

    /// The curve of `scores` for samples whose class is `labels` (`true` = positive).
    ///
    /// There must be at least one positive and one negative, and no score may be NaN.
    public init(scores: [Double], labels: [Bool]) {
        precondition(scores.count == labels.count, "ROCCurve of \(scores.count) scores and \(labels.count) labels")
        precondition(!scores.contains { $0.isNaN }, "ROCCurve: a score is NaN")
        let positives = labels.count { $0 }, negatives = labels.count - positives
        precondition(positives > 0 && negatives > 0,
                     "ROCCurve needs positives and negatives, got \(positives) and \(negatives)")
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var points = [Point(falsePositiveRate: 0, truePositiveRate: 0, threshold: .infinity)]
        var truePositives = 0, falsePositives = 0, start = 0
        while start < order.count {
            let score = scores[order[start]]
            var end = start
            while end < order.count && scores[order[end]] == score {
                if labels[order[end]] { truePositives += 1 } else { falsePositives += 1 }
                end += 1
            }
            points.append(Point(falsePositiveRate: Double(falsePositives) / Double(negatives),
                                truePositiveRate: Double(truePositives) / Double(positives), threshold: score))
            start = end
        }
        self.points = points
        self.positiveCount = positives
        self.negativeCount = negatives
    }

    /// The area under the curve (AUC) by the trapezoidal rule, ties counting one half.
    public var area: Double {
        var area = 0.0
        for (previous, point) in zip(points, points.dropFirst()) {
            area += (point.falsePositiveRate - previous.falsePositiveRate)
                * (point.truePositiveRate + previous.truePositiveRate) / 2
        }
        return area
    }

    /// The operating point with the highest true-positive rate among those whose false-positive
    /// rate is at most `falsePositiveRate` (the highest threshold among equals).
    ///
    /// No interpolation: only thresholds that exist are reported, so with few negatives the
    /// achieved false-positive rate can be below the target.
    public func operatingPoint(atFalsePositiveRate falsePositiveRate: Double) -> Point {
        precondition(falsePositiveRate >= 0 && falsePositiveRate <= 1,
                     "operatingPoint(atFalsePositiveRate: \(falsePositiveRate)) outside [0, 1]")
        var best = points[0]
        for point in points where point.falsePositiveRate <= falsePositiveRate && point.truePositiveRate > best.truePositiveRate {
            best = point
        }
        return best
    }

    /// The true-positive rate of `operatingPoint(atFalsePositiveRate:)`: TPR at a fixed FPR.
    public func truePositiveRate(atFalsePositiveRate falsePositiveRate: Double) -> Double {
        operatingPoint(atFalsePositiveRate: falsePositiveRate).truePositiveRate
    }
}

/// The area under the ROC curve of `scores` for `labels` (`true` = positive); see `ROCCurve`.
public func areaUnderROCCurve(scores: [Double], labels: [Bool]) -> Double {
    ROCCurve(scores: scores, labels: labels).area
}

/// The true-positive rate at a false-positive rate of at most `falsePositiveRate`; see
/// `ROCCurve.operatingPoint(atFalsePositiveRate:)`.
public func truePositiveRate(atFalsePositiveRate falsePositiveRate: Double, scores: [Double], labels: [Bool]) -> Double {
    ROCCurve(scores: scores, labels: labels).truePositiveRate(atFalsePositiveRate: falsePositiveRate)
}
