// oneDNN (DNNL 2.x C API) kernels: 2-D convolution forward / backward-data / backward-weights and sgemm.
//
// All user buffers are contiguous float32, NCHW for activations and OIHW for weights. Each
// convolution primitive is created with `dnnl_format_tag_any` so oneDNN picks its fast blocked
// layout (e.g. nChw16c / OIhw16i16o). Raw-pointer callers get their buffers reordered in and out
// around the call; `TensorStorage` callers keep blocked values between calls (see TensorStorage).
// Everything that depends only on shapes + geometry (primitive descriptors, primitives, reorders,
// memory objects) is built once and cached. Execution is serialized by one lock, which also lets
// all plans share one arena of 64-byte-aligned blocked buffers and one user-mode scratchpad.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CDNNL
import Synchronization

/// Geometry of a 2-D convolution: strides, asymmetric zero padding, dilation and groups.
///
/// Dilation follows the PyTorch convention (1 = dense kernel); it is converted to oneDNN's
/// convention (0 = dense) internally.
struct ConvolutionGeometry: Hashable, Sendable {
    /// Vertical stride (>= 1).
    var strideH: Int
    /// Horizontal stride (>= 1).
    var strideW: Int
    /// Zero rows added above the input.
    var padTop: Int
    /// Zero rows added below the input.
    var padBottom: Int
    /// Zero columns added left of the input.
    var padLeft: Int
    /// Zero columns added right of the input.
    var padRight: Int
    /// Vertical dilation (1 = dense).
    var dilationH: Int
    /// Horizontal dilation (1 = dense).
    var dilationW: Int
    /// Number of groups; input and output channels must both be divisible by it.
    var groups: Int

    /// Creates a geometry with every field given explicitly (defaults: dense, unpadded, stride 1).
    init(strideH: Int = 1, strideW: Int = 1,
         padTop: Int = 0, padBottom: Int = 0, padLeft: Int = 0, padRight: Int = 0,
         dilationH: Int = 1, dilationW: Int = 1, groups: Int = 1) {
        self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padBottom = padBottom
        self.padLeft = padLeft; self.padRight = padRight
        self.dilationH = dilationH; self.dilationW = dilationW
        self.groups = groups
    }

    /// Creates a geometry with the same stride, symmetric padding and dilation on both axes.
    init(stride: Int, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.init(strideH: stride, strideW: stride, padTop: padding, padBottom: padding,
                  padLeft: padding, padRight: padding, dilationH: dilation, dilationW: dilation,
                  groups: groups)
    }
}

/// oneDNN-backed CPU kernels. Shapes are validated by the caller; any oneDNN failure is a
/// programming error and stops the process with `preconditionFailure`.
enum DNNL {
    /// `y[N,O,Ho,Wo] = conv(x[N,C,H,W], w[O,C/groups,kh,kw]) + bias[O]` (bias optional).
    ///
    /// `outputShape` must match `outputSize` for both spatial axes. `output` is overwritten.
    static func convolutionForward(
        input: UnsafePointer<Float>, inputShape: [Int],
        weight: UnsafePointer<Float>, weightShape: [Int],
        bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, outputShape: [Int],
        geometry: ConvolutionGeometry
    ) {
        let key = PlanKey(kind: .forward, input: inputShape, weight: weightShape,
                          output: outputShape, geometry: geometry, withBias: bias != nil)
        execute(key, [.plain(raw(input)), .plain(raw(weight)), .plain(UnsafeMutableRawPointer(output))], bias: bias.map(raw))
    }

    /// `gx = dL/dx` given `gy = dL/dy` and the weights; `gradInput` is overwritten.
    static func convolutionBackwardData(
        gradOutput: UnsafePointer<Float>, outputShape: [Int],
        weight: UnsafePointer<Float>, weightShape: [Int],
        gradInput: UnsafeMutablePointer<Float>, inputShape: [Int],
        geometry: ConvolutionGeometry
    ) {
        let key = PlanKey(kind: .backwardData, input: inputShape, weight: weightShape,
                          output: outputShape, geometry: geometry, withBias: false)
        execute(key, [.plain(UnsafeMutableRawPointer(gradInput)), .plain(raw(weight)), .plain(raw(gradOutput))], bias: nil)
    }

