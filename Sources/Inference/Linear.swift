import QuantCore
import TensorCore

/// A fully connected layer y = x·Wᵀ + b, `weight: [outFeatures, inFeatures]`, `bias: [outFeatures]`, that owns its
/// quantization: the stored codes behind its weight and the quantizers of its input and output. A quantized layer is
/// still a layer: every runner computes the same function with nothing else to pass.
public struct Linear: Sendable {
    /// `[outFeatures, inFeatures]`: the values the product reads (for a quantized layer, its dequantized codes).
    /// Changing it drops `quantizedWeight`, which would no longer describe it, and packed storage: the layer is then
    /// float. Reading it from a packed layer dequantizes the codes (a new tensor on every read: algorithms and the
    /// debugger, which need float weights, run on unpacked models).
    public var weight: Tensor {
        get {
            guard let packedWeight else { return floatWeight }
            return Tensor(shape: [packedWeight.outFeatures, packedWeight.inFeatures], scalars: packedWeight.dequantized())
        }
        set {
            floatWeight = newValue
            packedWeight = nil
            quantizedWeight = nil
        }
        _modify {
            if let packedWeight {
                floatWeight = Tensor(shape: [packedWeight.outFeatures, packedWeight.inFeatures], scalars: packedWeight.dequantized())
                self.packedWeight = nil
            }
            quantizedWeight = nil
            yield &floatWeight
        }
    }
    /// The float weight of a float layer; empty (`[0, 0]`) while the layer is packed.
    var floatWeight: Tensor
    /// The codes the product reads when the layer is packed (`Linear+Packed.swift`); nil for float storage.
    public internal(set) var packedWeight: PackedWeight?
    /// The stored codes and parameters that `weight` dequantizes from; nil for a float layer (and for a layer loaded
    /// straight into packed storage, whose codes are `packedWeight`).
    public internal(set) var quantizedWeight: QuantizedTensor?
    /// Fake-quantizes the input (after `inputTransform`) before the product.
    public var inputQuantizer: ActivationQuantizer?
    /// Fake-quantizes the output after the product and bias.
    public var outputQuantizer: ActivationQuantizer?
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
        self.floatWeight = weight
        self.bias = bias
        self.name = name
        self.inputTransform = inputTransform
    }

    public var inFeatures: Int { packedWeight?.inFeatures ?? floatWeight.shape[1] }
    public var outFeatures: Int { packedWeight?.outFeatures ?? floatWeight.shape[0] }
    /// `[outFeatures, inFeatures]`, without reading (or dequantizing) the weight.
    public var weightShape: [Int] { [outFeatures, inFeatures] }

    /// Whether the layer quantizes its input or output.
    public var quantizesActivations: Bool { inputQuantizer != nil || outputQuantizer != nil }

    /// Makes `quantized` the layer's weight: its dequantized values become `weight`, its codes `quantizedWeight`.
    /// - Throws: `QuantError.shapeMismatch` when its shape is not the layer's, and what dequantization throws.
    public mutating func setQuantizedWeight(_ quantized: QuantizedTensor) throws(QuantError) {
        guard quantized.shape == weightShape else {
            throw .shapeMismatch("\(name): quantized weight \(quantized.shape), layer \(weightShape)")
        }
        try setQuantizedWeight(quantized, dequantized: quantized.dequantized())
    }

    /// Makes `quantized` the layer's weight when its dequantized values are already at hand (`dequantized` must be
    /// exactly `quantized.dequantized()`; GPTQ returns both).
    public mutating func setQuantizedWeight(_ quantized: QuantizedTensor, dequantized: Tensor) {
        precondition(quantized.shape == weightShape && dequantized.shape == weightShape)
        weight = dequantized
        quantizedWeight = quantized
    }

    /// Applies the layer: the online input transform and input quantizer on a private copy of the input, the
    /// product, then the output quantizer; `hooks` observe the input before and after quantization and the output.
    /// - Throws: `ModelError.activationQuantization` naming the layer.
    public func forward(
        _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, hooks: (any ForwardHooks)?
    ) throws(ModelError) {
        guard hooks != nil || quantizesActivations else {
            forward(input, rows: rows, into: output)
            return
        }
        if hooks == nil, let packedWeight, let activation = packedInputActivation {
            // The kernel quantizes the input itself (int8 codes, scales in the epilogue): no fake-quantized copy.
            if let inputTransform {
                Self.withInputCopy(input, rows: rows, columns: inFeatures, transform: inputTransform) {
                    PackedMatmul.run(packedWeight, activation: activation, input: $0, rows: rows, output: output)
                }
            } else {
                PackedMatmul.run(packedWeight, activation: activation, input: input, rows: rows, output: output)
            }
            addBias(output, rows: rows)
            if let outputQuantizer {
                try outputQuantizer.apply(output, rows: rows, columns: outFeatures, at: "\(name).output")
            }
            return
        }
        try Self.withInputCopy(input, rows: rows, columns: inFeatures, transform: inputTransform) { (copy) throws(ModelError) in
            hooks?.linearInput(name, copy, rows: rows, columns: inFeatures)
            if let inputQuantizer {
                try inputQuantizer.apply(copy, rows: rows, columns: inFeatures, at: "\(name).input")
            }
            hooks?.linearProductInput(name, copy, rows: rows, columns: inFeatures)
            product(copy, rows: rows, into: output)
        }
        hooks?.linearOutput(name, output, rows: rows, columns: outFeatures)
        if let outputQuantizer {
            try outputQuantizer.apply(output, rows: rows, columns: outFeatures, at: "\(name).output")
        }
    }

    /// Calls `body` with a private copy of `input` (`[rows, columns]`), rotated by `transform` when there is one.
    static func withInputCopy<E: Error>(
        _ input: UnsafePointer<Float>, rows: Int, columns: Int, transform: HadamardTransform?,
        _ body: (UnsafeMutablePointer<Float>) throws(E) -> Void
    ) throws(E) {
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: rows * columns)
        defer { copy.deallocate() }
        copy.initialize(from: input, count: rows * columns)
        transform?.apply(rows: rows, copy)
        try body(copy)
    }

    /// Applies several layers to the same input (q/k/v, gate/up). One decoded token without hooks or activation
    /// quantizers runs them as one parallel matrix–vector pass (`GEMV.run`), packed layers whose kernels apply their
    /// input quantizer as one pass over all their panels (`PackedMatmul.runMany`); otherwise each layer runs on its own.
    /// - Throws: `ModelError.activationQuantization` naming the layer.
    public static func forward(
        _ layers: [Linear], _ input: UnsafePointer<Float>, rows: Int, into outputs: [UnsafeMutablePointer<Float>],
        hooks: (any ForwardHooks)?
    ) throws(ModelError) {
        precondition(layers.count == outputs.count && layers.allSatisfy { $0.inFeatures == layers[0].inFeatures })
        if hooks == nil, let activation = layers[0].packedInputActivation,
            layers.allSatisfy({
                $0.packedWeight != nil && $0.packedInputActivation == activation && $0.inputTransform == nil
                    && $0.outputQuantizer == nil
            })
        {
            // Packed layers whose kernels apply their input quantizer: one pass over all their panels.
            PackedMatmul.runMany(layers.map { $0.packedWeight! }, activation: activation, input: input, rows: rows, outputs: outputs)
            for (layer, output) in zip(layers, outputs) { layer.addBias(output, rows: rows) }
            return
        }
        guard rows == 1, hooks == nil, !layers.contains(where: { $0.quantizesActivations || $0.packedWeight != nil }) else {
            for (layer, output) in zip(layers, outputs) { try layer.forward(input, rows: rows, into: output, hooks: hooks) }
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
            layers[index].floatWeight.scalars.withUnsafeBufferPointer { nest(index + 1, collected + [$0.baseAddress!]) }
        }
        nest(0, [])
    }

    /// The product alone (x·Q)·Wᵀ + b on `rows` input rows, rotating a copy first when `inputTransform` is set; no
    /// activation quantization. `input: [rows, inFeatures]`, `output: [rows, outFeatures]`.
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
        if let packedWeight {
            // Float activations (a quantized input arrives here already fake-quantized).
            PackedMatmul.run(packedWeight, activation: .float, input: input, rows: rows, output: output)
            addBias(output, rows: rows)
            return
        }
        floatWeight.scalars.withUnsafeBufferPointer { w in
            BLAS.parallelMatmulTransposed(m: rows, n: n, k: k, a: input, lda: k, b: w.baseAddress!, ldb: k, c: output, ldc: n)
        }
        addBias(output, rows: rows)
    }

    /// output[row] += b for each of `rows` output rows (nothing without a bias).
    @inline(__always)
    func addBias(_ output: UnsafeMutablePointer<Float>, rows: Int) {
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
