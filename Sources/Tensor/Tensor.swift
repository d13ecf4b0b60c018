/// An n-dimensional array of `Float` values, contiguous and row-major (NCHW for images).
///
/// `Tensor` is a value type: copies share storage until one of them is mutated (copy on write).
/// A tensor that requires gradients also carries a node of the define-by-run autograd graph;
/// operations on such tensors record how to differentiate them (see `Autograd.swift`).
///
/// Shape errors in tensor operations are programming errors and stop with a precondition
/// failure that names the operation and the shapes, as array indexing does in Swift. Code that
/// accepts shapes from users (data loaders, checkpoints, models) validates them first and throws.
public struct Tensor: @unchecked Sendable {
    /// The extent of each dimension; `[]` for a scalar.
    public let shape: [Int]
    var storage: TensorStorage
    /// The autograd node when this tensor takes part in differentiation, else `nil`.
    var node: GradientNode?

    /// Wraps `storage`. Only autograd passes an empty storage, as the unused `output` of rules
    /// that were recorded without saving it.
    init(shape: [Int], storage: TensorStorage, node: GradientNode? = nil) {
        assert(storage.count == shape.reduce(1, *) || storage.count == 0)
        self.shape = shape
        self.storage = storage
        self.node = node
    }

    /// Creates a tensor of `shape` holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        let count = Tensor.elementCount(shape)
        precondition(scalars.count == count, "Tensor(shape: \(shape)) needs \(count) scalars, got \(scalars.count)")
        let storage = scalars.withUnsafeBufferPointer { TensorStorage(copying: $0.baseAddress!, count: count) }
        self.init(shape: shape, storage: storage)
    }

    /// Creates a one-dimensional tensor from `scalars`.
    public init(_ scalars: [Float]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    /// Creates a scalar (rank-0) tensor.
    public init(_ scalar: Float) {
        self.init(shape: [], storage: TensorStorage(repeating: scalar, count: 1))
    }

    /// Creates a tensor of `shape` with every element equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, storage: TensorStorage(repeating: value, count: Tensor.elementCount(shape)))
    }

    /// Creates a tensor of `shape` whose elements are written by `initializer` into an uninitialised buffer.
    public init(shape: [Int], unsafeUninitializedScalars initializer: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let storage = TensorStorage(uninitializedCount: Tensor.elementCount(shape))
        initializer(storage.buffer)
        self.init(shape: shape, storage: storage)
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }
    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }
    /// A tensor of zeros with the shape of `other`.
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape) }
    /// A tensor of ones with the shape of `other`.
    public static func ones(like other: Tensor) -> Tensor { ones(other.shape) }
    /// The values `start, start + step, ...` below `end`, as a 1-D tensor.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange step must not be zero")
        let count = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor(shape: [count]) { buffer in
            for i in 0..<count { buffer[i] = start + Float(i) * step }
        }
    }

    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { storage.count }
    /// The elements in row-major order.
    public var scalars: [Float] { Array(storage.buffer) }
    /// The single element of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor with shape \(shape)")
        return storage.pointer[0]
    }

    /// Reads the element at a full multi-dimensional index.
    public subscript(index: Int...) -> Float {
        storage.pointer[offset(of: index)]
    }

    func offset(of index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) for a tensor of shape \(shape)")
        var offset = 0
        for (axis, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[axis], "index \(index) out of range for shape \(shape)")
            offset = offset * shape[axis] + i
        }
        return offset
    }

    /// Calls `body` with the elements, read only.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(storage.buffer))
    }

    /// Calls `body` with the elements for writing, copying the storage first if it is shared.
    ///
    /// The tensor keeps its autograd node: use this for optimiser updates of leaf tensors, never
    /// on a tensor whose values an autograd graph still needs.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            storage = TensorStorage(copying: storage.pointer, count: storage.count)
        }
        storage.prepareForMutation()
        return try body(storage.buffer)
    }

    /// True when both tensors have the same shape and elements within `tolerance` (absolute
    /// plus relative to the larger magnitude).
    public func isAlmostEqual(to other: Tensor, tolerance: Float = 1e-5) -> Bool {
        guard shape == other.shape else { return false }
        let a = storage.pointer, b = other.storage.pointer
        for i in 0..<count {
            let scale = Swift.max(Swift.abs(a[i]), Swift.abs(b[i]), 1)
            if !(Swift.abs(a[i] - b[i]) <= tolerance * scale) { return false }
        }
        return true
    }

    static func elementCount(_ shape: [Int]) -> Int {
        var count = 1
        for extent in shape {
            precondition(extent >= 0, "negative extent in shape \(shape)")
            count *= extent
        }
        return count
    }
}

extension Tensor: CustomStringConvertible {
    /// The shape and up to eight leading elements.
    public var description: String {
        let shown = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        let more = count > 8 ? ", …" : ""
        let grad = requiresGradient ? ", requiresGradient" : ""
        return "Tensor(shape: \(shape), [\(shown)\(more)]\(grad))"
    }
}
