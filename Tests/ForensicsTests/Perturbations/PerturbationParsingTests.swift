import Forensics
import XCTest

/// The CLI spelling: values, round trips and one-line errors naming the bad part.
final class PerturbationParsingTests: XCTestCase {
    func testSpellingsParseToTheirValues() throws {
        let expected: [(String, Perturbation)] = [
            ("noise:0.05", .gaussianNoise(standardDeviation: 0.05)),
            ("blur:5", .gaussianBlur(kernelSize: 5)),
            ("blur:5:1.5", .gaussianBlur(kernelSize: 5, sigma: 1.5)),
            ("jpeg:50", .jpeg(quality: 50)),
            ("crop:86", .centerCrop(.pixels(86))),
            ("crop:0.9", .centerCrop(.fraction(0.9))),
            ("crop:1.0", .centerCrop(.fraction(1))),
            ("crop:86:resize", .centerCrop(.pixels(86), resizedBack: true)),
            ("cropresize:0.8", .randomCropResize(areaFraction: 0.8)),
            ("brightness:-0.1", .brightness(offset: -0.1)),
            ("contrast:1.2", .contrast(factor: 1.2)),
            ("quantize:16", .quantization(levels: 16)),
            ("lightramp:0.3", .lightingRamp(amplitude: 0.3)),
            ("combo", .randomCombination(.iccv19)),
            ("none", .identity),
            ("noise:0.05+jpeg:50", .sequence([.gaussianNoise(standardDeviation: 0.05), .jpeg(quality: 50)])),
            (" JPEG:50 +  Blur:3 ", .sequence([.jpeg(quality: 50), .gaussianBlur(kernelSize: 3)])),
            ("none+jpeg:50", .jpeg(quality: 50)),
        ]
        for (text, value) in expected {
            XCTAssertEqual(try Perturbation(parsing: text), value, text)
        }
        var std = RandomCombination.iccv19
        std.noiseScale = .standardDeviation
        XCTAssertEqual(try Perturbation(parsing: "combo:std"), .randomCombination(std))
    }

    /// `description` is the spelling, and parsing it gives the same value back.
    func testRoundTrips() throws {
        for text in ["noise:0.05", "blur:5", "blur:5:1.5", "jpeg:50", "crop:86", "crop:0.9", "crop:86:resize", "crop:0.75:resize",
                     "cropresize:0.8", "brightness:-0.1", "contrast:1.2", "quantize:16", "quantize:256", "lightramp:0.3",
                     "combo", "combo:std", "none", "lightramp:0.3+cropresize:0.81+blur:7+jpeg:33+noise:0.0123"] {
            XCTAssertEqual(try Perturbation(parsing: text).description, text)
        }
        let values: [Perturbation] = [
            .gaussianNoise(standardDeviation: 1 / 3), .gaussianBlur(kernelSize: 9, sigma: 0.1 + 0.2),
            .centerCrop(.fraction(0.123456789)), .centerCrop(.pixels(1), resizedBack: true), .brightness(offset: 1e-7),
            .contrast(factor: 0), .randomCombination(), Perturbation.jpeg(quality: 1).then(.quantization(levels: 2)),
        ]
        for value in values {
            XCTAssertEqual(try Perturbation(parsing: value.description), value, value.description)
            XCTAssertEqual(Perturbation(value.description), value)
        }
        let custom = Perturbation.randomCombination(RandomCombination(lightingRampAmplitude: nil))
        XCTAssertNil(Perturbation(custom.description), "a custom combination must not read back as another one")
    }

    /// Composition flattens and drops identities.
    func testCompositionFlattens() {
        let a = Perturbation.jpeg(quality: 50), b = Perturbation.gaussianBlur(kernelSize: 3), c = Perturbation.brightness(offset: 0.1)
        XCTAssertEqual(a.then(b).then(c), .sequence([a, b, c]))
        XCTAssertEqual(a.then(b.then(c)), .sequence([a, b, c]))
        XCTAssertEqual(Perturbation.identity.then(a), a)
        XCTAssertEqual(Perturbation.composed([.identity, .identity]), .identity)
        XCTAssertEqual(a.then(b).stages, [a, b])
        XCTAssertEqual(a.then(b).description, "jpeg:50+blur:3")
    }

    /// Errors are one line naming the bad part and the reason.
    func testErrorsNameTheBadPart() {
        let cases: [(text: String, part: String, reasonContains: String)] = [
            ("blur:4", "blur:4", "odd"),
            ("noise:0.1+jpeg:abc", "jpeg:abc", "not an integer"),
            ("noise:0.1+jpeg:101", "jpeg:101", "1...100"),
            ("fog:3", "fog:3", "unknown perturbation \"fog\""),
            ("noise:0.1++jpeg:5", "", "empty"),
            ("noise:0.1+", "", "empty"),
            ("", "", "empty"),
            ("noise", "noise", "standard deviation"),
            ("noise:nan", "noise:nan", "finite"),
            ("noise:-0.1", "noise:-0.1", "≥ 0"),
            ("crop:1.5", "crop:1.5", "(0, 1]"),
            ("crop:0", "crop:0", "at least 1 pixel"),
            ("crop:86:big", "crop:86:big", "resize"),
            ("quantize:1", "quantize:1", "2 levels"),
            ("combo:x", "combo:x", "std"),
            ("none:1", "none:1", "no argument"),
            ("blur:5:0", "blur:5:0", "sigma"),
        ]
        for (text, part, fragment) in cases {
            XCTAssertThrowsError(try Perturbation(parsing: text), text) { error in
                guard let error = error as? PerturbationParseError else { return XCTFail("\(text): \(error)") }
                XCTAssertEqual(error.specification, text)
                XCTAssertEqual(error.part, part, text)
                XCTAssertTrue(error.reason.contains(fragment), "\(text): \(error.reason)")
                XCTAssertFalse(error.description.contains("\n"))
                XCTAssertTrue(error.description.contains("\"\(part)\""), error.description)
            }
            XCTAssertNil(Perturbation(text))
        }
        do {
            _ = try Perturbation(parsing: "noise:0.1+jpeg:abc")
            XCTFail("parsed")
        } catch {
            XCTAssertEqual(error.description, "invalid perturbation \"jpeg:abc\" in \"noise:0.1+jpeg:abc\": \"abc\" is not an integer")
        }
    }
}
