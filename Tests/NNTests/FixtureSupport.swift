import Foundation
import XCTest
import NN
import Tensor

/// Loading of the PyTorch fixtures of Tools/make_nn_fixtures.py (see Fixtures/README.md).
enum Fixtures {
    static func url(_ name: String, _ ext: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"),
                      "fixture \(name).\(ext) missing")
    }

    /// The cases of a JSON fixture file.
    static func cases(_ file: String) throws -> [[String: Any]] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url(file, "json"))) as! [String: Any]
        return root["cases"] as! [[String: Any]]
    }

    /// A `{"shape", "data"}` object as a tensor (numbers parsed as Float from their text).
    static func tensor(_ object: Any?) -> Tensor {
        let dictionary = object as! [String: Any]
        let shape = (dictionary["shape"] as! [NSNumber]).map(\.intValue)
        let data = (dictionary["data"] as! [NSNumber]).map { Float($0.stringValue) ?? $0.floatValue }
        return Tensor(shape: shape, scalars: data)
    }

    /// A dictionary of `{"shape", "data"}` objects as tensors.
    static func tensors(_ object: Any?) -> [String: Tensor] {
        ((object as? [String: Any]) ?? [:]).mapValues { tensor($0) }
    }
}
