import Synchronization

/// How an operation turns the gradient of its output into gradients of its inputs.
///
/// - Parameters:
///   - gradient: the gradient of the loss with respect to the operation's output.
///   - output: the operation's output (with its own graph node, so that rules that use it stay
///     differentiable when gradients are built with `createGraph`). Only valid for operations
///     recorded with `savesOutput: true`.
///   - needed: for each input, whether its gradient is wanted.
/// - Returns: one gradient per input (in the input's shape), `nil` where not needed or not defined.
///
/// Rules are written with differentiable `Tensor` operations, so the gradients they return can
/// be differentiated again.
typealias BackwardRule = @Sendable (_ gradient: Tensor, _ output: Tensor, _ needed: [Bool]) -> [Tensor?]

/// A node of the define-by-run autograd graph: one per recorded operation, one per leaf.
final class GradientNode: Sendable {
    /// Graph nodes of the operation's inputs (`nil` for inputs that need no gradient).
    let inputs: [GradientNode?]
    /// Operation name, for diagnostics.
    let operation: String
    /// Shape of the output.
    let shape: [Int]
    /// Whether this is a leaf (a tensor made with `requiringGradient()`), which has no rule.
    let isLeaf: Bool
    /// The backward rule and the output's storage (kept when the rule needs the output); nil for
    /// leaves, and once a backward pass without `createGraph` has used them (see `release()`).
    private let saved: Mutex<Saved?>
    /// Gradient accumulated into a leaf by `backward()`.
    let accumulated = Mutex<Tensor?>(nil)

    struct Saved: Sendable {
        let rule: BackwardRule
        let output: TensorStorage?
    }

    init(operation: String, shape: [Int], inputs: [GradientNode?], rule: BackwardRule?, savedOutput: TensorStorage?) {
        self.operation = operation
        self.shape = shape
        self.inputs = inputs
        isLeaf = rule == nil
        saved = Mutex(rule.map { Saved(rule: $0, output: savedOutput) })
    }

    /// The rule and saved output; stops with a clear message when a backward pass already freed them.
    func savedForBackward() -> Saved {
        guard let saved = saved.withLock({ $0 }) else {
            preconditionFailure("backward through \(operation) a second time: the first backward pass freed the values it saved " +
                                "(differentiate with createGraph: true to go through a graph twice)")
        }
        return saved
    }

    /// Drops the rule, and with it the tensors it captured (the operation's inputs and output), as
    /// PyTorch does after a backward pass without `retain_graph`: activations are freed as soon as
    /// the backward pass is past them, not when the whole graph goes away.
    func release() { saved.withLock { $0 = nil } }
}

/// Whether operations record the autograd graph on the current task or thread.
enum GradientMode {
    @TaskLocal static var isEnabled = true
}

/// Runs `body` without recording autograd graphs (for inference and optimiser updates).
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientMode.$isEnabled.withValue(false, operation: body)
}

/// Whether autograd recording is on where this is called.
public var isRecordingGradients: Bool { GradientMode.isEnabled }

extension Tensor {
    /// Whether this tensor takes part in differentiation.
    public var requiresGradient: Bool { node != nil }

    /// This tensor as a new leaf of the autograd graph: gradients flow into it and stop there.
    public func requiringGradient() -> Tensor {
        Tensor(shape: shape, storage: storage,
               node: GradientNode(operation: "leaf", shape: shape, inputs: [], rule: nil, savedOutput: nil))
    }

    /// The same values cut from the autograd graph.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// The gradient accumulated into this leaf by `backward()`, or `nil`.
    public var gradient: Tensor? { node?.accumulated.withLock { $0 } }

    /// Forgets the gradient accumulated into this leaf.
    public func clearGradient() { node?.accumulated.withLock { $0 = nil } }

    /// Records `output` as the result of an operation on `inputs` when any input requires
    /// gradients and recording is on; otherwise returns `output` unchanged.
    static func record(
        _ operation: String, output: Tensor, inputs: [Tensor], savesOutput: Bool = false,
        rule: @escaping BackwardRule
    ) -> Tensor {
        guard GradientMode.isEnabled, inputs.contains(where: { $0.node != nil }) else { return output }
        let node = GradientNode(operation: operation, shape: output.shape, inputs: inputs.map(\.node),
                                rule: rule, savedOutput: savesOutput ? output.storage : nil)
        return Tensor(shape: output.shape, storage: output.storage, node: node)
    }

    /// Back-propagates from this tensor and adds the gradients into every leaf that requires them
    /// (read them with `gradient`). `seed` defaults to ones (so a scalar loss needs none).
    ///
    /// Each operation's saved values are freed as soon as the pass is past it, so the graph
    /// cannot be differentiated a second time (that stops with a message naming the operation);
    /// build the gradients with `gradients(of:with:createGraph: true)` to go through it twice.
    public func backward(seed: Tensor? = nil) {
        guard let root = node else {
            preconditionFailure("backward() on a tensor that does not require gradients")
        }
        let order = Tensor.topologicalOrder(from: root)
        let grads = Tensor.propagate(order: order, root: root, seed: seed ?? .ones(shape),
                                     relevant: nil, keep: [], createGraph: false)
        for node in order where node.isLeaf {
            guard let g = grads[ObjectIdentifier(node)] else { continue }
            node.accumulated.withLock { current in
                if current == nil { current = g.detached() } else { current!.addInPlace(g) }
            }
        }
    }