    /// `gw = dL/dw` (and, if `gradBias` is given, `gb = dL/db` summed over N, H, W) given `x` and
    /// `gy`; the gradients are overwritten, not accumulated.
    static func convolutionBackwardWeights(
        input: UnsafePointer<Float>, inputShape: [Int],
        gradOutput: UnsafePointer<Float>, outputShape: [Int],
        gradWeight: UnsafeMutablePointer<Float>, weightShape: [Int],
        gradBias: UnsafeMutablePointer<Float>?,
        geometry: ConvolutionGeometry
    ) {
        let key = PlanKey(kind: .backwardWeights, input: inputShape, weight: weightShape,
                          output: outputShape, geometry: geometry, withBias: gradBias != nil)
        execute(key, [.plain(raw(input)), .plain(UnsafeMutableRawPointer(gradWeight)), .plain(raw(gradOutput))],
                bias: gradBias.map { UnsafeMutableRawPointer($0) })
    }

    // MARK: Storage forms: inputs read in whichever layout they hold, outputs left in the
    // primitive's layout (see `TensorStorage`), so consecutive layers skip the reorders.

    /// `conv2d` of storages; the result has `outputShape`'s element count.
    /// With `activationSlope`, the output is (leaky) ReLU of the convolution, applied by oneDNN
    /// as the values are written (a post-op) instead of in a pass of its own.
    static func convolutionForward(input: TensorStorage, inputShape: [Int], weight: TensorStorage, weightShape: [Int],
                                   bias: TensorStorage?, outputShape: [Int], geometry: ConvolutionGeometry,
                                   activationSlope: Float? = nil) -> TensorStorage {
        let key = PlanKey(kind: .forward, input: inputShape, weight: weightShape,
                          output: outputShape, geometry: geometry, withBias: bias != nil,
                          activationSlope: activationSlope)
        return execute(key, [.storage(input), .storage(weight), .newStorage(count: outputShape.reduce(1, *))],
                       bias: bias.map { UnsafeMutableRawPointer($0.pointer) })!
    }

    /// The gradient with respect to the input, of storages.
    static func convolutionBackwardData(gradOutput: TensorStorage, outputShape: [Int], weight: TensorStorage,
                                        weightShape: [Int], inputShape: [Int], geometry: ConvolutionGeometry) -> TensorStorage {
        let key = PlanKey(kind: .backwardData, input: inputShape, weight: weightShape,
                          output: outputShape, geometry: geometry, withBias: false)
        return execute(key, [.newStorage(count: inputShape.reduce(1, *)), .storage(weight), .storage(gradOutput)], bias: nil)!
    }

    /// The gradient with respect to the weights, of storages.
    static func convolutionBackwardWeights(input: TensorStorage, inputShape: [Int], gradOutput: TensorStorage,
                                           outputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry) -> TensorStorage {
        let key = PlanKey(kind: .backwardWeights, input: inputShape, weight: weightShape,
                          output: outputShape, geometry: geometry, withBias: false)
        return execute(key, [.storage(input), .newStorage(count: weightShape.reduce(1, *)), .storage(gradOutput)], bias: nil)!
    }

