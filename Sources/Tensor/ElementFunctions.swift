/// Scalar functions that the element-wise kernels (`Tensor.mapKernel`, `Tensor.broadcastKernel`)
/// are specialised for.
///
/// A kernel taking a closure calls it through a function pointer for every element, which keeps
/// the loop scalar; a kernel generic over one of these protocols is specialised for the concrete
/// type, so the function is inlined and the loop vectorised (the hot arithmetic of a training
/// step runs several times faster this way).
protocol UnaryElementFunction {
    func callAsFunction(_ x: Float) -> Float
}

/// See `UnaryElementFunction`.
protocol BinaryElementFunction {
    func callAsFunction(_ x: Float, _ y: Float) -> Float
}

/// Any closure, for the functions that are not hot (or call into libm anyway).
struct UnaryClosure: UnaryElementFunction {
    let body: (Float) -> Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { body(x) }
}

/// Any closure, for the functions that are not hot.
struct BinaryClosure: BinaryElementFunction {
    let body: (Float, Float) -> Float
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { body(x, y) }
}

struct Add: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x + y }
}

struct Subtract: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x - y }
}

struct Multiply: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x * y }
}

struct Divide: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x / y }
}

struct Maximum: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { Swift.max(x, y) }
}

struct Minimum: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { Swift.min(x, y) }
}

struct Negate: UnaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { -x }
}

struct Square: UnaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x }
}

struct SquareRoot: UnaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x.squareRoot() }
}

struct ReciprocalSquareRoot: UnaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { 1 / x.squareRoot() }
}

struct ReLU: UnaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 }
}

/// g where x > 0, `negativeSlope`·g otherwise: (leaky) ReLU's backward, (g, x) → g · f'(x).
struct PositiveGate: BinaryElementFunction {
    let negativeSlope: Float
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : g * negativeSlope }
}

/// x for x > 0, `negativeSlope`·x otherwise.
struct LeakyReLU: UnaryElementFunction {
    let negativeSlope: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : x * negativeSlope }
}

/// x limited to `lower...upper`.
struct Clamp: UnaryElementFunction {
    let lower: Float, upper: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x, lower), upper) }
}

/// 1 where x > y, else 0 (and likewise below): the masks of comparisons and of ReLU's derivative.
struct IsGreater: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x > y ? 1 : 0 }
}

struct IsGreaterOrEqual: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x >= y ? 1 : 0 }
}

struct IsLess: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x < y ? 1 : 0 }
}

struct IsLessOrEqual: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x <= y ? 1 : 0 }
}

struct IsEqual: BinaryElementFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x == y ? 1 : 0 }
}
