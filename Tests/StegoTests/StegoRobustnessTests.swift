import Forensics
import Foundation
import NN
@testable import Stego
import Tensor
import TestSupport
import XCTest

/// Robustness curves: the reference point, the effect of attacks, determinism, model sweeps and
/// the files a report writes.
final class StegoRobustnessTests: XCTestCase {
    static let bits = 16

    /// A decoder that reads bit i as the correlation of 8×8 block i of a 32×32 gray image with a
    /// checkerboard, a linear function written into the StegaStamp layers (no convolutions; the
    /// hidden ReLU pairs carry +v and −v, the output takes their difference). Like a trained
    /// decoder it reads a faint high-frequency pattern, so noise, blur and JPEG weaken it.
    static func checkerboardDecoder() throws -> FingerprintDecoder {
        var unused = SeededGenerator(seed: 0)
        let decoder = FingerprintDecoder(resolution: 32, imageChannels: 1, fingerprintLength: bits, layers: [],
                                         hiddenCount: 2 * bits, generator: &unused)
        var hidden = [Float](repeating: 0, count: 2 * bits * 32 * 32), output = [Float](repeating: 0, count: bits * 2 * bits)
        for bit in 0..<bits {
            for (row, column) in blockPixels(bit) {
                let sign = checkerboard(row, column)
                hidden[(2 * bit) * 1024 + row * 32 + column] = sign
                hidden[(2 * bit + 1) * 1024 + row * 32 + column] = -sign
            }
            output[bit * 2 * bits + 2 * bit] = 1
            output[bit * 2 * bits + 2 * bit + 1] = -1
        }
        try decoder.loadStateDictionary([
            "dense.0.weight": Tensor(shape: [2 * bits, 1024], scalars: hidden), "dense.0.bias": Tensor.zeros([2 * bits]),
            "dense.2.weight": Tensor(shape: [bits, 2 * bits], scalars: output), "dense.2.bias": Tensor.zeros([bits]),
        ])
        return decoder
    }

    static func blockPixels(_ bit: Int) -> [(Int, Int)] {
        let (top, left) = (bit / 4 * 8, bit % 4 * 8)
        return (top..<top + 8).flatMap { row in (left..<left + 8).map { (row, $0) } }
    }

    static func checkerboard(_ row: Int, _ column: Int) -> Float { (row + column) % 2 == 0 ? 1 : -1 }

    /// Smooth gray images carrying `fingerprint` as a ±0.02 checkerboard per block.
    static func fingerprintedImages(_ count: Int, _ fingerprint: Fingerprint, generator: inout SeededGenerator) -> Tensor {
        let texture = (Tensor.uniform([count, 1, 4, 4], using: &generator) * 0.4 + 0.3).resizedBilinear(to: 32)
        var pattern = [Float](repeating: 0, count: 1024)
        for bit in 0..<bits {
            for (row, column) in blockPixels(bit) { pattern[row * 32 + column] = 0.02 * (fingerprint[bit] ? 1 : -1) * checkerboard(row, column) }
        }
        return texture + Tensor(shape: [1, 1, 32, 32], scalars: pattern)
    }

    var decoder: FingerprintDecoder!
    var expected: Fingerprint!
    var images: Tensor!

    override func setUpWithError() throws {
        decoder = try Self.checkerboardDecoder()
        var generator = SeededGenerator(seed: 7)
        expected = Fingerprint.random(bitCount: Self.bits, using: &generator)
        images = Self.fingerprintedImages(24, expected, generator: &generator)
    }

    func curve(_ curves: [RobustnessCurve], _ name: String) throws -> [Double] {
        try XCTUnwrap(curves.first { $0.sweep == name }).points.map(\.meanBitAccuracy)
    }

