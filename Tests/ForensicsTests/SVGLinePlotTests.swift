import Forensics
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import XCTest

/// SVG line plots: well-formed documents, escaping, ticks, axes and the checks of `init`.
final class SVGLinePlotTests: XCTestCase {
    static func samplePlot(title: String = "Robustness", reversed: Bool = false,
                           yRange: ClosedRange<Double>? = 0.4...1.0) throws -> SVGLinePlot {
        try SVGLinePlot(
            title: title, xLabel: "noise std", yLabel: "bit accuracy",
            series: [
                .init(name: "CelebA", points: [(x: 0, y: 0.99), (x: 0.1, y: 0.9), (x: 0.2, y: 0.7), (x: 0.3, y: 0.55)]),
                .init(name: "LSUN", points: [(x: 0, y: 0.98), (x: 0.15, y: 0.8), (x: 0.3, y: 0.3)]),
                .init(name: "one point", points: [(x: 0.05, y: 0.6)]),
            ],
            yRange: yRange,
            referenceLines: [.init(y: 0.5, label: "chance"), .init(y: 0.75, label: "threshold"), .init(y: 0.2, label: "off-scale")],
            reversesXAxis: reversed)
    }

    /// Parses `text` as XML (failing the test if it is not well formed) and returns its root.
    func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> XMLElement {
        let document = try XMLDocument(xmlString: text, options: [])
        return try XCTUnwrap(document.rootElement(), file: file, line: line)
    }

    /// Every element below `element` (depth first, document order) named `name`.
    func descendants(of element: XMLElement, named name: String) -> [XMLElement] {
        var found: [XMLElement] = []
        for case let child as XMLElement in element.children ?? [] {
            if child.localName == name { found.append(child) }
            found += descendants(of: child, named: name)
        }
        return found
    }

    /// The value of attribute `name` (FoundationXML's `attribute(forName:)` finds none on elements
    /// in a default namespace, so the list is searched).
    func attribute(_ element: XMLElement?, _ name: String) -> String? {
        element?.attributes?.first { $0.name == name }?.stringValue
    }

    func group(_ root: XMLElement, class name: String) throws -> XMLElement {
        try XCTUnwrap(descendants(of: root, named: "g").first { attribute($0, "class") == name }, name)
    }

