import ArgumentParser
import Foundation
import Imaging
import Tensor

/// `gfp data ...`: preparing training folders.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare image folders for training.",
        subcommands: [DataPrepare.self, DataImportFashionMNIST.self])
}

/// `gfp data prepare SRC DST --resolution R [--celeba] [--max-images N]`: the equivalent of
/// StyleGAN's `dataset_tool.py` (calls `DatasetPreparation.prepare`).
struct DataPrepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Resize and crop every image under SRC and write them as PNGs to DST.",
        discussion: """
            Reads .png/.jpg/.jpeg files recursively (sorted by path), converts them to RGB (or \
            --channels), resizes the shorter side to R with Pillow-style antialiased bilinear \
            resampling and takes the centred R x R square (--celeba: centre crop 148 x 148, then \
            resize to R), and writes DST/00000/img00000000.png, ... with dataset.json, the layout \
            of StyleGAN's dataset_tool. Labels in SRC/dataset.json are carried over.
            """)

    @Argument(help: "Folder of source images (searched recursively).")
    var source: String

    @Argument(help: "Folder to create; must not exist or be empty.")
    var destination: String

    @Option(help: "Output resolution R (images are R x R).")
    var resolution: Int

    @Flag(help: "CelebA preset: centre crop 148 x 148, then resize to R.")
    var celeba = false

    @Option(help: "Stop after writing this many images.")
    var maxImages: Int?

    @Option(help: "Channels of the written images: 1 (gray) or 3 (RGB; alpha is dropped).")
    var channels = 3

    @Flag(help: "Skip corrupt images with a warning instead of stopping.")
    var skipCorrupt = false

    func validate() throws {
        guard resolution > 0 else { throw ValidationError("--resolution must be positive") }
        guard [1, 3].contains(channels) else { throw ValidationError("--channels must be 1 or 3") }
        if let maxImages, maxImages < 1 { throw ValidationError("--max-images must be positive") }
    }

    func run() throws {
        let preprocessing = celeba ? Preprocessing.celebA(resolution: resolution, channels: channels)
                                   : Preprocessing.resizeAndCenterCrop(resolution: resolution, channels: channels)
        let summary = try DatasetPreparation.prepare(
            from: URL(fileURLWithPath: source), to: URL(fileURLWithPath: destination), preprocessing: preprocessing,
            maxImages: maxImages, onCorruptImage: skipCorrupt ? .skip : .fail, progress: ProgressPrinter().update)
        print("wrote \(summary.written) images of \(resolution) x \(resolution) to \(destination)"
              + (summary.skippedCorrupt > 0 ? " (skipped \(summary.skippedCorrupt) corrupt)" : ""))
    }
}

/// `gfp data import-fashion-mnist DST [--split train|test] [--pad-to 32]` (calls
/// `DatasetPreparation.importFashionMNIST`).
struct DataImportFashionMNIST: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-fashion-mnist",
        abstract: "Write a Fashion-MNIST split, with labels, as a folder of PNGs.",
        discussion: """
            Reads the IDX files of Debian's dataset-fashion-mnist package (install it with \
            `make deps`) and writes DST/00000/img00000000.png, ... with the class labels in \
            DST/dataset.json.
            """)

    @Argument(help: "Folder to create; must not exist or be empty.")
    var destination: String

    @Option(help: "Which split: train (60,000 images) or test (10,000).")
    var split: String = "train"

    @Option(help: "Pad the 28 x 28 images with black to this size (32 for the usual GAN set-up).")
    var padTo: Int?

    @Option(help: "Channels of the written images: 1 (gray) or 3 (gray repeated).")
    var channels = 1

    @Option(help: "Stop after writing this many images.")
    var maxImages: Int?

    @Option(help: "Folder holding the IDX files.")
    var source = FashionMNIST.defaultDirectory.path

    func validate() throws {
        guard FashionMNIST.Split(rawValue: split) != nil else { throw ValidationError("--split must be train or test") }
        if let padTo, padTo < 28 { throw ValidationError("--pad-to must be at least 28") }
        guard [1, 3].contains(channels) else { throw ValidationError("--channels must be 1 or 3") }
        if let maxImages, maxImages < 1 { throw ValidationError("--max-images must be positive") }
    }

    func run() throws {
        let summary = try DatasetPreparation.importFashionMNIST(
            FashionMNIST.Split(rawValue: split)!, to: URL(fileURLWithPath: destination), padTo: padTo,
            channels: channels, maxImages: maxImages, directory: URL(fileURLWithPath: source),
            progress: ProgressPrinter().update)
        print("wrote \(summary.written) Fashion-MNIST \(split) images with labels to \(destination)")
    }
}

/// Prints the number of images written on standard error each time it passes a multiple of 1,000.
final class ProgressPrinter {
    private var reported = 0

    func update(_ written: Int) {
        guard written / 1000 > reported else { return }
        reported = written / 1000
        FileHandle.standardError.write(Data("\(written) images written\n".utf8))
    }
}
