/// A pair of spatial extents (height, width): strides, dilations, kernel sizes, scale factors.
public struct Size2D: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    /// The same extent in both directions.
    public init(integerLiteral value: Int) { self.init(value, value) }

    public var description: String { "(\(height), \(width))" }
}

/// Spatial padding of an image, possibly different on every side.
public struct Padding2D: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var top: Int
    public var bottom: Int
    public var left: Int
    public var right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    /// `vertical` rows above and below, `horizontal` columns left and right.
    public init(vertical: Int, horizontal: Int) {
        self.init(top: vertical, bottom: vertical, left: horizontal, right: horizontal)
    }

    /// The same padding on all four sides.
    public init(integerLiteral value: Int) { self.init(vertical: value, horizontal: value) }

    /// No padding.
    public static let zero: Padding2D = 0

    public var description: String { "(top: \(top), bottom: \(bottom), left: \(left), right: \(right))" }
}
