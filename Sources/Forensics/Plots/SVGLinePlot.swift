import Foundation

/// A line plot drawn as a standalone SVG 1.1 document: the robustness curves of the papers (bit
/// accuracy against the strength of a perturbation) and similar x–y series.
///
/// Each series is a polyline through its points in the order given, with a circle at every point,
/// in its own colour (ten distinct colours, then they repeat) and named in a legend to the right
/// of the plot. Both axes get "nice" ticks (steps of 1, 2 or 5 times a power of ten). The x
/// axis spans the data; the y axis spans `yRange` when given (points outside it are clipped just
/// beyond the plot's frame, leaving room for markers on the edge) or else the data and the
/// reference lines, widened to whole tick steps.
/// Horizontal reference lines (say y = 0.5 "chance") are dashed and labelled.
///
/// A plot is a checked value: `init` throws `SVGPlotError` for no series, a series without
/// points, a NaN or infinite coordinate, or an empty, reversed or non-finite range, so `svg()`
/// cannot fail. Text (title, labels, series names) may contain any characters; XML's special
/// characters are escaped and characters XML 1.0 forbids are replaced by U+FFFD.
public struct SVGLinePlot: Hashable, Sendable {
    /// One data point.
    public struct Point: Hashable, Sendable {
        public var x: Double
        public var y: Double

        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    /// A named sequence of points, drawn as one polyline with markers.
    public struct Series: Hashable, Sendable {
        public var name: String
        public var points: [Point]

        public init(name: String, points: [Point]) {
            self.name = name
            self.points = points
        }

        /// A series from `(x, y)` pairs.
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.init(name: name, points: points.map { Point(x: $0.x, y: $0.y) })
        }
    }

    /// A dashed horizontal line at `y` with a label at its right end (e.g. 0.5, "chance").
    public struct ReferenceLine: Hashable, Sendable {
        public var y: Double
        public var label: String

        public init(y: Double, label: String) {
            self.y = y
            self.label = label
        }
    }

    public let title: String
    public let xLabel: String
    public let yLabel: String
    public let series: [Series]
    /// The fixed y range, or `nil` to fit the data.
    public let yRange: ClosedRange<Double>?
    /// Reference lines; with a fixed `yRange`, those outside it are not drawn.
    public let referenceLines: [ReferenceLine]
    /// Whether x decreases from left to right (JPEG quality, crop size: stronger to the right).
    public let reversesXAxis: Bool
    /// The document's size in pixels.
    public let width: Int
    public let height: Int

    /// The colours of the series, in order (Tableau 10).
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// - Throws: `SVGPlotError` for no series, an empty series, a non-finite coordinate or
    ///   reference line, an invalid `yRange` or a size below 200 × 150 pixels.
    public init(title: String, xLabel: String, yLabel: String, series: [Series], yRange: ClosedRange<Double>? = nil,
                referenceLines: [ReferenceLine] = [], reversesXAxis: Bool = false,
                width: Int = 720, height: Int = 450) throws(SVGPlotError) {
        guard !series.isEmpty else { throw .noSeries }
        for item in series {
            guard !item.points.isEmpty else { throw .emptySeries(name: item.name) }
            if let index = item.points.firstIndex(where: { !$0.x.isFinite || !$0.y.isFinite }) {
                throw .nonFiniteValue(series: item.name, pointIndex: index)
            }
        }
        if let line = referenceLines.first(where: { !$0.y.isFinite }) { throw .nonFiniteReferenceLine(label: line.label) }
        if let yRange, !(yRange.lowerBound.isFinite && yRange.upperBound.isFinite && yRange.lowerBound < yRange.upperBound) {
            throw .invalidRange("y range \(yRange) must be finite and not empty")
        }
        guard width >= 200, height >= 150 else { throw .invalidRange("a plot needs at least 200 × 150 pixels, not \(width) × \(height)") }
        (self.title, self.xLabel, self.yLabel, self.series) = (title, xLabel, yLabel, series)
        (self.yRange, self.referenceLines, self.reversesXAxis) = (yRange, referenceLines, reversesXAxis)
        (self.width, self.height) = (width, height)
    }

