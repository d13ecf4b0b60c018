import Forensics
import Foundation
import Imaging
import NN
import Tensor

/// The measured curve of one sweep: mean bit accuracy at every point.
public struct RobustnessCurve: Codable, Hashable, Sendable {
    public struct Point: Codable, Hashable, Sendable {
        public var x: Double
        /// The attack's spelling (`none`, `jpeg:50`, `weight-noise:0.1`).
        public var perturbation: String
        public var meanBitAccuracy: Double
    }

    public var sweep: String
    public var title: String
    public var xLabel: String
    public var reversesXAxis: Bool
    /// Images decoded at every point.
    public var images: Int
    public var points: [Point]

    /// The curve as a plot: y from 0.4 (lower to the next 0.1 if a point is below) to 1,
    /// reference lines at 0.5 (chance) and at 0.75, the ICCV'21 paper's detection threshold
    /// (p = 2.8·10⁻⁷ for 100 bits).
    public func plot() throws(SVGPlotError) -> SVGLinePlot {
        let lowest = points.map(\.meanBitAccuracy).min() ?? 0.4
        return try SVGLinePlot(
            title: "Fingerprint detection under \(title)", xLabel: xLabel, yLabel: "mean bit accuracy",
            series: [.init(name: "\(images) images", points: points.map { SVGLinePlot.Point(x: $0.x, y: $0.meanBitAccuracy) })],
            yRange: min(0.4, (lowest * 10).rounded(.down) / 10)...1.0,
            referenceLines: [.init(y: 0.5, label: "chance"), .init(y: 0.75, label: "detection threshold 0.75")],
            reversesXAxis: reversesXAxis)
    }
}

/// Every curve of one robustness run, as `gfp stego robustness` writes it.
public struct RobustnessReport: Codable, Hashable, Sendable {
    /// The images' source: a folder, `fashion-mnist:test`, or the generator's checkpoint.
    public var source: String
    public var seed: UInt64
    public var expected: Fingerprint
    public var curves: [RobustnessCurve]

    public init(source: String, seed: UInt64, expected: Fingerprint, curves: [RobustnessCurve]) {
        (self.source, self.seed, self.expected, self.curves) = (source, seed, expected, curves)
    }

    /// `sweep,x,perturbation,images,mean_bit_accuracy`, one row per point, fields quoted where needed.
    public func csv() -> String {
        func field(_ text: String) -> String {
            text.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = ["sweep,x,perturbation,images,mean_bit_accuracy"]
        for curve in curves {
            for point in curve.points {
                lines.append([field(curve.sweep), "\(point.x)", field(point.perturbation), "\(curve.images)",
                              "\(point.meanBitAccuracy)"].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `robustness.json`, `robustness.csv` and one `<sweep>.svg` per curve into
    /// `directory` (created if needed), each file atomically.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: directory.appendingPathComponent("robustness.json"), options: .atomic)
        try Data(csv().utf8).write(to: directory.appendingPathComponent("robustness.csv"), options: .atomic)
        for curve in curves {
            try curve.plot().write(to: directory.appendingPathComponent("\(curve.sweep).svg"))
        }
    }
}

/// Why a robustness run cannot start.
public enum RobustnessError: Error, Equatable, Sendable, CustomStringConvertible {
    case noImages
    case emptySweep(String)
    /// Model sweeps need a generator; given only images, they cannot run.
    case modelSweepWithoutGenerator(String)

    public var description: String {
        switch self {
        case .noImages: "no images to measure robustness on"
        case .emptySweep(let name): "sweep \(name) has no points"
        case .modelSweepWithoutGenerator(let name): "sweep \(name) perturbs a generator's weights and needs a generator"
        }
    }
}
