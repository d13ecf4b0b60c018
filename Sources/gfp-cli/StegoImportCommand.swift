import ArgumentParser
import Foundation
import Stego

/// `gfp stego import-torch STATE_DICT.h5 --kind encoder|decoder OUT.h5 [--resolution R]`.
struct StegoImportTorch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-torch",
        abstract: "Convert an encoder or decoder of the official PyTorch implementation into a gfp model file.",
        discussion: """
            STATE_DICT.h5 is the official .pth converted by Tools/torch_to_hdf5.py (e.g. \
            'Tools/torch_to_hdf5.py encoder.pth encoder-state.h5 --kind pytorch-state-dict'). The \
            architecture is read from the weights; an encoder also needs --resolution (or a \
            'resolution' in the converted file's --config). OUT.h5 is what gfp stego embed \
            (--encoder) and detect (--decoder) read. Prints the architecture as JSON.
            """)

    @Argument(help: "The converted official state dict (HDF5).")
    var stateDictionary: String

    @Option(help: "encoder or decoder.")
    var kind: String

    @Option(help: "Image side (required for an encoder unless in the file's configuration; checked for a decoder).")
    var resolution: Int?

    @Argument(help: "The gfp model file to write.")
    var output: String

    func validate() throws {
        guard StegoNetworkKind(rawValue: kind) != nil else { throw ValidationError("--kind must be encoder or decoder") }
    }

    func run() throws {
        let architecture = try StegoPyTorchImport.convert(
            URL(fileURLWithPath: stateDictionary), kind: StegoNetworkKind(rawValue: kind)!, resolution: resolution,
            to: URL(fileURLWithPath: output))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(architecture), as: UTF8.self))
    }
}
