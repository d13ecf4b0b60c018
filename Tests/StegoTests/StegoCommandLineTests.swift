import Foundation
import XCTest
import TestSupport
import Stego
import Imaging
import NN
import Tensor

/// `gfp stego embed | detect | import-torch` as scripts run them: outputs, registry entries and
/// exit statuses (0 match, 1 no match, 2 error, 64 usage).
final class StegoCommandLineTests: XCTestCase {
    var directory: URL!
    var runner: CommandLineRunner!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(prefix: "gfp-stego-cli")
        runner = CommandLineRunner(directory: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testEmbedRegistersItsFingerprintOnceAndDetectFindsIt() throws {
        var generator = SeededGenerator(seed: 11)
        let networks = try StegoNetworks(StegoArchitecture(resolution: 32, imageChannels: 1, fingerprintLength: 12),
                                     generator: &generator)
        try StegoModelFile.writeEncoder(networks.encoder, to: directory.appendingPathComponent("encoder.h5"))
        try StegoModelFile.writeDecoder(networks.decoder, to: directory.appendingPathComponent("decoder.h5"))
        let input = directory.appendingPathComponent("input")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for i in 0..<3 {
            try PNG.write(Tensor.uniform([1, 32, 32], using: &generator), to: input.appendingPathComponent("i\(i).png"))
        }
        XCTAssertEqual(try runner.run(["registry", "create", "--database", path("reg.sqlite"), "--bits", "12"]).status, 0)

        let bits = "011010011100"
        let embedded = try runner.run(["stego", "embed", "--encoder", path("encoder.h5"), "--fingerprint", bits,
                                       "--decoder", path("decoder.h5"), "--registry", path("reg.sqlite"),
                                       "--recipient", "lab", input.path, path("out")])
        XCTAssertEqual(embedded.status, 0, embedded.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(embedded.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(summary["images"] as? Int, 3)
        XCTAssertEqual(summary["registryEntryID"] as? Int, 1)
        XCTAssertNotNil(summary["bitAccuracy"])
        let written = try FileManager.default.contentsOfDirectory(atPath: path("out/images"))
        XCTAssertEqual(written.count, 3)

        let listed = try runner.run(["registry", "list", "--database", path("reg.sqlite")])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains(bits) && listed.stdout.contains("lab") && listed.stdout.contains("out"), listed.stdout)

        // The same fingerprint again: refused before anything is written.
        let again = try runner.run(["stego", "embed", "--encoder", path("encoder.h5"), "--fingerprint", bits,
                                    "--registry", path("reg.sqlite"), input.path, path("out2")])
        XCTAssertEqual(again.status, 2)
        XCTAssertEqual(again.stderr.split(separator: "\n").count, 1, again.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out2")))
        // A registry entry needs one fingerprint for the set.
        XCTAssertEqual(try runner.run(["stego", "embed", "--encoder", path("encoder.h5"), "--random-per-image",
                                       "--registry", path("reg.sqlite"), input.path, path("out3")]).status, 64)

        // Detection against the expected fingerprint, with the deepfake-detection count.
        let detected = try runner.run(["stego", "detect", "--decoder", path("decoder.h5"), "--expected", bits,
                                       "--detection-threshold", "0", "--json", path("out/images")])
        XCTAssertTrue([0, 1].contains(detected.status), detected.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(detected.stdout.utf8)) as! [String: Any]
        let detection = report["summary"] as! [String: Any]
        XCTAssertEqual(detection["images"] as? Int, 3)
        XCTAssertEqual(detection["detectedImages"] as? Int, 3, "every image reaches accuracy ≥ 0")
        // Against the registry: a one-line error for a missing one.
        let missing = try runner.run(["stego", "detect", "--decoder", path("decoder.h5"), "--registry", path("none.sqlite"),
                                      path("out/images")])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
    }

    /// `kill` (SIGTERM) of a training: it checkpoints the steps done, says so in one line, exits
    /// with 128 + 15, and `--resume` continues from that step, not from the last scheduled checkpoint.
    func testTrainingStoppedBySignalCheckpointsAndResumes() throws {
        let images = directory.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: 12)
        for i in 0..<8 {
            try PNG.write(Tensor.uniform([1, 8, 8], using: &generator), to: images.appendingPathComponent("i\(i).png"))
        }
        let common = ["gan", "train", "--data", images.path, "--resolution", "8", "--channels", "1", "--channel-base", "32",
                      "--channel-max", "8", "--latent-dimension", "8", "--mapping-depth", "1", "--batch-size", "4",
                      "--checkpoint-every", "1000000", "--sample-every", "1000000", "--out", path("run")]
        let (process, _, stderrURL) = try runner.start(common + ["--steps", "1000000"], name: "killed")
        let log = directory.appendingPathComponent("run/log.csv")
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline,
              ((try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 3 {
            usleep(20_000)
        }
        XCTAssertTrue(process.isRunning, "the training ran until it was stopped")
        process.terminate()   // SIGTERM
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + 15)
        let message = try String(contentsOf: stderrURL, encoding: .utf8)
        XCTAssertTrue(message.contains("stopped by signal 15 after step") && message.contains("--resume"), message)
        let stepText = try XCTUnwrap(message.components(separatedBy: "after step ").last?.prefix { $0.isNumber })
        let step = try XCTUnwrap(Int(stepText))
        XCTAssertGreaterThanOrEqual(step, 11, "the log had two rows of 10 steps")
        // The checkpoint holds exactly those steps: resuming to one more step trains one step.
        let resumed = try runner.run(common + ["--steps", String(step + 1), "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("trained \(step + 1) steps"), resumed.stdout)
    }

    func testInitFromAMissingCheckpointFailsBeforeCreatingTheRunFolder() throws {
        let emptyRun = directory.appendingPathComponent("empty-run")
        try FileManager.default.createDirectory(at: emptyRun, withIntermediateDirectories: true)
        let starts = [(path("absent.h5"), path("absent.h5")),
                      (emptyRun.path, emptyRun.appendingPathComponent("checkpoints/latest.h5").path)]
        for command in [["gan", "train", "--steps", "1"], ["stego", "train", "--bits", "8", "--steps", "1"]] {
            for (start, missing) in starts {
                let result = try runner.run(command + ["--data", "fashion-mnist", "--resolution", "32",
                                                       "--init-from", start, "--out", path("run")])
                XCTAssertEqual(result.status, 2, "\(command) \(start): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains("no checkpoint at \(missing)"), result.stderr)
                XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
                XCTAssertFalse(FileManager.default.fileExists(atPath: path("run")), "\(command) \(start) left a run folder")
            }
        }
    }

    func testAttenuationOutsideZeroToOneIsAUsageError() throws {
        for value in ["1.5", "-0.1"] {
            let result = try runner.run(["stego", "train", "--data", "fashion-mnist", "--bits", "8", "--steps", "1",
                                         "--freeze-encoder", "--attenuate=\(value)", "--out", path("run")])
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertTrue(result.stderr.contains("--attenuate must be in [0, 1]"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("run")))
        }
    }

    func testGenerateWritesTruncatedImagesAndRejectsBadPsiOrWeights() throws {
        var random = SeededGenerator(seed: 2)
        let configuration = StyleGenerator.Configuration(resolution: 8, imageChannels: 1, latentDimension: 8, styleDimension: 8,
                                                         mappingDepth: 1, channels: ChannelSchedule(base: 32, maximum: 8))
        try GeneratorFile.write(StyleGenerator(configuration, generator: &random), to: directory.appendingPathComponent("g.h5"))
        let plain = try runner.run(["gan", "generate", "--run", path("g.h5"), "--seeds", "0-1", "--out", path("plain")])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let truncated = try runner.run(["gan", "generate", "--run", path("g.h5"), "--seeds", "0-1", "--out", path("truncated"),
                                        "--truncation-psi", "0.5"])
        XCTAssertEqual(truncated.status, 0, truncated.stderr)
        XCTAssertTrue(truncated.stdout.contains("wrote 2 images"), truncated.stdout)
        XCTAssertNotEqual(try Data(contentsOf: directory.appendingPathComponent("plain/seed0001.png")),
                          try Data(contentsOf: directory.appendingPathComponent("truncated/seed0001.png")))
        for value in ["1.5", "-0.1"] {
            let result = try runner.run(["gan", "generate", "--run", path("g.h5"), "--seeds", "0", "--out", path("bad"),
                                         "--truncation-psi=\(value)"])
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertTrue(result.stderr.contains("--truncation-psi must be in [0, 1]"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad")))
        }
        // A generator file has no trained weights beside its average: a one-line error, no images.
        let trained = try runner.run(["gan", "generate", "--run", path("g.h5"), "--seeds", "0", "--out", path("trained"),
                                      "--weights", "trained"])
        XCTAssertNotEqual(trained.status, 0)
        XCTAssertTrue(trained.stderr.contains("moving-average weights only"), trained.stderr)
        XCTAssertEqual(trained.stderr.split(separator: "\n").count, 1, trained.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("trained/seed0000.png")))
    }

    func testImportTorchWritesADecoderFileAndRejectsBadKinds() throws {
        let fixture = try XCTUnwrap(Bundle.module.url(forResource: "official_decoder_r32_c1_l100", withExtension: "h5",
                                                      subdirectory: "Fixtures"))
        let imported = try runner.run(["stego", "import-torch", fixture.path, "--kind", "decoder", path("decoder.h5")])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(imported.stdout.contains(#""fingerprintLength":100"#), imported.stdout)
        XCTAssertEqual(try StegoModelFile.readDecoder(from: directory.appendingPathComponent("decoder.h5")).resolution, 32)

        XCTAssertEqual(try runner.run(["stego", "import-torch", fixture.path, "--kind", "generator", path("x.h5")]).status, 64)
        let encoder = try runner.run(["stego", "import-torch", fixture.path, "--kind", "encoder", "--resolution", "32",
                                      path("e.h5")])
        XCTAssertEqual(encoder.status, 2)
        XCTAssertTrue(encoder.stderr.contains("secret_dense.weight"), encoder.stderr)
        let missing = try runner.run(["stego", "import-torch", path("absent.h5"), "--kind", "decoder", path("y.h5")])
        XCTAssertEqual(missing.status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("y.h5")))
    }
}