    // MARK: Axes

    /// The x values the axis spans: the data's extent (a single value v is widened by |v| / 10
    /// each side, or by 1 if it is 0).
    public var xDomain: ClosedRange<Double> {
        let xs = series.flatMap { $0.points.map(\.x) }
        return Self.widened(xs.min()!...xs.max()!)
    }

    /// The y values the axis spans: `yRange`, or the data and reference lines widened to whole ticks.
    public var yDomain: ClosedRange<Double> {
        if let yRange { return yRange }
        let ys = series.flatMap { $0.points.map(\.y) } + referenceLines.map(\.y)
        let range = Self.widened(ys.min()!...ys.max()!)
        let step = Self.tickStep(covering: range, targetCount: 6)
        return (range.lowerBound / step + 1e-9).rounded(.down) * step...(range.upperBound / step - 1e-9).rounded(.up) * step
    }

    /// The tick values of the x axis.
    public var xTicks: [Double] { Self.niceTicks(covering: xDomain) }

    /// The tick values of the y axis.
    public var yTicks: [Double] { Self.niceTicks(covering: yDomain) }

    /// Round tick values inside `range`: the multiples of a step of 1, 2 or 5 times a power of
    /// ten, the step whose number of ticks is nearest `targetCount` (the smaller step on a tie).
    /// Values are rounded to the step's decimals, so 0.1 · 3 is 0.3.
    public static func niceTicks(covering range: ClosedRange<Double>, targetCount: Int = 6) -> [Double] {
        precondition(range.lowerBound.isFinite && range.upperBound.isFinite && targetCount >= 2,
                     "niceTicks of \(range) with \(targetCount) ticks")
        guard range.upperBound > range.lowerBound else { return [range.lowerBound] }
        let step = tickStep(covering: range, targetCount: targetCount)
        let (first, last) = tickIndices(range, step: step)
        let scale = pow(10, Double(decimalPlaces(of: step)))
        return (first...last).map { k in
            let value = (Double(k) * step * scale).rounded() / scale
            return value == 0 ? 0 : value   // no -0
        }
    }

    /// The step of `niceTicks(covering:targetCount:)`.
    static func tickStep(covering range: ClosedRange<Double>, targetCount: Int) -> Double {
        let raw = (range.upperBound - range.lowerBound) / Double(targetCount - 1)
        let exponent = log10(raw).rounded(.down)
        var best = (step: raw, distance: Int.max)
        for power in [exponent - 1, exponent, exponent + 1] {
            for multiple in [1.0, 2, 5] {
                let step = multiple * pow(10, power)
                let (first, last) = tickIndices(range, step: step)
                let distance = abs(last - first + 1 - targetCount)
                if distance < best.distance || (distance == best.distance && step < best.step) { best = (step, distance) }
            }
        }
        return best.step
    }

    /// The first and last k with k · step inside `range` (allowing for rounding).
    private static func tickIndices(_ range: ClosedRange<Double>, step: Double) -> (Int, Int) {
        (Int((range.lowerBound / step - 1e-9).rounded(.up)), Int((range.upperBound / step + 1e-9).rounded(.down)))
    }

