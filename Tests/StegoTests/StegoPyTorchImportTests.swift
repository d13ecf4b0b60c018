import Foundation
import XCTest
import TestSupport
import Stego
import NN
import Tensor

/// `gfp stego import-torch`: official PyTorch checkpoints used unchanged.
final class StegoPyTorchImportTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory(prefix: "gfp-stego-import") }

    static func fixtureURL(_ name: String, _ ext: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"),
                      "fixture \(name).\(ext) missing: run Tools/make_stego_import_fixture.py")
    }

    static func tensor(_ object: Any?) -> Tensor {
        let dictionary = object as! [String: Any]
        let shape = (dictionary["shape"] as! [NSNumber]).map(\.intValue)
        let data = (dictionary["data"] as! [NSNumber]).map { Float($0.stringValue) ?? $0.floatValue }
        return Tensor(shape: shape, scalars: data)
    }

    /// The decoder PyTorch saved with torch.save, converted by Tools/torch_to_hdf5.py --compress,
    /// imported and written as a gfp model file, gives PyTorch's logits.
    func testImportedOfficialDecoderReproducesPyTorchLogits() throws {
        let fixture = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.fixtureURL("official_decoder_logits", "json"))) as! [String: Any]
        let images = Self.tensor(fixture["images"]), expected = Self.tensor(fixture["logits"])
        let output = directory.appendingPathComponent("decoder.h5")

        let architecture = try StegoPyTorchImport.convert(try Self.fixtureURL("official_decoder_r32_c1_l100", "h5"),
                                                          kind: .decoder, to: output)
        XCTAssertEqual(architecture, StegoArchitecture(resolution: 32, imageChannels: 1, fingerprintLength: 100))

        let decoder = try StegoModelFile.readDecoder(from: output)
        let logits = withoutGradients { decoder(images) }
        XCTAssertEqual(logits.shape, [4, 100])
        let scale = expected.scalars.map(abs).max()!
        XCTAssertGreaterThan(scale, 0)
        let error = zip(logits.scalars, expected.scalars).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(error / scale, 1e-4, "max error \(error) at logit scale \(scale)")
        // The decisions the detector takes from them are PyTorch's too (away from ties).
        for (actual, reference) in zip(logits.scalars, expected.scalars) where abs(reference) > 1e-3 * scale {
            XCTAssertEqual(actual > 0, reference > 0)
        }
    }

    func testDecoderResolutionIsCheckedAgainstTheWeights() throws {
        let url = try Self.fixtureURL("official_decoder_r32_c1_l100", "h5")
        XCTAssertThrowsError(try StegoPyTorchImport.convert(url, kind: .decoder, resolution: 64,
                                                             to: directory.appendingPathComponent("d.h5"))) { error in
            XCTAssertTrue(String(describing: error).contains("32×32"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("d.h5").path))
        // A decoder file is not an encoder.
        XCTAssertThrowsError(try StegoPyTorchImport.convert(url, kind: .encoder, resolution: 32,
                                                             to: directory.appendingPathComponent("e.h5"))) { error in
            XCTAssertTrue(String(describing: error).contains("secret_dense.weight"), "\(error)")
        }
    }

    /// An encoder under the official names (snake_case, DataParallel prefix) imports, needs a
    /// resolution, and embeds exactly as the module it came from.
    func testEncoderUnderOfficialNamesImportsWithItsResolution() throws {
        var generator = SeededGenerator(seed: 3)
        let original = FingerprintEncoder(resolution: 32, imageChannels: 1, fingerprintLength: 20, generator: &generator)
        var tensors: [String: Tensor] = [:]
        for (key, parameter) in original.namedParameters() {
            tensors["module." + key.replacingOccurrences(of: "secretDense", with: "secret_dense")] = parameter.value
        }
        let dictionary = PyTorchStateDictionary(tensors: tensors)

        XCTAssertThrowsError(try StegoPyTorchImport.encoder(from: dictionary)) { error in
            XCTAssertTrue(String(describing: error).contains("--resolution"), "\(error)")
        }
        let configured = PyTorchStateDictionary(tensors: tensors, config: #"{"resolution": 32}"#)
        let imported = try StegoPyTorchImport.encoder(from: configured)
        XCTAssertEqual(imported.fingerprintLength, 20)
        XCTAssertEqual(imported.imageChannels, 1)

        let fingerprints = Tensor.bernoulli([2, 20], using: &generator)
        let images = Tensor.uniform([2, 1, 32, 32], using: &generator)
        XCTAssertEqual(withoutGradients { imported(fingerprints: fingerprints, images: images) }.scalars,
                       withoutGradients { original(fingerprints: fingerprints, images: images) }.scalars)

        var wrong = tensors
        wrong["module.conv1.weight"] = Tensor(repeating: 0, shape: [32, 3, 3, 3])
        XCTAssertThrowsError(try StegoPyTorchImport.encoder(from: PyTorchStateDictionary(tensors: wrong), resolution: 32)) { error in
            XCTAssertTrue(String(describing: error).contains("conv1.weight"), "\(error)")
        }
    }
}
