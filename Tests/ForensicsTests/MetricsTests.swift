import Forensics
import Tensor
import XCTest

final class MetricsTests: XCTestCase {
    func testAccuracyAndConfusionMatrix() {
        XCTAssertEqual(accuracy(predictions: [0, 1, 1, 2], labels: [0, 1, 2, 2]), 0.75)
        XCTAssertEqual(accuracy(predictions: [true, false], labels: [false, false]), 0.5)
        XCTAssertEqual(accuracy(predictions: [Int](), labels: []), 0)

        let matrix = ConfusionMatrix(predictions: [0, 1, 1, 2, 2, 2, 0], labels: [0, 1, 2, 2, 2, 0, 0], classCount: 3)
        XCTAssertEqual(matrix[actual: 0, predicted: 0], 2)
        XCTAssertEqual(matrix[actual: 0, predicted: 2], 1)
        XCTAssertEqual(matrix[actual: 2, predicted: 1], 1)
        XCTAssertEqual(matrix[actual: 2, predicted: 2], 2)
        XCTAssertEqual(matrix.total, 7)
        XCTAssertEqual(matrix.accuracy, 5.0 / 7)
        XCTAssertEqual(matrix.recall(ofClass: 2), 2.0 / 3)
        XCTAssertEqual(matrix.precision(ofClass: 2), 2.0 / 3)
        XCTAssertEqual(matrix.precision(ofClass: 1), 0.5)
        XCTAssertEqual(matrix.support(ofClass: 0), 3)
        XCTAssertEqual(matrix.accuracy, accuracy(predictions: [0, 1, 1, 2, 2, 2, 0], labels: [0, 1, 2, 2, 2, 0, 0]))
        XCTAssert(matrix.description.contains("actual\\predicted"))
        XCTAssertEqual(ConfusionMatrix(classCount: 2).accuracy, 0)
    }

    func testROCCurveOfAPerfectAndAnInvertedDetector() {
        let perfect = ROCCurve(scores: [0.9, 0.8, 0.3, 0.1], labels: [true, true, false, false])
        XCTAssertEqual(perfect.area, 1)
        XCTAssertEqual(perfect.truePositiveRate(atFalsePositiveRate: 0), 1)
        XCTAssertEqual(perfect.operatingPoint(atFalsePositiveRate: 0).threshold, 0.8)
        let inverted = ROCCurve(scores: [0.1, 0.2, 0.8, 0.9], labels: [true, true, false, false])
        XCTAssertEqual(inverted.area, 0)
        XCTAssertEqual(inverted.truePositiveRate(atFalsePositiveRate: 0.5), 0)
        XCTAssertEqual(inverted.truePositiveRate(atFalsePositiveRate: 1), 1)
    }

    func testROCTiesCountOneHalf() {
        // All scores equal: one step from (0, 0) to (1, 1), area ½.
        let flat = ROCCurve(scores: [0.5, 0.5, 0.5, 0.5, 0.5], labels: [true, false, true, false, false])
        XCTAssertEqual(flat.points.count, 2)
        XCTAssertEqual(flat.area, 0.5)
        XCTAssertEqual(flat.truePositiveRate(atFalsePositiveRate: 0.99), 0, "the tie cannot be split")
        // Hand-computed: positives {3, 2, 2}, negatives {2, 1}: pairs 3>2, 3>1, 2=2 (½), 2>1, 2=2 (½), 2>1 → 5/6.
        let curve = ROCCurve(scores: [3, 2, 2, 2, 1], labels: [true, true, true, false, false])
        XCTAssertEqual(curve.area, 5.0 / 6, accuracy: 1e-15)
        XCTAssertEqual(curve.points.map(\.falsePositiveRate), [0, 0, 0.5, 1])
        XCTAssertEqual(curve.points.map(\.truePositiveRate), [0, 1.0 / 3, 1, 1])
        XCTAssertEqual(curve.points.map(\.threshold), [.infinity, 3, 2, 1])
        XCTAssertEqual(curve.truePositiveRate(atFalsePositiveRate: 0.4), 1.0 / 3)
        XCTAssertEqual(curve.truePositiveRate(atFalsePositiveRate: 0.5), 1)
    }

    /// The area equals the Mann–Whitney statistic counted pair by pair, on data with many ties.
    func testAreaEqualsPairwiseProbabilityWithTies() {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<20 {
            let count = Int.random(in: 10...80, using: &generator)
            let labels = (0..<count).map { $0 < 2 ? $0 == 0 : Bool.random(using: &generator) }
            let scores = labels.map { Double(Int.random(in: 0...6, using: &generator) + ($0 ? 2 : 0)) }
            var wins = 0.0, pairs = 0.0
            for (i, positive) in labels.enumerated() where positive {
                for (j, negative) in labels.enumerated() where !negative {
                    pairs += 1
                    wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
                }
            }
            XCTAssertEqual(areaUnderROCCurve(scores: scores, labels: labels), wins / pairs, accuracy: 1e-12)
            // TPR at FPR against a direct count at every distinct threshold.
            for target in [0.0, 0.1, 0.25, 0.5, 1] {
                var best = 0.0
                for threshold in Set(scores) {
                    let fpr = Double(zip(scores, labels).count { $0 >= threshold && !$1 }) / Double(labels.count { !$0 })
                    let tpr = Double(zip(scores, labels).count { $0 >= threshold && $1 }) / Double(labels.count { $0 })
                    if fpr <= target { best = max(best, tpr) }
                }
                XCTAssertEqual(truePositiveRate(atFalsePositiveRate: target, scores: scores, labels: labels), best)
            }
        }
    }
}