    func testReferencePointIsPlainDecodingAndAttacksWeakenDetection() throws {
        let sweeps = RobustnessSweep.imageSweepNames.compactMap { RobustnessSweep.named($0, resolution: 32) }
        var random = SeededGenerator(seed: 1)
        let curves = try FingerprintRobustness.measure(sweeps, decoder: decoder, images: images, expected: expected,
                                                       batchSize: 10, using: &random)
        XCTAssertEqual(curves.map(\.sweep), ["noise", "blur", "jpeg", "crop"])
        let logits = withoutGradients { decoder(images) }.scalars
        let plain = meanBitAccuracy(decoded: (0..<24).map { Fingerprint(thresholding: logits[($0 * 16)..<(($0 + 1) * 16)], at: 0) },
                                    expected: expected)
        XCTAssertEqual(plain, 1, "the fingerprint is readable without attack")
        for curve in curves {
            XCTAssertEqual(curve.images, 24)
            XCTAssertEqual(curve.points.first?.perturbation, "none")
            XCTAssertEqual(curve.points[0].meanBitAccuracy, plain, accuracy: 1e-12, curve.sweep)
            XCTAssertEqual(curve.points.map(\.x), RobustnessSweep.named(curve.sweep, resolution: 32)!.points.map(\.x))
        }
        XCTAssertEqual(curves[2].points.map(\.perturbation).prefix(3), ["none", "jpeg:90", "jpeg:80"])
        XCTAssertEqual(curves[3].points.map(\.x), [32, 30, 28, 26, 24, 22, 20, 18, 16])
        // Noise weakens the faint pattern step by step (the strength grows much faster than the
        // sampling error of 384 bits); blur and strong JPEG wipe it out.
        let noise = try curve(curves, "noise")
        print("noise curve: \(noise)")
        for (weaker, stronger) in zip(noise, noise.dropFirst()) { XCTAssertLessThanOrEqual(stronger, weaker + 0.02) }
        XCTAssertLessThan(noise.last!, 0.8)
        XCTAssertLessThan(try curve(curves, "blur")[2], 0.75)
        XCTAssertLessThan(try curve(curves, "jpeg").last!, 0.75)
    }

    func testSameSeedSameCurvesAndCurvesDoNotDependOnOtherSweeps() throws {
        func run(_ sweeps: [RobustnessSweep], seed: UInt64) throws -> [RobustnessCurve] {
            var random = SeededGenerator(seed: seed)
            return try FingerprintRobustness.measure(sweeps, decoder: decoder, images: images, expected: expected,
                                                     batchSize: 8, using: &random)
        }
        let all = try run([.noise, .blur], seed: 3)
        XCTAssertEqual(all, try run([.noise, .blur], seed: 3))
        XCTAssertEqual(try run([.blur, .noise], seed: 3)[1], all[0], "the noise curve does not depend on the other sweeps")
        XCTAssertNotEqual(try run([.noise], seed: 4)[0], all[0], "another seed draws other noise")
    }

