/// StyleGAN2's feature-map schedule `nf(stage) = clamp(base / 2^stage, 1, maximum)` (spec §2.7);
/// the block at resolution 2^res has `nf(res − 1)` channels.
public struct ChannelSchedule: Hashable, Codable, Sendable {
    public var base: Int
    public var maximum: Int

    public init(base: Int, maximum: Int) {
        precondition(base >= 1 && maximum >= 1, "channel schedule base \(base) and maximum \(maximum) must be positive")
        self.base = base
        self.maximum = maximum
    }

    /// Config E of the paper (8192 / 512).
    public static let configE = ChannelSchedule(base: 8192, maximum: 512)

    /// Channels at `stage`.
    public func channels(stage: Int) -> Int { min(max(base >> stage, 1), maximum) }

    /// Channels of the block at resolution `2^log2Resolution`.
    public func channels(log2Resolution: Int) -> Int { channels(stage: log2Resolution - 1) }
}

/// log₂ of a power-of-two resolution, or `nil`.
func exactLog2(_ value: Int) -> Int? {
    guard value > 0, value & (value - 1) == 0 else { return nil }
    return value.trailingZeroBitCount
}
