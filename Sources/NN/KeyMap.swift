/// Translates parameter keys between naming schemes, such as a PyTorch `state_dict` and gfp's
/// dotted property paths (`secret_dense.weight` → `secretDense.weight`).
public struct KeyMap: Sendable {
    /// Whole-key renames, applied first (`from` → `to`).
    public var renames: [String: String]
    /// Renames of single path components (`torgb` → `toRGB`), applied to keys not renamed whole.
    public var componentRenames: [String: String]
    /// Whether remaining components are converted from snake_case to camelCase.
    public var convertsSnakeCase: Bool

    public init(renames: [String: String] = [:], componentRenames: [String: String] = [:], convertsSnakeCase: Bool = true) {
        self.renames = renames
        self.componentRenames = componentRenames
        self.convertsSnakeCase = convertsSnakeCase
    }

    /// The identity map.
    public static let identity = KeyMap(convertsSnakeCase: false)

    /// The translated key.
    public func callAsFunction(_ key: String) -> String {
        if let renamed = renames[key] { return renamed }
        return key.split(separator: ".", omittingEmptySubsequences: false).map { part -> String in
            let component = String(part)
            if let renamed = componentRenames[component] { return renamed }
            return convertsSnakeCase ? KeyMap.camelCase(component) : component
        }.joined(separator: ".")
    }

    /// Every key of `dictionary` translated; two keys that map to one are a programming error.
    public func apply<Value>(to dictionary: [String: Value]) -> [String: Value] {
        Dictionary(dictionary.map { (self($0.key), $0.value) }, uniquingKeysWith: { first, _ in
            preconditionFailure("key map sends two keys to one: \(first)")
        })
    }

    /// `secret_dense` → `secretDense`; names without underscores are unchanged.
    static func camelCase(_ name: String) -> String {
        let words = name.split(separator: "_")
        guard words.count > 1 else { return name }
        return String(words[0]) + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
