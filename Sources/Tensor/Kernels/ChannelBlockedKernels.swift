// Shape operations on activations that exist only in oneDNN's channel-blocked layout nChw{b}c
// (a convolution's output), so that a U-Net's skip connections and upsampling feed the next
// convolution without a round trip through row-major memory.
//
// Without them, `concatenate` and `upsampledNearest` read their inputs row-major (a reorder and
// a second copy of each input kept beside the blocked one) and write a row-major output that the
// next convolution reorders into a third copy. At R = 128 that was 1.3 GB of a stego
// training step's peak memory.
//
// Only storages whose values are blocked-only are read here (their blocked buffer never changes,
// so no lock is needed); storages with row-major values are read row-major.

/// A storage's blocked-only values in the standard layout nChw{block}c of its tensor's shape.
struct ChannelBlockedValues {
    let pointer: UnsafeMutablePointer<Float>
    let block: Int
    /// Channels rounded up to a multiple of `block`; the padding holds zeros.
    let paddedChannels: Int

    /// `tensor`'s values when they exist only in a standard channel-blocked layout made for its
    /// shape (not for a shape it was reshaped from); nil otherwise.
    init?(_ tensor: Tensor) {
        guard tensor.rank == 4, !tensor.storage.hasPlainValues, let blocked = tensor.storage.blocked,
              let block = blocked.layout.standardChannelBlock, blocked.layout.dimensions == tensor.shape else { return nil }
        pointer = blocked.pointer.assumingMemoryBound(to: Float.self)
        self.block = block
        paddedChannels = ChannelBlockedKernels.roundUp(tensor.shape[1], to: block)
    }
}

enum ChannelBlockedKernels {
    static func roundUp(_ value: Int, to multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }

    /// A new blocked-only storage of `shape` in nChw{block}c, its buffer written by `fill`.
    static func makeStorage(shape: [Int], block: Int, _ fill: (UnsafeMutablePointer<Float>) -> Void) -> TensorStorage {
        TensorStorage(count: shape.reduce(1, *), blockedIn: DNNL.channelBlockedLayout(shape, block: block), fill)
    }

    /// `tensors` (rank 4, equal N, H, W) joined along channels in nChw{b}c, or nil when the
    /// blocked path does not apply: no operand is held blocked-only in a standard layout, or an
    /// operand other than the last has a channel count that is not a multiple of that layout's
    /// block `b` (every operand must start at a block boundary). Blocked operands of block `b`
    /// are copied block by block; the others are read row-major and interleaved.
    static func concatenateChannels(_ tensors: [Tensor], shape: [Int]) -> TensorStorage? {
        let views = tensors.map(ChannelBlockedValues.init)
        guard let block = views.lazy.compactMap({ $0?.block }).first,
              tensors.dropLast().allSatisfy({ $0.shape[1] % block == 0 }) else { return nil }
        let (n, h, w) = (shape[0], shape[2], shape[3])
        let plane = h * w
        let outChannels = roundUp(shape[1], to: block)
        enum Source { case blocked(UnsafeMutablePointer<Float>), plain(UnsafeMutablePointer<Float>) }
        let sources: [(source: Source, channels: Int)] = zip(tensors, views).map { tensor, view in
            if let view, view.block == block { return (.blocked(view.pointer), tensor.shape[1]) }
            return (.plain(tensor.storage.pointer), tensor.shape[1])
        }
        return makeStorage(shape: shape, block: block) { out in
            parallelRanges(n, grain: 1) { images in
                for image in images {
                    let base = out + image * outChannels * plane
                    var offset = 0
                    for (source, channels) in sources {
                        let padded = roundUp(channels, to: block)
                        switch source {
                        case .blocked(let pointer):
                            // The padding of the last operand is the output's padding (zeros).
                            (base + offset * plane).update(from: pointer + image * padded * plane, count: padded * plane)
                        case .plain(let pointer):
                            for c in 0..<padded {
                                let target = base + (offset + c - c % block) * plane + c % block
                                if c < channels {
                                    let row = pointer + (image * channels + c) * plane
                                    for i in 0..<plane { target[i * block] = row[i] }
                                } else {
                                    for i in 0..<plane { target[i * block] = 0 }
                                }
                            }
                        }
                        offset += channels
                    }
                }
            }
        }
    }