    func testReportWritesJSONCSVAndOnePlotPerSweep() throws {
        var random = SeededGenerator(seed: 2)
        let curves = try FingerprintRobustness.measure([.noise, RobustnessSweep.crop(resolution: 32)], decoder: decoder,
                                                       images: images, expected: expected, using: &random)
        let report = RobustnessReport(source: "test", seed: 2, expected: expected, curves: curves)
        let directory = try makeTemporaryDirectory(prefix: "gfp-robustness").appendingPathComponent("out")
        try report.write(to: directory)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)),
                       ["robustness.json", "robustness.csv", "noise.svg", "crop.svg"])
        let decoded = try JSONDecoder().decode(RobustnessReport.self, from: Data(contentsOf: directory.appendingPathComponent("robustness.json")))
        XCTAssertEqual(decoded, report)
        let rows = try String(contentsOf: directory.appendingPathComponent("robustness.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 8 + 9)
        XCTAssertEqual(rows[0], "sweep,x,perturbation,images,mean_bit_accuracy")
        XCTAssertEqual(rows[2], "noise,0.025,noise:0.025,24,\(curves[0].points[1].meanBitAccuracy)")
        XCTAssertEqual(rows[10], "crop,30.0,crop:30:resize,24,\(curves[1].points[1].meanBitAccuracy)")
        let svg = try String(contentsOf: directory.appendingPathComponent("crop.svg"), encoding: .utf8)
        XCTAssertEqual(svg, try curves[1].plot().svg())
        let plot = try curves[1].plot()
        XCTAssertEqual(plot.yRange, 0.4...1.0)
        XCTAssertEqual(plot.referenceLines.map(\.y), [0.5, 0.75])
        XCTAssertTrue(plot.reversesXAxis)
        XCTAssertEqual(plot.series.first?.points.count, 9)
        XCTAssertEqual(plot.title, "Fingerprint detection under centre cropping")
        // A curve below 0.4 lowers the plot's range instead of vanishing.
        var low = curves[1]
        low.points[3].meanBitAccuracy = 0.31
        XCTAssertEqual(try low.plot().yRange, 0.3...1.0)
    }

    func testBadInputsAreTypedErrors() throws {
        var random = SeededGenerator(seed: 0)
        func failure(_ sweeps: [RobustnessSweep], images: Tensor? = nil, expected: Fingerprint? = nil) -> (any Error)? {
            do {
                _ = try FingerprintRobustness.measure(sweeps, decoder: decoder, images: images ?? self.images,
                                                      expected: expected ?? self.expected, using: &random)
                return nil
            } catch { return error }
        }
        XCTAssertEqual(failure([.noise], expected: Fingerprint(bitCount: 15)) as? StegoError,
                       .invalidFingerprint("the decoder reads 16 bits, the expected fingerprint has 15"))
        XCTAssertEqual(failure([.weightNoise]) as? RobustnessError, .modelSweepWithoutGenerator("weightnoise"))
        XCTAssertEqual(failure([.init(name: "empty", xLabel: "x", points: [])]) as? RobustnessError, .emptySweep("empty"))
        let uncropped = RobustnessSweep(name: "crop", xLabel: "x", points: [.init(x: 16, attack: .image(.centerCrop(.pixels(16))))])
        XCTAssertEqual(failure([uncropped]) as? StegoError, .imageShape(expected: [1, 1, 32, 32], found: [1, 1, 16, 16]))
        XCTAssertEqual(failure([.noise], images: Tensor.zeros([0, 1, 32, 32])) as? RobustnessError, .noImages)
        XCTAssertNotNil(failure([.noise], images: Tensor.zeros([2, 3, 32, 32])) as? StegoError)
    }

    /// A tiny GAN generator: model sweeps reuse the reference point, σ = 0 weight noise changes
    /// nothing, generated images equal `image(seed:)` rounded to 8 bits, and the model is untouched.
    func testModelSweepsOnAGenerator() throws {
        var random = SeededGenerator(seed: 5)
        let model = StyleGenerator(.init(resolution: 8, imageChannels: 1, latentDimension: 8, styleDimension: 8, mappingDepth: 2,
                                         channels: ChannelSchedule(base: 64, maximum: 16)), generator: &random)
        let smallDecoder = FingerprintDecoder(resolution: 8, imageChannels: 1, fingerprintLength: 8, layers: [(8, 2)],
                                              hiddenCount: 16, generator: &random)
        let bits = Fingerprint.random(bitCount: 8, using: &random)
        let generated = FingerprintRobustness.generatedImages(of: model, seeds: 3..<6)
        XCTAssertEqual(generated.shape, [3, 1, 8, 8])
        for (i, seed) in (3..<6).enumerated() {
            let single = ((model.image(seed: UInt64(seed)) + 1) / 2).clamped(to: 0...1)
            assertClose(generated.sliced(i..<i + 1, alongAxis: 0).reshaped(to: [1, 8, 8]), single, tolerance: 0.5 / 255 + 1e-5,
                        "seed \(seed)")
        }
        XCTAssertTrue(generated.scalars.allSatisfy { ($0 * 255).rounded() == $0 * 255 }, "8-bit levels")

        let zeroNoise = RobustnessSweep(name: "zero", xLabel: "x",
                                        points: [.init(x: 0, attack: .none), .init(x: 1, attack: .model(.weightNoise(standardDeviation: 0)))])
        let sweeps = [RobustnessSweep.noise, .weightNoise, .quantize, zeroNoise]
        let before = model.stateDictionary()
        var lines: [String] = []
        func run(seed: UInt64) throws -> [RobustnessCurve] {
            var generator = SeededGenerator(seed: seed)
            return try FingerprintRobustness.measure(sweeps, decoder: smallDecoder, generator: model, imageCount: 4,
                                                     expected: bits, batchSize: 4, using: &generator, progress: { lines.append($0) })
        }
        let curves = try run(seed: 9)
        XCTAssertEqual(curves, try run(seed: 9))
        XCTAssertEqual(model.stateDictionary().mapValues(\.scalars), before.mapValues(\.scalars), "the generator is unchanged")
        let reference = curves[0].points[0].meanBitAccuracy
        XCTAssertEqual(curves.map { $0.points[0].meanBitAccuracy }, [reference, reference, reference, reference])
        XCTAssertEqual(curves[3].points[1].meanBitAccuracy, reference, "σ = 0 weight noise is the identity")
        XCTAssertEqual(curves[2].points.map(\.perturbation),
                       ["none"] + (-1...4).reversed().map { "weight-quantize:\($0)" })
        XCTAssertTrue(lines.contains { $0.hasPrefix("weightnoise weight-noise:0.1: mean bit accuracy") }, "\(lines)")
        // A generator of another size than the decoder's is refused before any work.
        var generator = SeededGenerator(seed: 0)
        XCTAssertThrowsError(try FingerprintRobustness.measure([.noise], decoder: decoder, generator: model, imageCount: 2,
                                                               expected: expected, using: &generator)) { error in
            XCTAssertEqual(error as? StegoError, .imageShape(expected: [2, 1, 32, 32], found: [2, 1, 8, 8]))
        }
    }
}
