import Foundation
import Forensics
import Tensor
import XCTest

/// Fréchet distances against NumPy/SciPy (`scipy.linalg.sqrtm`), from Tools/make_forensics_fixtures.py.
final class FrechetDistanceTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let a: [[Double]], b: [[Double]]
        let muDistance2: Double, traceA: Double, traceB: Double, traceSqrt: Double, fd: Double
        enum CodingKeys: String, CodingKey {
            case name, a, b, fd, muDistance2 = "mu_distance2", traceA = "trace_a", traceB = "trace_b", traceSqrt = "trace_sqrt"
        }
    }
    struct Fixture: Decodable { let cases: [Case] }

    static let cases: [Case] = {
        let url = Bundle.module.url(forResource: "frechet", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url)).cases
    }()

    func testMatchesSciPy() throws {
        XCTAssertEqual(Self.cases.count, 5)
        for c in Self.cases {
            let a = try FeatureStatistics(features: c.a), b = try FeatureStatistics(features: c.b)
            XCTAssertEqual(a.covariance.enumerated().filter { $0.offset % (a.dimension + 1) == 0 }.map(\.element).reduce(0, +),
                           c.traceA, accuracy: 1e-12 * c.traceA, "\(c.name): trace of the covariance (N − 1)")
            let fd = try frechetDistance(a, b)
            // Errors scale with the traces the distance is a difference of, not with the distance.
            let scale = c.traceA + c.traceB + c.muDistance2
            XCTAssertEqual(fd, c.fd, accuracy: 1e-10 * scale, "\(c.name): FD \(fd), SciPy \(c.fd)")
            XCTAssertEqual(try frechetDistance(between: c.a, and: c.b), fd)
            print("\(c.name): FD \(fd), SciPy \(c.fd), difference \(abs(fd - c.fd)) at scale \(scale)")
        }
    }

    func testTensorFeaturesAndBasicProperties() throws {
        var generator = SeededGenerator(seed: 5)
        let x = Tensor.normal([200, 6], using: &generator)
        let y = Tensor.normal([150, 6], mean: 1, using: &generator)
        let fd = try frechetDistance(between: x, and: y)
        let rows: (Tensor) -> [[Double]] = { t in (0..<t.shape[0]).map { i in (0..<t.shape[1]).map { Double(t[i, $0]) } } }
        XCTAssertEqual(fd, try frechetDistance(between: rows(x), and: rows(y)), accuracy: 1e-12 * fd)
        XCTAssertEqual(fd, try frechetDistance(between: y, and: x), accuracy: 1e-10, "symmetric")
        XCTAssertEqual(try frechetDistance(between: x, and: x), 0, accuracy: 1e-10)
        XCTAssertGreaterThan(fd, 5, "means one apart in 6 dimensions: about 6")
    }

    func testRankDeficientCovariances() throws {
        // Three samples in five dimensions: rank-2 covariances; FD of a set with itself is still 0,
        // and against a shifted copy exactly the squared shift.
        let a: [[Double]] = [[1, 0, 2, 0, 1], [0, 1, 1, 3, 0], [2, 2, 0, 1, 1]]
        let shifted = a.map { $0.map { $0 + 0.5 } }
        XCTAssertEqual(try frechetDistance(between: a, and: a), 0, accuracy: 1e-7)
        XCTAssertEqual(try frechetDistance(between: a, and: shifted), 5 * 0.25, accuracy: 1e-7)
    }

    func testTypedErrors() {
        XCTAssertThrowsError(try FeatureStatistics(features: [[1, 2]])) {
            XCTAssertEqual($0 as? ForensicsError, .tooFewSamples(count: 1, minimum: 2))
        }
        XCTAssertThrowsError(try FeatureStatistics(features: [[1, 2], [3]])) {
            XCTAssertEqual($0 as? ForensicsError, .raggedFeatures(row: 1, expected: 2, found: 1))
        }
        XCTAssertThrowsError(try FeatureStatistics(features: [[1, .nan], [3, 4]])) {
            XCTAssertEqual($0 as? ForensicsError, .nonFiniteFeatures)
        }
        XCTAssertThrowsError(try frechetDistance(between: [[1, 2], [3, 4]], and: [[1], [2]])) {
            XCTAssertEqual($0 as? ForensicsError, .dimensionMismatch(expected: 2, found: 1))
        }
        XCTAssertThrowsError(try FeatureStatistics(features: Tensor.zeros([4]))) {
            XCTAssertEqual($0 as? ForensicsError, .invalidFeatureShape([4]))
        }
    }

    func testFDRatioFollowsTheSplitProtocol() throws {
        var generator = SeededGenerator(seed: 2019)
        func cluster(_ centre: Double, _ count: Int) -> [[Double]] {
            (0..<count).map { _ in (0..<4).map { _ in centre + Double(Tensor.normal([1], using: &generator).scalar) } }
        }
        let classes = [cluster(0, 60), cluster(3, 61), cluster(-3, 60)]
        var splitter = SeededGenerator(seed: 1)
        let ratio = try FDRatio(featuresByClass: classes, using: &splitter)
        // Recompute with the same shuffles.
        var replay = SeededGenerator(seed: 1)
        var halves: [([[Double]], [[Double]])] = []
        for features in classes {
            let order = features.indices.shuffled(using: &replay), half = features.count / 2
            halves.append((order[..<half].map { features[$0] }, order[half..<2 * half].map { features[$0] }))
        }
        let intra = try halves.map { try frechetDistance(between: $0.0, and: $0.1) }
        let inter = try [(0, 1), (0, 2), (1, 2)].map { try frechetDistance(between: halves[$0.0].0, and: halves[$0.1].0) }
        XCTAssertEqual(ratio.intraClassByClass, intra)
        XCTAssertEqual(ratio.intraClass, intra.reduce(0, +) / 3, accuracy: 1e-12)
        XCTAssertEqual(ratio.interClass, inter.reduce(0, +) / 3, accuracy: 1e-12)
        XCTAssertGreaterThan(ratio.ratio, 20, "well-separated classes")

        var again = SeededGenerator(seed: 3)
        let mixed = try FDRatio(featuresByClass: [cluster(0, 80), cluster(0, 80)], using: &again)
        XCTAssertLessThan(mixed.ratio, 3, "one distribution: inter ≈ intra")

        var extractorGenerator = SeededGenerator(seed: 4)
        let images = [Tensor.normal([20, 1, 2, 2], using: &extractorGenerator),
                      Tensor.normal([20, 1, 2, 2], mean: 2, using: &extractorGenerator)]
        let viaExtractor = try FDRatio(samplesByClass: images, extractor: { $0.reshaped(to: [$0.shape[0], 4]) },
                                       using: &extractorGenerator)
        XCTAssertGreaterThan(viaExtractor.ratio, 1)
        XCTAssertThrowsError(try FDRatio(featuresByClass: [cluster(0, 10)], using: &again)) {
            XCTAssertEqual($0 as? ForensicsError, .tooFewClasses(count: 1))
        }
    }
}
