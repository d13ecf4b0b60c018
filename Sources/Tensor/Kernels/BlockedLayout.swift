// The oneDNN layouts that tensor storage keeps values in besides row-major (see TensorStorage),
// with the reorders between them. Made by DNNL's convolution plans and `DNNL.channelBlockedLayout`.

import CDNNL

/// A oneDNN layout that a convolution chose for one of its tensors (e.g. nChw16c), with the
/// reorders between it and row-major. Made once per plan operand; its memory objects are bound
/// to buffers just before each use, under DNNL's lock.
final class BlockedLayout: @unchecked Sendable {
    private var descriptor: dnnl_memory_desc_t
    /// Size of a buffer in this layout (larger than row-major when channels are padded).
    let bytes: Int
    let blockedMemory: dnnl_memory_t
    private let plainMemory: dnnl_memory_t
    private let toPlain: dnnl_primitive_t
    private let fromPlain: dnnl_primitive_t

    /// For a 4-D layout whose channels are blocked once (nChw16c, nChw8c) or not at all (nchw,
    /// nhwc), without padding: element (n, c, h, w) is at
    /// `n·s[0] + (c / block)·s[1] + h·s[2] + w·s[3] + c % block`. Nil for other layouts.
    let channelBlocking: (block: Int, strides: [Int])?
    /// `b` when this is the standard layout nChw{b}c of `dimensions`, channels zero-padded to a
    /// multiple of `b` (`DNNL.channelBlockedLayout`): element (n, c, h, w) is at
    /// `n·Cp·H·W + (c / b)·b·H·W + (h·W + w)·b + c % b`, with `Cp` the padded channel count and
    /// zeros in the padding. Nil for any other layout.
    let standardChannelBlock: Int?
    /// The logical dimensions of the tensor this layout was made for (a tensor reshaped since
    /// shares the buffer under other dimensions).
    let dimensions: [Int]

    init(chosen: dnnl_memory_desc_t, plain: dnnl_memory_desc_t, engine: dnnl_engine_t) {
        descriptor = chosen
        channelBlocking = Self.channelBlocking(of: chosen)
        standardChannelBlock = Self.standardChannelBlock(of: chosen)
        dimensions = withUnsafeBytes(of: chosen.dims) { Array($0.bindMemory(to: Int64.self).prefix(Int(chosen.ndims))) }.map(Int.init)
        var chosen = chosen, plain = plain
        bytes = dnnl_memory_desc_get_size(&chosen)
        func memory(_ md: inout dnnl_memory_desc_t) -> dnnl_memory_t {
            var memory: dnnl_memory_t?
            precondition(dnnl_memory_create(&memory, &md, engine, nil) == dnnl_success, "oneDNN: dnnl_memory_create failed")
            return memory!
        }
        func reorder(_ source: inout dnnl_memory_desc_t, _ destination: inout dnnl_memory_desc_t) -> dnnl_primitive_t {
            var pd: dnnl_primitive_desc_t?
            precondition(dnnl_reorder_primitive_desc_create(&pd, &source, engine, &destination, engine, nil) == dnnl_success,
                         "oneDNN: dnnl_reorder_primitive_desc_create failed")
            defer { dnnl_primitive_desc_destroy(pd) }
            var primitive: dnnl_primitive_t?
            precondition(dnnl_primitive_create(&primitive, pd) == dnnl_success, "oneDNN: dnnl_primitive_create(reorder) failed")
            return primitive!
        }
        blockedMemory = memory(&chosen)
        plainMemory = memory(&plain)
        toPlain = reorder(&chosen, &plain)
        fromPlain = reorder(&plain, &chosen)
    }

    private static func channelBlocking(of md: dnnl_memory_desc_t) -> (block: Int, strides: [Int])? {
        guard md.ndims == 4, md.format_kind == dnnl_blocked, md.offset0 == 0 else { return nil }
        let dims = [md.dims.0, md.dims.1, md.dims.2, md.dims.3]
        guard [md.padded_dims.0, md.padded_dims.1, md.padded_dims.2, md.padded_dims.3] == dims else { return nil }
        let blocking = md.format_desc.blocking
        let block: Int64
        switch blocking.inner_nblks {
        case 0: block = 1
        case 1 where blocking.inner_idxs.0 == 1: block = blocking.inner_blks.0
        default: return nil
        }
        let strides = [blocking.strides.0, blocking.strides.1, blocking.strides.2, blocking.strides.3].map(Int.init)
        return (Int(block), strides)
    }

    private static func standardChannelBlock(of md: dnnl_memory_desc_t) -> Int? {
        guard md.ndims == 4, md.format_kind == dnnl_blocked, md.offset0 == 0 else { return nil }
        let blocking = md.format_desc.blocking
        guard blocking.inner_nblks == 1, blocking.inner_idxs.0 == 1, blocking.inner_blks.0 > 1 else { return nil }
        let b = Int(blocking.inner_blks.0)
        let (n, c, h, w) = (Int(md.dims.0), Int(md.dims.1), Int(md.dims.2), Int(md.dims.3))
        let cp = (c + b - 1) / b * b
        let padded = [md.padded_dims.0, md.padded_dims.1, md.padded_dims.2, md.padded_dims.3].map(Int.init)
        let offsets = [md.padded_offsets.0, md.padded_offsets.1, md.padded_offsets.2, md.padded_offsets.3]
        let strides = [blocking.strides.0, blocking.strides.1, blocking.strides.2, blocking.strides.3].map(Int.init)
        guard padded == [n, cp, h, w], offsets.allSatisfy({ $0 == 0 }),
              strides == [cp * h * w, b * h * w, b * w, b] else { return nil }
        return b
    }

    /// Whether a buffer in this layout holds exactly `count` values and no padding, so that an
    /// element-wise function may run over it element by element.
    func isDense(count: Int) -> Bool { bytes == count * MemoryLayout<Float>.stride }

    /// Whether buffers in the two layouts hold the same values at the same places.
    func matches(_ other: BlockedLayout) -> Bool {
        if self === other { return true }
        return dnnl_memory_desc_equal(&descriptor, &other.descriptor) != 0
    }

    /// Reorders row-major `source` into `destination` (in this layout). Under DNNL's lock (these run
    /// on DNNL's stream and share the layout's memory objects).
    func reorder(fromPlain source: UnsafeMutableRawPointer, to destination: UnsafeMutableRawPointer,
                             stream: dnnl_stream_t) {
        run(fromPlain, plainMemory, source, blockedMemory, destination, stream)
    }

    /// Reorders `source` (in this layout) into row-major `destination`. Under DNNL's lock.
    func reorder(toPlain destination: UnsafeMutableRawPointer, from source: UnsafeMutableRawPointer,
                             stream: dnnl_stream_t) {
        run(toPlain, blockedMemory, source, plainMemory, destination, stream)
    }

    private func run(_ primitive: dnnl_primitive_t, _ from: dnnl_memory_t, _ source: UnsafeMutableRawPointer,
                     _ to: dnnl_memory_t, _ destination: UnsafeMutableRawPointer, _ stream: dnnl_stream_t) {
        precondition(dnnl_memory_set_data_handle(from, source) == dnnl_success
                     && dnnl_memory_set_data_handle(to, destination) == dnnl_success, "oneDNN: dnnl_memory_set_data_handle failed")
        let args = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to)]
        precondition(dnnl_primitive_execute(primitive, stream, 2, args) == dnnl_success,
                     "oneDNN: dnnl_primitive_execute(reorder) failed")
    }
}
