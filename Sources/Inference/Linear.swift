import TensorCore

/// A fully connected layer y = x·Wᵀ + b in float32. `weight: [outFeatures, inFeatures]`, `bias: [outFeatures]`.
public struct Linear: Sendable {
    /// `[outFeatures, inFeatures]`.
    public var weight: Tensor
    /// `[outFeatures]`, when the layer has one.
    public var bias: Tensor?
    /// Hugging Face module name (`model.layers.0.self_attn.q_proj`), as hooks and recipes see it.
    public var name: String

    public init(weight: Tensor, bias: Tensor? = nil, name: String = "") {
        precondition(weight.rank == 2)
        precondition(bias == nil || bias!.shape == [weight.shape[0]])
        self.weight = weight
        self.bias = bias
        self.name = name
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
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: rows * inFeatures)
        defer { copy.deallocate() }
        copy.initialize(from: input, count: rows * inFeatures)
        hooks.linearInput(name, copy, rows: rows, columns: inFeatures)
        forward(copy, rows: rows, into: output)
        hooks.linearOutput(name, output, rows: rows, columns: outFeatures)
    }

    /// Applies the layer to `rows` input rows. `input: [rows, inFeatures]`, `output: [rows, outFeatures]`.
    public func forward(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        let n = outFeatures, k = inFeatures
        weight.scalars.withUnsafeBufferPointer { w in
            BLAS.parallelMatmulTransposed(m: rows, n: n, k: k, a: input, lda: k, b: w.baseAddress!, ldb: k, c: output, ldc: n)
        }
        if let bias {
            bias.scalars.withUnsafeBufferPointer { b in
                for row in 0..<rows {
                    let y = output + row * n
                    for j in 0..<n { y[j] += b[j] }
                }
            }
        }
    }
}
