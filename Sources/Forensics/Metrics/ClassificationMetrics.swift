/// The fraction of `predictions` equal to the corresponding `labels`, in [0, 1]; 0 when empty.
///
/// For attribution, labels are source indices (real, GAN 1, GAN 2, …); for detection, booleans.
public func accuracy<Label: Equatable>(predictions: [Label], labels: [Label]) -> Double {
    precondition(predictions.count == labels.count,
                 "accuracy of \(predictions.count) predictions against \(labels.count) labels")
    guard !labels.isEmpty else { return 0 }
    return Double(zip(predictions, labels).count { $0 == $1 }) / Double(labels.count)
}

/// Counts of (actual class, predicted class) pairs for a classifier over `classCount` classes
/// numbered `0..<classCount`, as used to report attribution among real images and several GANs.
///
/// ```swift
/// let matrix = ConfusionMatrix(predictions: [0, 1, 1, 2], labels: [0, 1, 2, 2], classCount: 3)
/// matrix[actual: 2, predicted: 1]   // 1
/// matrix.accuracy                   // 0.75
/// ```
public struct ConfusionMatrix: Hashable, Codable, Sendable {
    /// The number of classes.
    public let classCount: Int
    /// The counts row-major by actual class: `counts[actual * classCount + predicted]`.
    public private(set) var counts: [Int]

    /// An empty matrix over `classCount` classes.
    public init(classCount: Int) {
        precondition(classCount > 0, "ConfusionMatrix needs at least one class, got \(classCount)")
        self.classCount = classCount
        self.counts = Array(repeating: 0, count: classCount * classCount)
    }

    /// The matrix of `predictions` against `labels`, both class indices in `0..<classCount`.
    public init(predictions: [Int], labels: [Int], classCount: Int) {
        precondition(predictions.count == labels.count,
                     "ConfusionMatrix of \(predictions.count) predictions against \(labels.count) labels")
        self.init(classCount: classCount)
        for (prediction, label) in zip(predictions, labels) { record(prediction: prediction, label: label) }
    }

    /// Counts one more sample of class `label` predicted as `prediction`.
    public mutating func record(prediction: Int, label: Int) {
        precondition((0..<classCount).contains(prediction) && (0..<classCount).contains(label),
                     "ConfusionMatrix over \(classCount) classes: label \(label), prediction \(prediction)")
        counts[label * classCount + prediction] += 1
    }

    /// The number of samples of class `actual` predicted as `predicted`.
    public subscript(actual actual: Int, predicted predicted: Int) -> Int {
        counts[actual * classCount + predicted]
    }

    /// The number of samples counted.
    public var total: Int { counts.reduce(0, +) }

    /// The number of samples whose class is `actual` (a row sum).
    public func support(ofClass actual: Int) -> Int {
        (0..<classCount).reduce(0) { $0 + self[actual: actual, predicted: $1] }
    }

    /// The fraction of samples on the diagonal; 0 for an empty matrix.
    public var accuracy: Double {
        let total = self.total
        guard total > 0 else { return 0 }
        return Double((0..<classCount).reduce(0) { $0 + self[actual: $1, predicted: $1] }) / Double(total)
    }

    /// Of the samples of class `c`, the fraction predicted as `c` (its true-positive rate); 0 when
    /// the class has no samples.
    public func recall(ofClass c: Int) -> Double {
        let support = support(ofClass: c)
        return support == 0 ? 0 : Double(self[actual: c, predicted: c]) / Double(support)
    }

    /// Of the samples predicted as class `c`, the fraction that are `c`; 0 when nothing was.
    public func precision(ofClass c: Int) -> Double {
        let predicted = (0..<classCount).reduce(0) { $0 + self[actual: $1, predicted: c] }
        return predicted == 0 ? 0 : Double(self[actual: c, predicted: c]) / Double(predicted)
    }
}

extension ConfusionMatrix: CustomStringConvertible {
    /// A table with one row per actual class and one column per predicted class.
    public var description: String {
        let width = max(6, String(counts.max() ?? 0).count + 1)
        func cell(_ text: String) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        var lines = ["actual\\predicted" + (0..<classCount).map { cell(String($0)) }.joined()]
        for actual in 0..<classCount {
            let label = String(actual)
            lines.append(label + String(repeating: " ", count: max(0, 17 - label.count))
                         + (0..<classCount).map { cell(String(self[actual: actual, predicted: $0])) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
