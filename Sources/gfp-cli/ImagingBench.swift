import ArgumentParser
import Foundation
import Imaging
import Tensor

/// `gfp bench imaging`: PNG decode + preprocess throughput on folders of 32 × 32 and 128 × 128
/// PNGs made from Fashion-MNIST (Tools/bench_imaging_torch.py measures Pillow + torchvision on
/// the same files; Tools/bench-imaging.sh runs both).
struct ImagingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imaging",
        abstract: "Images per second: PNG decode + preprocess, the data loader, JPEG round trips.",
        discussion: """
            Writes --images RGB PNGs per resolution into --work-dir (a temporary folder when not \
            given): Fashion-MNIST test images, tinted by class, padded to 32 x 32, or enlarged to \
            128 x 128 with seeded noise (so that they compress like photographs). Workloads, one \
            JSON line each per resolution (medians of --repeats passes): \
            png_decode_preprocess_img_s (read, decode, convert to RGB, Resize(R) + CenterCrop(R), \
            one thread), loader_img_s (the same through DataLoader, batches of 64, decoding on \
            its background thread), and jpeg_roundtrip_img_s (JPEG.roundTrip at quality 75 on \
            batches of 64, all cores).
            """)

    @Option(help: "Images per folder.")
    var images = 1000

    @Option(help: "Timed passes per workload (the median is reported).")
    var repeats = 5

    @Option(name: .customLong("work-dir"), help: "Folder for the generated PNGs, kept (and reused) when given.")
    var workDirectory: String?

    @Option(help: "Seed of the noise in the 128 x 128 images.")
    var seed: UInt64 = 0

    func validate() throws {
        guard images > 0, images <= 10_000 else { throw ValidationError("--images must be in 1...10000") }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
    }

    func run() throws {
        let manager = FileManager.default
        let work = workDirectory.map { URL(fileURLWithPath: $0) }
            ?? manager.temporaryDirectory.appendingPathComponent("gfp-bench-imaging-\(UUID().uuidString)")
        defer { if workDirectory == nil { try? manager.removeItem(at: work) } }
        let fashion = try FashionMNIST.load(.test)
        var generator = SeededGenerator(seed: seed)
        for resolution in [32, 128] {
            // ImageFolder layout that torchvision's ImageFolder also accepts (one class folder).
            let folder = work.appendingPathComponent("png\(resolution)")
            try makeFolder(folder.appendingPathComponent("class0"), resolution: resolution, from: fashion, generator: &generator)
            let dataset = try ImageFolder(folder)
            let preprocessing = Preprocessing.resizeAndCenterCrop(resolution: resolution, channels: 3)
            let extra: [String: Any] = ["resolution": resolution, "images": dataset.count]

            let decodeSeconds = try medianSeconds(repeats) {
                for index in 0..<dataset.count {
                    _ = try preprocessing.apply(ImageFile.read(contentsOf: dataset.url(at: index)))
                }
            }
            printLine(workload: "png_decode_preprocess_img_s", value: Double(dataset.count) / decodeSeconds, extra: extra)

            let loaderSeconds = try medianSeconds(repeats) {
                let loader = try DataLoader(dataset, batchSize: 64, preprocessing: preprocessing)
                while try loader.nextBatch() != nil {}
            }
            printLine(workload: "loader_img_s", value: Double(dataset.count) / loaderSeconds, extra: extra)

            let batch = try DataLoader(dataset, batchSize: 64, preprocessing: preprocessing).nextBatch()!.images
            let jpegSeconds = try medianSeconds(repeats) { _ = try JPEG.roundTrip(batch, quality: 75) }
            printLine(workload: "jpeg_roundtrip_img_s", value: Double(batch.shape[0]) / jpegSeconds,
                      extra: ["resolution": resolution, "images": batch.shape[0]])
        }
    }

    /// Writes `images` PNGs into `folder` unless it holds them already.
    func makeFolder(_ folder: URL, resolution: Int, from fashion: InMemoryImageDataset,
                    generator: inout SeededGenerator) throws {
        let names = (0..<images).map { String(format: "%05d.png", $0) }
        let existing = Set((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        if names.allSatisfy(existing.contains) { return }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (index, name) in names.enumerated() {
            let gray = fashion.image(at: index % fashion.count)
            let label = Float(fashion.label(at: index % fashion.count) ?? 0)
            let tint = Tensor(shape: [3, 1, 1], scalars: [0.6 + 0.4 * cos(label), 0.6 + 0.4 * sin(label), 1 - label / 20])
            var image: Tensor
            if resolution == 32 {
                image = try ImageTransform.pad(gray, to: Size2D(32, 32)) * tint
            } else {
                image = try ImageTransform.resize(gray, to: Size2D(resolution, resolution)) * tint
                image = image + Tensor.normal(image.shape, standardDeviation: 0.02, using: &generator)
            }
            try PNG.write(image, to: folder.appendingPathComponent(name))
        }
    }
}