    func testDocumentIsWellFormedSVGWithAPolylinePerSeriesAndALegend() throws {
        let plot = try Self.samplePlot()
        let root = try parse(plot.svg())
        XCTAssertEqual(root.localName, "svg")
        XCTAssertEqual(root.uri, "http://www.w3.org/2000/svg")
        XCTAssertEqual(attribute(root, "version"), "1.1")
        XCTAssertEqual(attribute(root, "width"), "720")
        let data = try group(root, class: "data")
        XCTAssertEqual(attribute(data, "clip-path"), "url(#plot-area)")
        let polylines = descendants(of: data, named: "polyline")
        XCTAssertEqual(polylines.count, 3)
        XCTAssertEqual(polylines.map { attribute($0, "points")?.split(separator: " ").count }, [4, 3, 1])
        XCTAssertEqual(descendants(of: data, named: "circle").count, 8)
        // Distinct colours, repeated by the legend.
        let colours = descendants(of: data, named: "g").compactMap { attribute($0, "stroke") }
        XCTAssertEqual(colours, Array(SVGLinePlot.palette.prefix(3)))
        let legend = try group(root, class: "legend")
        XCTAssertEqual(descendants(of: legend, named: "text").map(\.stringValue), ["CelebA", "LSUN", "one point"])
        XCTAssertEqual(descendants(of: legend, named: "line").compactMap { attribute($0, "stroke") },
                       Array(SVGLinePlot.palette.prefix(3)))
        // Reference lines inside the fixed range only; title and axis labels present.
        let references = try group(root, class: "reference-lines")
        XCTAssertEqual(descendants(of: references, named: "text").map(\.stringValue), ["chance", "threshold"])
        let texts = descendants(of: root, named: "text")
        let title = texts.first { attribute($0, "class") == "plot-title" }
        XCTAssertEqual(title?.stringValue, "Robustness")
        XCTAssertTrue(texts.contains { attribute($0, "class") == "x-label" && $0.stringValue == "noise std" })
        XCTAssertTrue(texts.contains { attribute($0, "class") == "y-label" && $0.stringValue == "bit accuracy" })
        // Tick labels print the step's decimals.
        XCTAssertEqual(descendants(of: try group(root, class: "y-ticks"), named: "text").map(\.stringValue),
                       ["0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0"])
        XCTAssertEqual(descendants(of: try group(root, class: "x-ticks"), named: "text").map(\.stringValue),
                       ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30"])
    }

    func testTextIsEscaped() throws {
        let nasty = "a<b & \"c\" 'd' ]]> \u{1}é"
        let plot = try SVGLinePlot(title: nasty, xLabel: "x & y", yLabel: "<y>",
                                   series: [.init(name: "</text><script>", points: [(x: 1, y: 2), (x: 2, y: 3)])],
                                   referenceLines: [.init(y: 2.5, label: "a&b")])
        let text = plot.svg()
        XCTAssertFalse(text.contains("<script>"))
        let root = try parse(text)
        let texts = descendants(of: root, named: "text")
        XCTAssertEqual(texts.first { attribute($0, "class") == "plot-title" }?.stringValue,
                       "a<b & \"c\" 'd' ]]> \u{FFFD}é", "a control character becomes U+FFFD")
        XCTAssertEqual(descendants(of: root, named: "title").first?.stringValue, "a<b & \"c\" 'd' ]]> \u{FFFD}é")
        XCTAssertTrue(texts.contains { $0.stringValue == "</text><script>" })
        XCTAssertTrue(texts.contains { $0.stringValue == "x & y" })
        XCTAssertTrue(texts.contains { $0.stringValue == "<y>" })
        XCTAssertTrue(texts.contains { $0.stringValue == "a&b" })
    }

    func testNiceTicks() {
        XCTAssertEqual(SVGLinePlot.niceTicks(covering: 0.4...1.0), [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
        XCTAssertEqual(SVGLinePlot.niceTicks(covering: 0...0.3), [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
        XCTAssertEqual(SVGLinePlot.niceTicks(covering: 10...100), [20, 40, 60, 80, 100])
        XCTAssertEqual(SVGLinePlot.niceTicks(covering: 16...32), [16, 18, 20, 22, 24, 26, 28, 30, 32])
        XCTAssertEqual(SVGLinePlot.niceTicks(covering: -1...5), [-1, 0, 1, 2, 3, 4, 5])
        XCTAssertEqual(SVGLinePlot.niceTicks(covering: 0...1000, targetCount: 3), [0, 500, 1000])
        XCTAssertEqual(SVGLinePlot.niceTicks(covering: -0.03 ... -0.01), [-0.03, -0.025, -0.02, -0.015, -0.01])
        XCTAssertEqual(SVGLinePlot.niceTicks(covering: 2...2), [2])
        // Never a ragged value such as 0.30000000000000004, never -0.
        for ticks in [SVGLinePlot.niceTicks(covering: 0.1...0.7), SVGLinePlot.niceTicks(covering: -0.35...0.35)] {
            for tick in ticks { XCTAssertEqual(tick, (tick * 1000).rounded() / 1000) }
            XCTAssertFalse(ticks.contains { $0 == 0 && $0.sign == .minus })
        }
    }

    func testAutomaticRangesAndReversedAxis() throws {
        let plot = try Self.samplePlot(reversed: true, yRange: nil)
        XCTAssertEqual(plot.xDomain, 0...0.3)
        XCTAssertEqual(plot.yDomain.lowerBound, 0.2, accuracy: 1e-12, "the data and reference lines, widened to whole ticks")
        XCTAssertEqual(plot.yDomain.upperBound, 1.0, accuracy: 1e-12)
        let root = try parse(plot.svg())
        // Reversed: x = 0 at the right, x = 0.3 at the left.
        let circles = descendants(of: try group(root, class: "data"), named: "circle").prefix(4)
        let xs = circles.compactMap { attribute($0, "cx").flatMap(Double.init) }
        XCTAssertEqual(xs.count, 4)
        XCTAssertEqual(xs, xs.sorted(by: >))
        XCTAssertEqual(descendants(of: try group(root, class: "reference-lines"), named: "text").count, 3)
        // A single x value still makes a usable axis.
        let single = try SVGLinePlot(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "s", points: [(x: 3, y: 0.5)])])
        XCTAssertEqual(single.xDomain.lowerBound, 2.7, accuracy: 1e-12, "widened by a tenth of the value")
        XCTAssertEqual(single.xDomain.upperBound, 3.3, accuracy: 1e-12)
        let zero = try SVGLinePlot(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "s", points: [(x: 0, y: 0)])])
        XCTAssertEqual(zero.xDomain, -1...1)
        XCTAssertEqual(zero.yDomain, -1...1)
        XCTAssertNoThrow(try parse(single.svg()))
    }

    func testInvalidPlotsThrowTypedErrors() {
        func attempt(_ series: [SVGLinePlot.Series], yRange: ClosedRange<Double>? = nil,
                     references: [SVGLinePlot.ReferenceLine] = []) -> SVGPlotError? {
            do throws(SVGPlotError) {
                _ = try SVGLinePlot(title: "t", xLabel: "x", yLabel: "y", series: series, yRange: yRange, referenceLines: references)
                return nil
            } catch { return error }
        }
        let good = SVGLinePlot.Series(name: "good", points: [(x: 0, y: 1)])
        XCTAssertEqual(attempt([]), .noSeries)
        XCTAssertEqual(attempt([good, .init(name: "empty", points: [SVGLinePlot.Point]())]), .emptySeries(name: "empty"))
        XCTAssertEqual(attempt([.init(name: "nan", points: [(x: 0, y: 1), (x: 1, y: .nan)])]),
                       .nonFiniteValue(series: "nan", pointIndex: 1))
        XCTAssertEqual(attempt([.init(name: "inf", points: [(x: -.infinity, y: 1)])]), .nonFiniteValue(series: "inf", pointIndex: 0))
        XCTAssertEqual(attempt([good], references: [.init(y: .nan, label: "r")]), .nonFiniteReferenceLine(label: "r"))
        if case .invalidRange = attempt([good], yRange: 1...1) {} else { XCTFail("an empty y range must be rejected") }
        if case .invalidRange = attempt([good], yRange: 0...Double.infinity) {} else { XCTFail("an infinite y range must be rejected") }
        XCTAssertNotNil(attempt([]).map(\.description))
    }

    func testWriteIsTheDocument() throws {
        let directory = try makeTemporaryDirectory(prefix: "gfp-svg")
        let url = directory.appendingPathComponent("plot.svg")
        let plot = try Self.samplePlot()
        try plot.write(to: url)
        try plot.write(to: url)   // replaces the file
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), plot.svg())
        XCTAssertTrue(plot.svg().hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\""))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["plot.svg"])
    }
}