    /// Channels `range` of `tensor` held blocked-only in nChw{b}c, as a new blocked-only
    /// storage, or nil unless the range starts at a block boundary and ends at one or at the
    /// last channel.
    static func sliceChannels(_ tensor: Tensor, _ range: Range<Int>) -> TensorStorage? {
        guard let view = ChannelBlockedValues(tensor) else { return nil }
        let (b, channels) = (view.block, tensor.shape[1])
        guard range.lowerBound % b == 0, range.upperBound % b == 0 || range.upperBound == channels,
              !range.isEmpty else { return nil }
        let (n, h, w) = (tensor.shape[0], tensor.shape[2], tensor.shape[3])
        let plane = h * w
        let padded = roundUp(range.count, to: b)
        return makeStorage(shape: [n, range.count, h, w], block: b) { out in
            parallelRanges(n, grain: 1) { images in
                for image in images {
                    let target = out + image * padded * plane
                    target.update(from: view.pointer + (image * view.paddedChannels + range.lowerBound) * plane,
                                  count: padded * plane)
                    // Keep the padding zero whatever the source holds past its last channel.
                    let lastBlock = target + (padded - b) * plane
                    for lane in (range.count % b == 0 ? b : range.count % b)..<b {
                        for i in 0..<plane { lastBlock[i * b + lane] = 0 }
                    }
                }
            }
        }
    }

    /// Nearest upsampling by integer factors of a blocked-only tensor, in its layout.
    static func upsampleNearest(_ tensor: Tensor, scaleH: Int, scaleW: Int) -> TensorStorage? {
        guard let view = ChannelBlockedValues(tensor) else { return nil }
        let (n, c, h, w) = (tensor.shape[0], tensor.shape[1], tensor.shape[2], tensor.shape[3])
        let (oh, ow, b) = (h * scaleH, w * scaleW, view.block)
        let planes = n * view.paddedChannels / b
        return makeStorage(shape: [n, c, oh, ow], block: b) { out in
            parallelRanges(planes * oh, grain: 8) { rows in
                for row in rows {
                    let (p, y) = (row / oh, row % oh)
                    let source = view.pointer + (p * h * w + (y / scaleH) * w) * b
                    let target = out + (p * oh * ow + y * ow) * b
                    for x in 0..<ow { (target + x * b).update(from: source + (x / scaleW) * b, count: b) }
                }
            }
        }
    }

    /// The adjoint of `upsampleNearest`: sums of `scaleH`×`scaleW` blocks, in the layout.
    static func upsampleNearestAdjoint(_ tensor: Tensor, scaleH: Int, scaleW: Int) -> TensorStorage? {
        guard let view = ChannelBlockedValues(tensor) else { return nil }
        let (n, c, h, w) = (tensor.shape[0], tensor.shape[1], tensor.shape[2], tensor.shape[3])
        let (oh, ow, b) = (h / scaleH, w / scaleW, view.block)
        let planes = n * view.paddedChannels / b
        return makeStorage(shape: [n, c, oh, ow], block: b) { out in
            parallelRanges(planes * oh, grain: 8) { rows in
                for row in rows {
                    let (p, y) = (row / oh, row % oh)
                    let target = out + (p * oh * ow + y * ow) * b
                    target.initialize(repeating: 0, count: ow * b)
                    for dy in 0..<scaleH {
                        let source = view.pointer + (p * h * w + (y * scaleH + dy) * w) * b
                        for x in 0..<ow {
                            let t = target + x * b
                            for dx in 0..<scaleW {
                                let s = source + (x * scaleW + dx) * b
                                for lane in 0..<b { t[lane] += s[lane] }
                            }
                        }
                    }
                }
            }
        }
    }
}
