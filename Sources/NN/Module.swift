import Tensor

/// The base class of every layer and model.
///
/// Subclasses hold their parameters as stored properties of type `Parameter` (or `Parameter?`)
/// and their children as `Module`, `Module?` or `[Module]` properties. Reflection finds them
/// and names each parameter by its dotted path of property names (`encoder.conv1.weight`,
/// `blocks.2.conv.bias`). That one path is used by checkpoints, optimiser state, freezing and
/// key maps. Properties whose names start with `_` are ignored. The layers of a `Sequential`
/// are named by their position alone (`decoder.0.weight`), as PyTorch names them.
open class Module {
    /// Whether the module is in training mode (see `train(_:)`).
    public private(set) var isTraining = true

    public init() {}

    /// Every parameter with its dotted path, in declaration order (depth first).
    public func namedParameters() -> [(key: String, parameter: Parameter)] {
        var result: [(String, Parameter)] = []
        visit(prefix: "") { key, item in
            if case .parameter(let p) = item { result.append((key, p)) }
        }
        return result
    }

    /// Every submodule with its dotted path (the module itself has the path "").
    public func namedModules() -> [(key: String, module: Module)] {
        var result: [(String, Module)] = [("", self)]
        visit(prefix: "") { key, item in
            if case .module(let m) = item { result.append((key, m)) }
        }
        return result
    }

    /// The parameters that optimisers update.
    public func trainableParameters() -> [(key: String, parameter: Parameter)] {
        namedParameters().filter { $0.parameter.isTrainable }
    }

    /// Number of scalar parameters (trainable and not).
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.value.count } }

    /// Every parameter's value by dotted path.
    public func stateDictionary() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.key, $0.parameter.value) })
    }

    /// The expected shape of every parameter by dotted path.
    public func parameterShapes() -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.key, $0.parameter.shape) })
    }

    /// Sets parameters from `values`, keyed by dotted path.
    ///
    /// With `strict` (the default) every parameter must be present and nothing else; in every
    /// mode a shape mismatch is an error. The error names every missing, unexpected and
    /// mis-shaped key, and nothing is changed when it is thrown.
    public func loadStateDictionary(_ values: [String: Tensor], strict: Bool = true) throws(ParameterLoadError) {
        let parameters = namedParameters()
        let known = Set(parameters.map(\.key))
        var error = ParameterLoadError()
        for (key, parameter) in parameters {
            if let value = values[key] {
                if value.shape != parameter.shape { error.mismatched.append(.init(key: key, expected: parameter.shape, found: value.shape)) }
            } else if strict {
                error.missing.append(key)
            }
        }
        if strict { error.unexpected = values.keys.filter { !known.contains($0) }.sorted() }
        guard error.isEmpty else { throw error }
        for (key, parameter) in parameters {
            if let value = values[key] { parameter.value = value }
        }
    }

    /// Copies every parameter value from `other`, which must have the same keys and shapes
    /// (for example a module built with the same configuration).
    public func copyParameters(from other: Module) throws(ParameterLoadError) {
        try loadStateDictionary(other.stateDictionary())
    }

    /// Switches this module and all its children to training (`true`) or evaluation mode.
    public func train(_ on: Bool = true) {
        for (_, module) in namedModules() { module.isTraining = on }
    }

    /// Evaluation mode: `train(false)`.
    public func eval() { train(false) }

    /// Freezes the parameters whose dotted paths start with any of `prefixes` (all by default).
    public func freeze(_ prefixes: [String]? = nil) { setTrainable(false, prefixes) }

    /// Unfreezes the parameters whose dotted paths start with any of `prefixes` (all by default).
    public func unfreeze(_ prefixes: [String]? = nil) { setTrainable(true, prefixes) }

    private func setTrainable(_ on: Bool, _ prefixes: [String]?) {
        for (key, parameter) in namedParameters()
        where prefixes.map({ $0.contains { key == $0 || key.hasPrefix($0 + ".") } }) ?? true {
            parameter.setTrainable(on)
        }
    }

    /// Forgets every accumulated gradient.
    public func clearGradients() {
        for (_, parameter) in namedParameters() { parameter.clearGradient() }
    }

    // MARK: Reflection

    private enum Item {
        case parameter(Parameter)
        case module(Module)
    }

    private func visit(prefix: String, _ body: (String, Item) -> Void) {
        // A Sequential's layers are named by position alone, as in PyTorch (`decoder.0.weight`).
        if let sequential = self as? Sequential {
            for (i, layer) in sequential.layers.enumerated() { Module.visitValue(layer, key: prefix + "\(i)", body) }
            return
        }
        var mirror: Mirror? = Mirror(reflecting: self)
        var mirrors: [Mirror] = []
        while let m = mirror {
            mirrors.append(m)
            mirror = m.superclassMirror
        }
        // Base-class properties first, then the subclass's, each in declaration order.
        for m in mirrors.reversed() {
            for child in m.children {
                guard let label = child.label, !label.hasPrefix("_") else { continue }
                Module.visitValue(child.value, key: prefix + label, body)
            }
        }
    }

    private static func visitValue(_ value: Any, key: String, _ body: (String, Item) -> Void) {
        switch value {
        case let parameter as Parameter:
            body(key, .parameter(parameter))
        case let module as Module:
            body(key, .module(module))
            module.visit(prefix: key + ".", body)
        case let modules as [Module]:
            for (i, module) in modules.enumerated() { visitValue(module, key: "\(key).\(i)", body) }
        case let parameters as [Parameter]:
            for (i, parameter) in parameters.enumerated() { body("\(key).\(i)", .parameter(parameter)) }
        default:
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional, let wrapped = mirror.children.first {
                visitValue(wrapped.value, key: key, body)
            }
        }
    }
}

/// Why a parameter dictionary does not fit a module: every missing, unexpected and mis-shaped key.
public struct ParameterLoadError: Error, Equatable, CustomStringConvertible {
    /// A key whose tensor has the wrong shape.
    public struct Mismatch: Equatable, Sendable {
        public var key: String
        public var expected: [Int]
        public var found: [Int]
    }

    /// Keys the module has and the dictionary lacks.
    public var missing: [String] = []
    /// Keys the dictionary has and the module lacks.
    public var unexpected: [String] = []
    /// Keys present on both sides with different shapes.
    public var mismatched: [Mismatch] = []

    var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        if !mismatched.isEmpty {
            parts.append("shape mismatches: " + mismatched.map { "\($0.key) expected \($0.expected) found \($0.found)" }
                .joined(separator: ", "))
        }
        return "parameters do not fit the module (" + parts.joined(separator: "; ") + ")"
    }
}

/// A layer with one input and one output.
public protocol UnaryLayer: Module {
    func callAsFunction(_ input: Tensor) -> Tensor
}