    /// The decimals needed to print multiples of `step` exactly (0 for 5, 1 for 0.1, 2 for 0.05).
    static func decimalPlaces(of step: Double) -> Int {
        for decimals in 0...15 {
            let scaled = step * pow(10, Double(decimals))
            if abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled) { return decimals }
        }
        return 15
    }

    /// `range`, widened by 1 on each side (or by a tenth of its magnitude) when it is a single value.
    private static func widened(_ range: ClosedRange<Double>) -> ClosedRange<Double> {
        guard range.lowerBound == range.upperBound else { return range }
        let margin = range.lowerBound == 0 ? 1 : abs(range.lowerBound) / 10
        return (range.lowerBound - margin)...(range.upperBound + margin)
    }

    // MARK: Drawing

    /// The plot as a standalone SVG 1.1 document (UTF-8 text with an XML declaration).
    public func svg() -> String {
        let frame = (left: 72.0, top: 48.0, right: Double(width) - 190, bottom: Double(height) - 64)
        let (xs, ys) = (xDomain, yDomain)
        func px(_ x: Double) -> Double {
            let t = (x - xs.lowerBound) / (xs.upperBound - xs.lowerBound)
            return frame.left + (reversesXAxis ? 1 - t : t) * (frame.right - frame.left)
        }
        func py(_ y: Double) -> Double {
            frame.bottom - (y - ys.lowerBound) / (ys.upperBound - ys.lowerBound) * (frame.bottom - frame.top)
        }
        let (plotWidth, plotHeight) = (frame.right - frame.left, frame.bottom - frame.top)
        var out = """
            <?xml version="1.0" encoding="UTF-8" standalone="no"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(width)" height="\(height)" \
            viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
            <title>\(escaped(title))</title>
            <defs><clipPath id="plot-area"><rect x="\(f(frame.left - 6))" y="\(f(frame.top - 6))" width="\(f(plotWidth + 12))" \
            height="\(f(plotHeight + 12))"/></clipPath></defs>
            <rect x="0" y="0" width="\(width)" height="\(height)" fill="white"/>

            """
        let xTicks = xTicks, yTicks = yTicks
        let xDecimals = xTicks.count > 1 ? Self.decimalPlaces(of: abs(xTicks[1] - xTicks[0])) : 2
        let yDecimals = yTicks.count > 1 ? Self.decimalPlaces(of: abs(yTicks[1] - yTicks[0])) : 2
        out += "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n"
        for x in xTicks { out += "<line x1=\"\(f(px(x)))\" y1=\"\(f(frame.top))\" x2=\"\(f(px(x)))\" y2=\"\(f(frame.bottom))\"/>\n" }
        for y in yTicks { out += "<line x1=\"\(f(frame.left))\" y1=\"\(f(py(y)))\" x2=\"\(f(frame.right))\" y2=\"\(f(py(y)))\"/>\n" }
        out += "</g>\n"
        out += "<g class=\"x-ticks\" text-anchor=\"middle\" fill=\"#222\">\n"
        for x in xTicks {
            out += "<line x1=\"\(f(px(x)))\" y1=\"\(f(frame.bottom))\" x2=\"\(f(px(x)))\" y2=\"\(f(frame.bottom + 5))\" stroke=\"#222\"/>"
            out += "<text x=\"\(f(px(x)))\" y=\"\(f(frame.bottom + 19))\">\(label(x, decimals: xDecimals))</text>\n"
        }
        out += "</g>\n<g class=\"y-ticks\" text-anchor=\"end\" fill=\"#222\">\n"
        for y in yTicks {
            out += "<line x1=\"\(f(frame.left - 5))\" y1=\"\(f(py(y)))\" x2=\"\(f(frame.left))\" y2=\"\(f(py(y)))\" stroke=\"#222\"/>"
            out += "<text x=\"\(f(frame.left - 8))\" y=\"\(f(py(y) + 4))\">\(label(y, decimals: yDecimals))</text>\n"
        }
        out += "</g>\n"
        out += "<g class=\"reference-lines\" fill=\"#555\" font-size=\"11\" text-anchor=\"end\">\n"
        for line in referenceLines where ys.contains(line.y) {
            out += "<line x1=\"\(f(frame.left))\" y1=\"\(f(py(line.y)))\" x2=\"\(f(frame.right))\" y2=\"\(f(py(line.y)))\" "
            out += "stroke=\"#555\" stroke-width=\"1\" stroke-dasharray=\"6 4\"/>"
            out += "<text x=\"\(f(frame.right - 4))\" y=\"\(f(py(line.y) - 4))\">\(escaped(line.label))</text>\n"
        }
        out += "</g>\n<g class=\"data\" clip-path=\"url(#plot-area)\" fill=\"none\" stroke-width=\"2\">\n"
        for (index, item) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let points = item.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            out += "<g class=\"series\" stroke=\"\(colour)\">\n<polyline points=\"\(points)\"/>\n"
            for point in item.points {
                out += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3.5\" fill=\"\(colour)\"/>\n"
            }
            out += "</g>\n"
        }
        out += "</g>\n"
        out += "<rect class=\"frame\" x=\"\(f(frame.left))\" y=\"\(f(frame.top))\" width=\"\(f(plotWidth))\" "
        out += "height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#222\" stroke-width=\"1\"/>\n"
        out += "<text class=\"plot-title\" x=\"\(f((frame.left + frame.right) / 2))\" y=\"28\" text-anchor=\"middle\" "
        out += "font-size=\"15\" font-weight=\"bold\">\(escaped(title))</text>\n"
        out += "<text class=\"x-label\" x=\"\(f((frame.left + frame.right) / 2))\" y=\"\(f(frame.bottom + 44))\" "
        out += "text-anchor=\"middle\">\(escaped(xLabel))</text>\n"
        let middle = (frame.top + frame.bottom) / 2
        out += "<text class=\"y-label\" x=\"20\" y=\"\(f(middle))\" text-anchor=\"middle\" "
        out += "transform=\"rotate(-90 20 \(f(middle)))\">\(escaped(yLabel))</text>\n"
        out += "<g class=\"legend\">\n"
        for (index, item) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let y = frame.top + 10 + Double(index) * 20
            out += "<line x1=\"\(f(frame.right + 16))\" y1=\"\(f(y))\" x2=\"\(f(frame.right + 40))\" y2=\"\(f(y))\" "
            out += "stroke=\"\(colour)\" stroke-width=\"2\"/>"
            out += "<circle cx=\"\(f(frame.right + 28))\" cy=\"\(f(y))\" r=\"3.5\" fill=\"\(colour)\"/>"
            out += "<text x=\"\(f(frame.right + 46))\" y=\"\(f(y + 4))\">\(escaped(item.name))</text>\n"
        }
        out += "</g>\n</svg>\n"
        return out
    }

    /// Writes `svg()` to `url` atomically (a temporary file renamed into place).
    public func write(to url: URL) throws {
        try Data(svg().utf8).write(to: url, options: .atomic)
    }

    /// A coordinate with two decimals.
    private func f(_ value: Double) -> String { String(format: "%.2f", value) }

    /// A tick label with the step's decimals (never "-0").
    private func label(_ value: Double, decimals: Int) -> String {
        let text = String(format: "%.\(decimals)f", value)
        return Double(text) == 0 ? String(format: "%.\(decimals)f", 0.0) : text
    }
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped for XML, and characters XML 1.0 does not allow
/// (controls other than tab, line feed and carriage return; U+FFFE, U+FFFF) replaced by U+FFFD.
private func escaped(_ text: String) -> String {
    var result = ""
    result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&apos;"
        case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
        case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
            result.unicodeScalars.append("\u{FFFD}")
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}

/// Why an `SVGLinePlot` cannot be drawn.
public enum SVGPlotError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The plot has no series.
    case noSeries
    /// A series without points.
    case emptySeries(name: String)
    /// A point with a NaN or infinite coordinate.
    case nonFiniteValue(series: String, pointIndex: Int)
    /// A reference line at a NaN or infinite y.
    case nonFiniteReferenceLine(label: String)
    /// An empty, reversed or non-finite range, or a canvas too small.
    case invalidRange(String)

    public var description: String {
        switch self {
        case .noSeries: "a plot needs at least one series"
        case .emptySeries(let name): "series \"\(name)\" has no points"
        case let .nonFiniteValue(name, index): "point \(index) of series \"\(name)\" is not finite"
        case .nonFiniteReferenceLine(let label): "reference line \"\(label)\" is not at a finite y"
        case .invalidRange(let reason): reason
        }
    }
}