    /// Row-major `C = alpha * op(A) * op(B) + beta * C` with `op(A)` m×k and `op(B)` k×n.
    ///
    /// Thread-safe and not serialized with the convolutions (oneDNN parallelizes it internally).
    static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let ta: CChar = transposeA ? 84 : 78, tb: CChar = transposeB ? 84 : 78  // "T" : "N"
        check(dnnl_sgemm(ta, tb, Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda),
                         b, Int64(ldb), beta, c, Int64(ldc)), "dnnl_sgemm")
    }

    /// Output size of one spatial axis:
    /// `(input + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride + 1`.
    static func outputSize(input: Int, kernel: Int, stride: Int,
                           padBefore: Int, padAfter: Int, dilation: Int) -> Int {
        (input + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride + 1
    }

    /// The oneDNN version and the implementations it selects for a sample 3×3 convolution
    /// (64→64 channels, 32×32, batch 16), e.g. `oneDNN 2.6.3; conv fwd: jit:avx512_core, ...`.
    static func implementationDescription() -> String {
        let v = dnnl_version()!.pointee
        let geometry = ConvolutionGeometry(stride: 1, padding: 1)
        let shapes = (input: [16, 64, 32, 32], weight: [64, 64, 3, 3], output: [16, 64, 32, 32])
        let names = [PlanKey.Kind.forward, .backwardData, .backwardWeights].map { kind in
            let key = PlanKey(kind: kind, input: shapes.input, weight: shapes.weight,
                              output: shapes.output, geometry: geometry, withBias: false)
            return state.withLock { $0.plan(for: key).kernelName }
        }
        return "oneDNN \(v.major).\(v.minor).\(v.patch); conv fwd: \(names[0]), "
            + "bwd data: \(names[1]), bwd weights: \(names[2])"
    }

    /// The implementation and scratchpad size of the forward plan for an unbiased convolution of
    /// `input` with `weight` (building the plan, without running it).
    static func forwardPlanSummary(input: [Int], weight: [Int], geometry: ConvolutionGeometry)
        -> (implementation: String, scratchpadBytes: Int) {
        let output = Tensor.convolutionOutputShape(input: input, weight: weight, geometry: geometry)
        let key = PlanKey(kind: .forward, input: input, weight: weight, output: output, geometry: geometry, withBias: false)
        return state.withLock { state in
            let plan = state.plan(for: key)
            return (plan.kernelName, plan.ownKernel?.scratchBytes ?? plan.scratchpad?.bytes ?? 0)
        }
    }

    /// The kernel that computes the weight gradient of an unbiased convolution of `input` with
    /// `weight` (building the plan, without running it).
    static func backwardWeightsKernelName(input: [Int], weight: [Int], geometry: ConvolutionGeometry) -> String {
        let output = Tensor.convolutionOutputShape(input: input, weight: weight, geometry: geometry)
        let key = PlanKey(kind: .backwardWeights, input: input, weight: weight, output: output, geometry: geometry,
                          withBias: false)
        return state.withLock { $0.plan(for: key).kernelName }
    }

    // MARK: - Implementation

    /// Convolution algorithm. `auto` lets oneDNN choose Winograd F(4x4, 3x3) for 3×3 stride-1
    /// problems with batch >= 16, which measured 1.4–2× faster than `direct` on this CPU
    /// (relative error ~1e-6 instead of ~3e-7); everything else runs the direct kernels.
    private static let algorithm = dnnl_convolution_auto

    /// Everything that identifies a cached plan.
    private struct PlanKey: Hashable {
        enum Kind: Hashable { case forward, backwardData, backwardWeights }
        var kind: Kind
        var input: [Int], weight: [Int], output: [Int]
        var geometry: ConvolutionGeometry
        var withBias: Bool
        /// A (leaky) ReLU fused into a forward convolution as a oneDNN post-op: its negative slope.
        var activationSlope: Float? = nil
    }

    /// One tensor argument of a plan: the user's plain memory, plus, if the primitive wants a
    /// different layout, that layout (with its memories and reorders).
    private final class Operand {
        let arg: Int32
        let isOutput: Bool
        let user: dnnl_memory_t
        let layout: BlockedLayout?

        init(arg: Int32, isOutput: Bool, user: dnnl_memory_t, layout: BlockedLayout?) {
            self.arg = arg; self.isOutput = isOutput; self.user = user; self.layout = layout
        }

        deinit { dnnl_memory_destroy(user) }
    }

    /// A ready-to-run convolution: primitive, its descriptors and operands. Cached plans live
    /// forever; one replaced before use (`makePlan`) is destroyed.
    private final class Plan {
        let primitive: dnnl_primitive_t
        /// Kept alive because backward descriptors may refer to their forward hint.
        let descriptors: [dnnl_primitive_desc_t]
        let operands: [Operand]  // [x or gx, w or gw, y or gy]
        let bias: (arg: Int32, memory: dnnl_memory_t)?
        let scratchpad: (memory: dnnl_memory_t, bytes: Int)?
        let implementation: String
        var boundScratchpad: UnsafeMutableRawPointer?
        /// Set when this plan runs one of gfp's own kernels instead of `primitive` (whose layouts
        /// it keeps).
        var ownKernel: (any OwnConvolutionKernel)?
        /// Set when this backward-weights plan computes the gradient with gfp's own Winograd kernel.
        var weightGradientKernel: WinogradWeightGradient?

        /// The kernel that runs: oneDNN's implementation, or the own kernel's name.
        var kernelName: String {
            ownKernel?.name ?? (weightGradientKernel == nil ? implementation : WinogradWeightGradient.kernelName)
        }

        init(primitive: dnnl_primitive_t, descriptors: [dnnl_primitive_desc_t], operands: [Operand],
             bias: (Int32, dnnl_memory_t)?, scratchpad: (dnnl_memory_t, Int)?, implementation: String) {
            self.primitive = primitive; self.descriptors = descriptors; self.operands = operands
            self.bias = bias.map { (arg: $0.0, memory: $0.1) }
            self.scratchpad = scratchpad.map { (memory: $0.0, bytes: $0.1) }
            self.implementation = implementation
        }

        deinit {
            dnnl_primitive_destroy(primitive)
            if let bias { dnnl_memory_destroy(bias.memory) }
            if let scratchpad { dnnl_memory_destroy(scratchpad.memory) }
            for descriptor in descriptors.reversed() { dnnl_primitive_desc_destroy(descriptor) }
        }
    }

    /// Growable 64-byte-aligned buffers shared by all plans (safe: execution is serialized).
    /// Slots 0–2 hold blocked operands, slot 3 oneDNN's scratchpad, slot 4 an own kernel's.
    private struct Arena {
        private var slots: [(pointer: UnsafeMutableRawPointer, bytes: Int)?] = [nil, nil, nil, nil, nil]

        mutating func buffer(_ slot: Int, bytes: Int) -> UnsafeMutableRawPointer {
            if let existing = slots[slot], existing.bytes >= bytes { return existing.pointer }
            slots[slot]?.pointer.deallocate()
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            slots[slot] = (pointer, bytes)
            return pointer
        }
    }

    /// The global engine, stream, plan cache and arena. `@unchecked Sendable` because it holds
    /// raw oneDNN handles and pointers; it is only reachable through the `state` mutex.
    private struct State: @unchecked Sendable {
        let engine: dnnl_engine_t
        let stream: dnnl_stream_t
        var plans: [PlanKey: Plan] = [:]
        var arena = Arena()
        /// `channelBlockedLayout` results by dimensions + [block].
        var channelBlockedLayouts: [[Int]: BlockedLayout] = [:]

        init() {
            var engine: dnnl_engine_t?
            check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
            var stream: dnnl_stream_t?
            check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue),
                  "dnnl_stream_create")
            self.engine = engine!
            self.stream = stream!
        }

        mutating func plan(for key: PlanKey) -> Plan {
            if let plan = plans[key] { return plan }
            let plan = DNNL.makePlan(key, engine: engine)
            plans[key] = plan
            return plan
        }
    }

    private static let state = Mutex(State())

    /// A tensor argument of `execute`.
    enum Argument {
        /// A row-major buffer (read, or overwritten for an output).
        case plain(UnsafeMutableRawPointer)
        /// An input storage: read in whichever form it has, its blocked copy kept for later calls.
        case storage(TensorStorage)
        /// The output, as a new storage of `count` elements (left in the primitive's layout).
        case newStorage(count: Int)
    }

    /// Runs the cached plan for `key` (arguments in the order x/gx, w/gw, y/gy) and returns the
    /// output storage when the output argument is `.newStorage`.
    @discardableResult
    private static func execute(_ key: PlanKey, _ arguments: [Argument], bias: UnsafeMutableRawPointer?) -> TensorStorage? {
        state.withLock { state in
            let plan = state.plan(for: key)
            if let kernel = plan.ownKernel, let result = runOwnKernel(kernel, plan: plan, arguments, bias: bias,
                                                                      state: &state) {
                return result
            }
            if let kernel = plan.weightGradientKernel, bias == nil,
               let result = runWeightGradientKernel(kernel, plan: plan, arguments, state: &state) {
                return result
            }
            let stream = state.stream
            var args: [dnnl_exec_arg_t] = []
            var bindings: [(dnnl_memory_t, UnsafeMutableRawPointer)] = []
            var created: TensorStorage?
            var plainOutput: (layout: BlockedLayout, buffer: UnsafeMutableRawPointer, target: UnsafeMutableRawPointer)?
            for (slot, op) in plan.operands.enumerated() {
                let pointer: UnsafeMutableRawPointer
                switch (arguments[slot], op.isOutput) {
                case (.newStorage(let count), true):
                    if let layout = op.layout {
                        let buffer = TensorStorage.allocate(bytes: layout.bytes)
                        created = TensorStorage(blockedOnly: BlockedBuffer(layout: layout, pointer: buffer), count: count)
                        pointer = buffer
                    } else {
                        created = TensorStorage(uninitializedCount: count)
                        pointer = UnsafeMutableRawPointer(created!.plainBufferUnchecked)
                    }
                case (.plain(let target), true):
                    if let layout = op.layout {
                        pointer = state.arena.buffer(slot, bytes: layout.bytes)
                        plainOutput = (layout, pointer, target)
                    } else {
                        pointer = target
                    }
                case (.plain(let source), false):
                    if let layout = op.layout {
                        pointer = state.arena.buffer(slot, bytes: layout.bytes)
                        layout.reorder(fromPlain: source, to: pointer, stream: stream)
                    } else {
                        pointer = source
                    }
                case (.storage(let storage), false):
                    pointer = prepareInput(storage, layout: op.layout, slot: slot, state: &state)
                default:
                    preconditionFailure("DNNL.execute: argument \(slot) does not fit its operand")
                }
                let memory = op.layout?.blockedMemory ?? op.user
                bindings.append((memory, pointer))
                args.append(dnnl_exec_arg_t(arg: op.arg, memory: memory))
            }
            for (memory, pointer) in bindings {
                check(dnnl_memory_set_data_handle(memory, pointer), "dnnl_memory_set_data_handle")
            }
            if let (arg, memory) = plan.bias, let bias {
                check(dnnl_memory_set_data_handle(memory, bias), "dnnl_memory_set_data_handle")
                args.append(dnnl_exec_arg_t(arg: arg, memory: memory))
            }
            if let (memory, bytes) = plan.scratchpad {
                let buffer = state.arena.buffer(3, bytes: bytes)
                if buffer != plan.boundScratchpad {
                    check(dnnl_memory_set_data_handle(memory, buffer), "dnnl_memory_set_data_handle")
                    plan.boundScratchpad = buffer
                }
                args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory))
            }
            check(dnnl_primitive_execute(plan.primitive, stream, Int32(args.count), args),
                  "dnnl_primitive_execute(convolution)")
            if let (layout, buffer, target) = plainOutput {
                layout.reorder(toPlain: target, from: buffer, stream: stream)
            }
            check(dnnl_stream_wait(stream), "dnnl_stream_wait")
            return created
        }
    }

    /// Runs `plan` through `kernel` when `arguments` are storages (x, w → new y, or new gx ← w, gy):
    /// the activation read in the plan's blocked layout, the weights row-major, the result a new
    /// storage in the plan's layout for it (as oneDNN's). Nil for the plain-pointer forms.
    private static func runOwnKernel(_ kernel: any OwnConvolutionKernel, plan: Plan, _ arguments: [Argument],
                                     bias: UnsafeMutableRawPointer?, state: inout State) -> TensorStorage? {
        let (readSlot, writtenSlot) = kernel.readsOutputGradient ? (2, 0) : (0, 2)
        guard case .storage(let read) = arguments[readSlot], case .storage(let weight) = arguments[1],
              case .newStorage(let count) = arguments[writtenSlot] else { return nil }
        let x = prepareInput(read, layout: plan.operands[readSlot].layout, slot: readSlot, state: &state)
        let w = prepareInput(weight, layout: nil, slot: 1, state: &state)
        let layout = plan.operands[writtenSlot].layout!
        let buffer = TensorStorage.allocate(bytes: layout.bytes)
        let output = TensorStorage(blockedOnly: BlockedBuffer(layout: layout, pointer: buffer), count: count)
        kernel.run(input: x, weight: w, bias: bias, output: buffer,
                   scratch: state.arena.buffer(4, bytes: kernel.scratchBytes))
        return output
    }

    /// Runs a backward-weights `plan` through `kernel` when `arguments` are storages (x, new gw,
    /// gy): the activations read in the plan's blocked layouts, the gradient a new row-major
    /// storage. Nil for the plain-pointer forms (which run oneDNN's primitive).
    private static func runWeightGradientKernel(_ kernel: WinogradWeightGradient, plan: Plan, _ arguments: [Argument],
                                                state: inout State) -> TensorStorage? {
        guard case .storage(let input) = arguments[0], case .newStorage(let count) = arguments[1],
              case .storage(let gradOutput) = arguments[2] else { return nil }
        let x = prepareInput(input, layout: plan.operands[0].layout, slot: 0, state: &state)
        let gy = prepareInput(gradOutput, layout: plan.operands[2].layout, slot: 2, state: &state)
        let output = TensorStorage(uninitializedCount: count)
        kernel.run(input: x, outputGradient: gy, weightGradient: output.plainBufferUnchecked,
                   scratch: state.arena.buffer(4, bytes: kernel.scratchBytes))
        return output
    }

    /// The buffer holding `storage`'s values in `layout` (or row-major when `layout` is nil):
    /// its blocked copy when that has the layout; otherwise a reorder of its row-major values,
    /// kept as the storage's blocked copy if it has none yet, else written to an arena slot.
    private static func prepareInput(_ storage: TensorStorage, layout: BlockedLayout?, slot: Int,
                                     state: inout State) -> UnsafeMutableRawPointer {
        if let layout, let blocked = storage.blocked, blocked.layout.matches(layout) { return blocked.pointer }
        materializeLocked(storage, stream: state.stream)
        let plain = UnsafeMutableRawPointer(storage.plainBufferUnchecked)
        guard let layout else { return plain }
        let buffer: UnsafeMutableRawPointer
        if storage.blocked == nil {
            buffer = TensorStorage.allocate(bytes: layout.bytes)
            storage.blocked = BlockedBuffer(layout: layout, pointer: buffer)
        } else {
            buffer = state.arena.buffer(slot, bytes: layout.bytes)
        }
        layout.reorder(fromPlain: plain, to: buffer, stream: state.stream)
        return buffer
    }

    /// The layout nChw{block}c of `dimensions` [N, C, H, W] (channels zero-padded to a multiple
    /// of `block`), the one oneDNN's convolutions choose here for activations; made once per shape.
    /// Shape operations that keep a convolution's output blocked (`Tensor.concatenate` along
    /// channels, nearest upsampling) write their outputs in it.
    static func channelBlockedLayout(_ dimensions: [Int], block: Int) -> BlockedLayout {
        precondition(dimensions.count == 4, "channel-blocked layout of \(dimensions): expected [N, C, H, W]")
        let tag: dnnl_format_tag_t = switch block {
        case 4: dnnl_aBcd4b
        case 8: dnnl_aBcd8b
        case 16: dnnl_aBcd16b
        default: preconditionFailure("channel-blocked layout: unsupported block \(block)")
        }
        return state.withLock { state in
            let key = dimensions + [block]
            if let layout = state.channelBlockedLayouts[key] { return layout }
            let layout = BlockedLayout(chosen: memoryDesc(dimensions, tag), plain: memoryDesc(dimensions, dnnl_nchw),
                                       engine: state.engine)
            state.channelBlockedLayouts[key] = layout
            return layout
        }
    }

    /// Fills `storage`'s row-major buffer from its blocked copy if it is not valid yet.
    static func materializePlain(_ storage: TensorStorage) {
        state.withLock { state in
            materializeLocked(storage, stream: state.stream)
        }
    }

    private static func materializeLocked(_ storage: TensorStorage, stream: dnnl_stream_t) {
        guard !storage.hasPlainValues else { return }
        let blocked = storage.blocked!
        blocked.layout.reorder(toPlain: UnsafeMutableRawPointer(storage.plainBufferUnchecked), from: blocked.pointer, stream: stream)
        check(dnnl_stream_wait(stream), "dnnl_stream_wait")
        storage.markPlainValid()
    }

    /// Builds the primitive descriptor(s), primitive, memories and reorders for `key`.
    /// The most scratch memory a convolution may use (`GFP_CONV_SCRATCHPAD_MB`, default 128 MiB).
    /// oneDNN's Winograd kernels keep the transformed tiles of the whole batch in their scratchpad:
    /// 438 MB for the 128×128 layers of a stego training step at batch 64 and 1.7 GB at batch 256,
    /// all of it resident from then on. A convolution whose Winograd plan needs more runs the
    /// direct kernels instead, whose scratchpad is small.
    static let scratchpadLimit: Int = {
        if let text = getenv("GFP_CONV_SCRATCHPAD_MB").map({ String(cString: $0) }), let megabytes = Int(text),
           megabytes >= 0 {
            return megabytes << 20
        }
        return 128 << 20
    }()

    /// The plan for `key` (`makeOneDNNPlan`); a plan that one of gfp's own kernels runs faster
    /// gets it (`WinogradConvolution`, `SmallOutputConvolution`, `Stride2Convolution`;
    /// `WinogradWeightGradient` for weight gradients).
    private static func makePlan(_ key: PlanKey, engine: dnnl_engine_t) -> Plan {
        let plan = makeOneDNNPlan(key, engine: engine)
        switch key.kind {
        case .forward:
            let (read, written) = (plan.operands[0].layout, plan.operands[2].layout)
            plan.ownKernel = WinogradConvolution(
                .forward, input: key.input, weight: key.weight, geometry: key.geometry, activationSlope: key.activationSlope,
                readLayout: read, writtenLayout: written, implementation: plan.implementation)
                ?? SmallOutputConvolution(input: key.input, weight: key.weight, output: key.output, geometry: key.geometry,
                                          activationSlope: key.activationSlope, readLayout: read, writtenLayout: written)
                ?? Stride2Convolution(input: key.input, weight: key.weight, output: key.output, geometry: key.geometry,
                                      activationSlope: key.activationSlope, readLayout: read, writtenLayout: written)
        case .backwardData:
            plan.ownKernel = WinogradConvolution(
                .backwardData, input: key.input, weight: key.weight, geometry: key.geometry, activationSlope: nil,
                readLayout: plan.operands[2].layout, writtenLayout: plan.operands[0].layout,
                implementation: plan.implementation)
        case .backwardWeights:
            plan.weightGradientKernel = WinogradWeightGradient(
                input: key.input, weight: key.weight, geometry: key.geometry, inputLayout: plan.operands[0].layout,
                gradientLayout: plan.operands[2].layout, implementation: plan.implementation)
        }
        return plan
    }

    /// oneDNN's plan for `key`: its choice of algorithm, or the direct one when that choice
    /// needs more scratch memory than `scratchpadLimit` and the direct one needs less.
    private static func makeOneDNNPlan(_ key: PlanKey, engine: dnnl_engine_t) -> Plan {
        let chosen = makePlan(key, engine: engine, algorithm: algorithm)
        guard let scratch = chosen.scratchpad?.bytes, scratch > scratchpadLimit else { return chosen }
        let direct = makePlan(key, engine: engine, algorithm: dnnl_convolution_direct)
        return (direct.scratchpad?.bytes ?? 0) < scratch ? direct : chosen
    }

    private static func makePlan(_ key: PlanKey, engine: dnnl_engine_t, algorithm: dnnl_alg_kind_t) -> Plan {
        let g = key.geometry
        let (o, groups) = (key.weight[0], g.groups)
        // Weights: OIHW, or GOIHW with O split into [G, O/G] for grouped convolutions.
        let weightDims = groups == 1 ? key.weight : [groups, o / groups] + key.weight[1...]
        let weightTag = groups == 1 ? dnnl_oihw : dnnl_goihw
        var x = memoryDesc(key.input, dnnl_format_tag_any)
        var w = memoryDesc(weightDims, dnnl_format_tag_any)
        var y = memoryDesc(key.output, dnnl_format_tag_any)
        var b = key.withBias ? memoryDesc([o], dnnl_a) : dnnl_memory_desc_t()
        let strides = [Int64(g.strideH), Int64(g.strideW)]
        let dilates = [Int64(g.dilationH - 1), Int64(g.dilationW - 1)]
        let padL = [Int64(g.padTop), Int64(g.padLeft)], padR = [Int64(g.padBottom), Int64(g.padRight)]

        var attr: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
              "dnnl_primitive_attr_set_scratchpad_mode")
        if let slope = key.activationSlope {
            precondition(key.kind == .forward, "DNNL: a fused activation belongs to a forward convolution")
            var postOps: dnnl_post_ops_t?
            check(dnnl_post_ops_create(&postOps), "dnnl_post_ops_create")
            defer { dnnl_post_ops_destroy(postOps) }
            check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, slope, 0), "dnnl_post_ops_append_eltwise")
            check(dnnl_primitive_attr_set_post_ops(attr, postOps), "dnnl_primitive_attr_set_post_ops")
        }

        // The forward descriptor is the primitive itself, or the hint for the backward ones.
        var fwd = dnnl_convolution_desc_t()
        check(dnnl_dilated_convolution_forward_desc_init(
            &fwd, dnnl_forward_training, algorithm, &x, &w, &b, &y, strides, dilates, padL, padR),
              "dnnl_dilated_convolution_forward_desc_init")
        var fwdPD: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&fwdPD, &fwd, attr, engine, nil), "dnnl_primitive_desc_create(fwd)")
        var pd = fwdPD!
        var descriptors = [pd]
        var bwd = dnnl_convolution_desc_t()
        switch key.kind {
        case .forward: break
        case .backwardData:
            check(dnnl_dilated_convolution_backward_data_desc_init(
                &bwd, algorithm, &x, &w, &y, strides, dilates, padL, padR),
                  "dnnl_dilated_convolution_backward_data_desc_init")
        case .backwardWeights:
            check(dnnl_dilated_convolution_backward_weights_desc_init(
                &bwd, algorithm, &x, &w, &b, &y, strides, dilates, padL, padR),
                  "dnnl_dilated_convolution_backward_weights_desc_init")
        }
        if key.kind != .forward {
            var bwdPD: dnnl_primitive_desc_t?
            check(dnnl_primitive_desc_create(&bwdPD, &bwd, attr, engine, pd),
                  "dnnl_primitive_desc_create(bwd)")
            pd = bwdPD!
            descriptors.append(pd)
        }

        typealias Spec = (dims: [Int], tag: dnnl_format_tag_t, query: dnnl_query_t, arg: Int32, isOutput: Bool)
        let specs: [Spec] = switch key.kind {
        case .forward: [(key.input, dnnl_nchw, dnnl_query_src_md, DNNL_ARG_SRC, false),
                        (weightDims, weightTag, dnnl_query_weights_md, DNNL_ARG_WEIGHTS, false),
                        (key.output, dnnl_nchw, dnnl_query_dst_md, DNNL_ARG_DST, true)]
        case .backwardData: [(key.input, dnnl_nchw, dnnl_query_diff_src_md, DNNL_ARG_DIFF_SRC, true),
                             (weightDims, weightTag, dnnl_query_weights_md, DNNL_ARG_WEIGHTS, false),
                             (key.output, dnnl_nchw, dnnl_query_diff_dst_md, DNNL_ARG_DIFF_DST, false)]
        case .backwardWeights: [(key.input, dnnl_nchw, dnnl_query_src_md, DNNL_ARG_SRC, false),
                                (weightDims, weightTag, dnnl_query_diff_weights_md, DNNL_ARG_DIFF_WEIGHTS, true),
                                (key.output, dnnl_nchw, dnnl_query_diff_dst_md, DNNL_ARG_DIFF_DST, false)]
        }
        let operands = specs.map { spec -> Operand in
            var user = memoryDesc(spec.dims, spec.tag)
            var chosen = dnnl_primitive_desc_query_md(pd, spec.query, 0)!.pointee
            let userMemory = memory(&user, engine)
            if dnnl_memory_desc_equal(&user, &chosen) != 0 {
                return Operand(arg: spec.arg, isOutput: spec.isOutput, user: userMemory, layout: nil)
            }
            return Operand(arg: spec.arg, isOutput: spec.isOutput, user: userMemory,
                           layout: BlockedLayout(chosen: chosen, plain: user, engine: engine))
        }

        let biasArg = key.kind == .forward ? DNNL_ARG_BIAS : DNNL_ARG_DIFF_BIAS
        let bias = key.withBias ? (biasArg, memory(&b, engine)) : nil
        var scratchMD = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee
        let scratchBytes = dnnl_memory_desc_get_size(&scratchMD)
        let scratchpad = scratchBytes > 0 ? (memory(&scratchMD, engine), scratchBytes) : nil

        var primitive: dnnl_primitive_t?
        check(dnnl_primitive_create(&primitive, pd), "dnnl_primitive_create(convolution)")
        var info: UnsafePointer<CChar>?
        check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info), "dnnl_primitive_desc_query")
        return Plan(primitive: primitive!, descriptors: descriptors, operands: operands, bias: bias,
                    scratchpad: scratchpad, implementation: info.map { String(cString: $0) } ?? "?")
    }

    /// A float32 memory descriptor with the given dimensions and format tag.
    private static func memoryDesc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims.map(Int64.init), dnnl_f32, tag),
              "dnnl_memory_desc_init_by_tag")
        return md
    }

    /// A memory object without a buffer; its data handle is set before each execution.
    private static func memory(_ md: inout dnnl_memory_desc_t, _ engine: dnnl_engine_t) -> dnnl_memory_t {
        var memory: dnnl_memory_t?
        check(dnnl_memory_create(&memory, &md, engine, nil), "dnnl_memory_create")
        return memory!
    }

    /// oneDNN takes non-const handles even for read-only inputs; it never writes through them.
    private static func raw(_ pointer: UnsafePointer<Float>) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(mutating: pointer)
    }

    /// Stops with the failing function's name and status unless `status` is `dnnl_success`.
    private static func check(_ status: dnnl_status_t, _ function: StaticString) {
        guard status != dnnl_success else { return }
        let names = ["success", "out_of_memory", "invalid_arguments", "unimplemented",
                     "iterator_ends", "runtime_error", "not_required"]
        let raw = Int(status.rawValue)
        preconditionFailure("oneDNN: \(function) failed with status \(raw < names.count ? names[raw] : "\(raw)")")
    }
}

