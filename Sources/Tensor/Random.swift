#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seeded, portable pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Every random draw in gfp takes a generator explicitly, so the same seed gives the same
/// weights, batches and images on every machine. Value semantics: copying a generator forks an
/// identical stream.
public struct SeededGenerator: RandomNumberGenerator, Hashable, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose stream is fully determined by `seed`.
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public static func == (a: Self, b: Self) -> Bool { a.state == b.state }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(state.0); hasher.combine(state.1); hasher.combine(state.2); hasher.combine(state.3)
    }

    /// The four words of the generator's state, for checkpoints.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    /// A generator restored from `stateWords` (four words, not all zero).
    public init?(stateWords words: [UInt64]) {
        guard words.count == 4, words.contains(where: { $0 != 0 }) else { return nil }
        state = (words[0], words[1], words[2], words[3])
    }

    /// A new generator for an independent sub-stream (for example one per data-loader worker),
    /// derived deterministically from this one.
    public mutating func split() -> SeededGenerator { SeededGenerator(seed: next()) }
}

extension RandomNumberGenerator {
    /// A uniform `Float` in [0, 1) with 24 random bits.
    @inlinable mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }
}

extension Tensor {
    /// Elements drawn uniformly from `[low, high)`.
    public static func uniform<G: RandomNumberGenerator>(_ shape: [Int], low: Float = 0, high: Float = 1,
                                                         using generator: inout G) -> Tensor {
        precondition(low <= high, "uniform: low \(low) > high \(high)")
        return Tensor(shape: shape) { out in
            for i in out.indices { out[i] = low + (high - low) * generator.nextUnitFloat() }
        }
    }

    /// Elements drawn from a normal distribution (Box–Muller, pairs of draws per two elements).
    public static func normal<G: RandomNumberGenerator>(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                                        using generator: inout G) -> Tensor {
        Tensor(shape: shape) { out in
            var i = 0
            while i < out.count {
                // 1 − u keeps the logarithm's argument in (0, 1].
                let u1 = 1 - Double(generator.next() >> 11) * 0x1p-53
                let u2 = Double(generator.next() >> 11) * 0x1p-53
                let radius = (-2 * logOfDouble(u1)).squareRoot()
                out[i] = mean + standardDeviation * Float(radius * cos(2 * Double.pi * u2))
                if i + 1 < out.count { out[i + 1] = mean + standardDeviation * Float(radius * sin(2 * Double.pi * u2)) }
                i += 2
            }
        }
    }

    /// Elements that are 1 with `probability`, else 0.
    public static func bernoulli<G: RandomNumberGenerator>(_ shape: [Int], probability: Float = 0.5,
                                                           using generator: inout G) -> Tensor {
        precondition((0...1).contains(probability), "bernoulli probability \(probability) outside [0, 1]")
        return Tensor(shape: shape) { out in
            for i in out.indices { out[i] = generator.nextUnitFloat() < probability ? 1 : 0 }
        }
    }
}

@inline(__always) private func logOfDouble(_ x: Double) -> Double { log(x) }