    /// Builds, in reverse topological order, the gradient of every node reachable from `root`.
    private static func propagate(
        order: [GradientNode], root: GradientNode, seed: Tensor, relevant: Set<ObjectIdentifier>?,
        keep: Set<ObjectIdentifier>, createGraph: Bool
    ) -> [ObjectIdentifier: Tensor] {
        precondition(seed.shape == root.shape, "gradient seed shape \(seed.shape) != output shape \(root.shape)")
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        GradientMode.$isEnabled.withValue(createGraph) {
            for node in order.reversed() {
                guard !node.isLeaf, let g = grads[ObjectIdentifier(node)] else { continue }
                let needed = node.inputs.map { input in
                    input.map { relevant?.contains(ObjectIdentifier($0)) ?? true } ?? false
                }
                guard needed.contains(true) else { continue }
                let saved = node.savedForBackward()
                let output = Tensor(shape: node.shape, storage: saved.output ?? TensorStorage(uninitializedCount: 0),
                                    node: node)
                let inputGrads = saved.rule(g, output, needed)
                // Without a graph of the gradients, nothing differentiates through this node again.
                if !createGraph { node.release() }
                for (index, input) in node.inputs.enumerated() where needed[index] {
                    guard let input, let ig = inputGrads[index] else { continue }
                    precondition(ig.shape == input.shape,
                                 "\(node.operation) backward produced \(ig.shape) for an input of shape \(input.shape)")
                    let key = ObjectIdentifier(input)
                    grads[key] = grads[key].map { $0 + ig } ?? ig
                }
                // Intermediate gradients are dropped as soon as they are used, to bound memory.
                if !keep.contains(ObjectIdentifier(node)) { grads[ObjectIdentifier(node)] = nil }
            }
        }
        return grads
    }

    /// Nodes reachable from `root`, parents before children (iterative depth-first search).
    private static func topologicalOrder(from root: GradientNode) -> [GradientNode] {
        var order: [GradientNode] = []
        var visited: Set<ObjectIdentifier> = [ObjectIdentifier(root)]
        var stack: [(GradientNode, Int)] = [(root, 0)]
        while let (node, next) = stack.popLast() {
            if next < node.inputs.count {
                stack.append((node, next + 1))
                if let input = node.inputs[next], visited.insert(ObjectIdentifier(input)).inserted {
                    stack.append((input, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }
}

/// The gradients of `output` with respect to each of `inputs`, without touching leaf gradients.
///
/// - Parameters:
///   - output: the tensor to differentiate (any shape; `seed` weights its elements).
///   - inputs: tensors that require gradients and that `output` was computed from.
///   - seed: the vector of the vector-Jacobian product; ones by default.
///   - createGraph: when `true`, the returned gradients are themselves recorded and can be
///     differentiated again (R1 and path-length penalties need this), and the graph keeps its
///     saved values; when `false`, the pass frees them as `backward()` does.
/// - Returns: one gradient per input, in its shape; zeros for inputs `output` does not depend on.
public func gradients(of output: Tensor, with inputs: [Tensor], seed: Tensor? = nil,
                      createGraph: Bool = false) -> [Tensor] {
    Tensor.gradients(of: output, with: inputs, seed: seed, createGraph: createGraph)
}

extension Tensor {
    static func gradients(of output: Tensor, with inputs: [Tensor], seed: Tensor?, createGraph: Bool) -> [Tensor] {
        guard let root = output.node else {
            preconditionFailure("gradients(of:with:) of a tensor that does not require gradients")
        }
        for input in inputs where input.node == nil {
            preconditionFailure("gradients(of:with:) with respect to a tensor of shape \(input.shape) that does not require gradients")
        }
        let order = topologicalOrder(from: root)
        // Only nodes on a path from the root to a requested input need gradients.
        let targets = Set(inputs.map { ObjectIdentifier($0.node!) })
        var relevant = Set<ObjectIdentifier>()
        for node in order {   // parents come first
            let id = ObjectIdentifier(node)
            if targets.contains(id) || node.inputs.contains(where: { $0.map { relevant.contains(ObjectIdentifier($0)) } ?? false }) {
                relevant.insert(id)
            }
        }
        let grads = propagate(order: order, root: root, seed: seed ?? .ones(output.shape),
                              relevant: relevant, keep: targets, createGraph: createGraph)
        return inputs.map { grads[ObjectIdentifier($0.node!)] ?? .zeros($0.shape) }
    }
}