/// A kernel of gfp's own that a `DNNL` plan runs instead of its oneDNN primitive, in the layouts
/// oneDNN chose: it reads one activation (x, or the output gradient) in its blocked layout and
/// the weights row-major, and writes the other activation in its blocked layout.
protocol OwnConvolutionKernel {
    /// How benchmarks and plan summaries name the kernel.
    var name: String { get }
    /// Whether the kernel reads the output gradient and writes the input gradient (otherwise it
    /// reads x and writes y).
    var readsOutputGradient: Bool { get }
    /// Bytes of 64-byte-aligned scratch memory `run` needs.
    var scratchBytes: Int { get }
    /// Computes the written activation from `input`, `weight` and `bias` into `output`.
    func run(input: UnsafeRawPointer, weight: UnsafeRawPointer, bias: UnsafeRawPointer?,
             output: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer)
}

extension WinogradConvolution: OwnConvolutionKernel {
    var name: String { Self.kernelName }
    var readsOutputGradient: Bool { pass == .backwardData }
}

extension SmallOutputConvolution: OwnConvolutionKernel {
    var name: String { Self.kernelName }
    var readsOutputGradient: Bool { false }
}

extension Stride2Convolution: OwnConvolutionKernel {
    var name: String { Self.kernelName }
    var readsOutputGradient: Bool { false }
}
