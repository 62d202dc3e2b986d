import TensorCore

/// A fully connected layer y = x·Wᵀ + b in float32. `weight: [outFeatures, inFeatures]`, `bias: [outFeatures]`.
public struct Linear: Sendable {
    /// `[outFeatures, inFeatures]`.
    public var weight: Tensor
    /// `[outFeatures]`, when the layer has one.
    public var bias: Tensor?
    /// Hugging Face module name (`model.layers.0.self_attn.q_proj`), as hooks and recipes see it.
    public var name: String
    /// An online rotation of the input (QuaRot's online Hadamard): when set, every forward path computes
    /// (x·Q)·Wᵀ + b on a copy of the input x, and hooks see x·Q, the input the product actually reads (what
    /// activation quantization must quantize). The weight is stored already rotated (W·Q), so the layer computes the
    /// same function as before the rotation. `inputTransform.dimension == inFeatures`.
    public var inputTransform: HadamardTransform? {
        didSet { precondition(inputTransform == nil || inputTransform!.dimension == inFeatures, "transform width") }
    }

    public init(weight: Tensor, bias: Tensor? = nil, name: String = "", inputTransform: HadamardTransform? = nil) {
        precondition(weight.rank == 2)
        precondition(bias == nil || bias!.shape == [weight.shape[0]])
        precondition(inputTransform == nil || inputTransform!.dimension == weight.shape[1])
        self.weight = weight
        self.bias = bias
        self.name = name
        self.inputTransform = inputTransform
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// Applies the layer with `hooks` seeing (and possibly rewriting) a private copy of the input and the output.
    public func forward(
        _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, hooks: (any ForwardHooks)?
    ) {
        guard let hooks else {
            forward(input, rows: rows, into: output)
            return
        }
        Self.withInputCopy(input, rows: rows, columns: inFeatures, transform: inputTransform) { copy in
            hooks.linearInput(name, copy, rows: rows, columns: inFeatures)
            product(copy, rows: rows, into: output)
        }
        hooks.linearOutput(name, output, rows: rows, columns: outFeatures)
    }

    /// Calls `body` with a private copy of `input` (`[rows, columns]`), rotated by `transform` when there is one.
    private static func withInputCopy(
        _ input: UnsafePointer<Float>, rows: Int, columns: Int, transform: HadamardTransform?,
        _ body: (UnsafeMutablePointer<Float>) -> Void
    ) {
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: rows * columns)
        defer { copy.deallocate() }
        copy.initialize(from: input, count: rows * columns)
        transform?.apply(rows: rows, copy)
        body(copy)
    }

    /// Applies several layers to the same input (q/k/v, gate/up). One decoded token without hooks runs them as one
    /// parallel matrix–vector pass (`GEMV.run`); otherwise each layer runs on its own.
    public static func forward(
        _ layers: [Linear], _ input: UnsafePointer<Float>, rows: Int, into outputs: [UnsafeMutablePointer<Float>],
        hooks: (any ForwardHooks)?
    ) {
        precondition(layers.count == outputs.count && layers.allSatisfy { $0.inFeatures == layers[0].inFeatures })
        guard rows == 1, hooks == nil else {
            for (layer, output) in zip(layers, outputs) { layer.forward(input, rows: rows, into: output, hooks: hooks) }
            return
        }
        let k = layers[0].inFeatures
        func fused(_ x: UnsafePointer<Float>) {
            withWeightPointers(layers) { weights in
                let jobs = zip(zip(weights, layers), outputs).map { GEMV.Job(weight: $0.0, rows: $0.1.outFeatures, output: $1) }
                GEMV.run(jobs, x: x, k: k)
            }
        }
        if layers.allSatisfy({ $0.inputTransform == nil }) {
            fused(input)
        } else if let transform = layers[0].inputTransform, layers.allSatisfy({ $0.inputTransform == transform }) {
            // One shared rotation: transform a copy once, then the fused pass as usual.
            withInputCopy(input, rows: 1, columns: k, transform: transform) { fused($0) }
        } else {
            for (layer, output) in zip(layers, outputs) { layer.forward(input, rows: rows, into: output) }
            return
        }
        for (layer, output) in zip(layers, outputs) { layer.addBias(output, rows: 1) }
    }

    /// Calls `body` with stable pointers to every layer's weights.
    private static func withWeightPointers(_ layers: [Linear], _ body: ([UnsafePointer<Float>]) -> Void) {
        func nest(_ index: Int, _ collected: [UnsafePointer<Float>]) {
            guard index < layers.count else { return body(collected) }
            layers[index].weight.scalars.withUnsafeBufferPointer { nest(index + 1, collected + [$0.baseAddress!]) }
        }
        nest(0, [])
    }

    /// Applies the layer to `rows` input rows (rotating a copy of them first when `inputTransform` is set).
    /// `input: [rows, inFeatures]`, `output: [rows, outFeatures]`.
    public func forward(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        guard let inputTransform else {
            product(input, rows: rows, into: output)
            return
        }
        Self.withInputCopy(input, rows: rows, columns: inFeatures, transform: inputTransform) { product($0, rows: rows, into: output) }
    }

    /// x·Wᵀ + b on the input as given (already transformed).
    @inline(__always)
    private func product(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        let n = outFeatures, k = inFeatures
        weight.scalars.withUnsafeBufferPointer { w in
            BLAS.parallelMatmulTransposed(m: rows, n: n, k: k, a: input, lda: k, b: w.baseAddress!, ldb: k, c: output, ldc: n)
        }
        addBias(output, rows: rows)
    }

    /// output[row] += b for each of `rows` output rows (nothing without a bias).
    @inline(__always)
    private func addBias(_ output: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias else { return }
        let n = outFeatures
        bias.scalars.withUnsafeBufferPointer { b in
            for row in 0..<rows {
                let y = output + row * n
                for j in 0..<n { y[j] += b[j] }
            }
        }
    }
}
