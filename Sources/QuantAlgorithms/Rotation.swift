import Inference
import QuantCore
import TensorCore

/// QuaRot-style rotation (Ashkboos et al. 2024, §4.1–4.2): an exact equivalence transform of a Llama model that
/// rotates the residual stream by a randomized Hadamard matrix Q and, optionally, the input of every `down_proj` by a
/// second one H applied online. Rotated activations have their outlier channels spread over all channels, so they and
/// the weights quantize with less error; the float model computes the same function (up to float rounding).
///
/// Steps, all in place on a float model (rows are activations, a linear computes x·Wᵀ + b):
/// 1. RMSNorm weights g fold into the columns of the linears they feed (`input_layernorm` → q/k/v,
///    `post_attention_layernorm` → gate/up, final norm → `lm_head`): W ← W·diag(g), g ← 1. RMSNorm without a weight
///    commutes with an orthogonal Q, since ‖x·Q‖ = ‖x‖.
/// 2. A tied LM head is untied: after folding and rotation it differs from the embedding (`tie_word_embeddings`
///    becomes false, and the saved model carries `lm_head.weight`).
/// 3. The residual stream becomes h·Q: embedding E ← E·Q; linears reading it (q, k, v, gate, up, lm_head) W ← W·Q;
///    linears writing it (o_proj, down_proj) W ← Qᵀ·W and b ← b·Q.
/// 4. With `onlineDownProjection`, `down_proj` gets W ← W·H and `inputTransform = H`, so the layer rotates its input
///    at run time (QuaRot's online Hadamard before `down_proj`, Fig. 4).
/// 5. With `rotateValues`, every value head is rotated by a Hadamard matrix P of order head_dim and `o_proj` undoes it
///    (QuaRot's offline per-head Hadamard, §4.2): `v_proj` rows of head k W_k ← Pᵀ·W_k (b_k ← b_k·P), `o_proj`
///    columns of every query head W[:, h] ← W[:, h]·P. Attention mixes value rows linearly per head, so each head's
///    output arrives at `o_proj` times P, and the same P for every head keeps grouped-query attention exact. Weights
///    only, nothing online: `o_proj`'s input (and a quantized value cache) lose their per-head outlier channels.
///
/// Departures from the paper: no online rotation of keys/queries after RoPE; the online H is randomized like Q
/// (QuaRot uses a plain Hadamard there), which is also orthogonal and keeps the transform exact. Topology comes from
/// `LlamaModel.Block`'s fields, never from names.
public struct Rotation: Sendable {
    public struct Configuration: Codable, Sendable, Equatable {
        /// Seed of Q's signs; H's signs use `seed &+ 1`.
        public var seed: UInt64 = 0
        /// Whether `down_proj` gets an online Hadamard over its input (intermediate size).
        public var onlineDownProjection = true
        /// Whether value heads and `o_proj`'s input are rotated per head (head_dim order, signs from `seed &+ 2`).
        public var rotateValues = true

        enum CodingKeys: String, CodingKey, CaseIterable {
            case seed
            case onlineDownProjection = "online_down_projection"
            case rotateValues = "rotate_values"
        }

        public init(seed: UInt64 = 0, onlineDownProjection: Bool = true, rotateValues: Bool = true) {
            self.seed = seed
            self.onlineDownProjection = onlineDownProjection
            self.rotateValues = rotateValues
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
            onlineDownProjection = try c.decodeIfPresent(Bool.self, forKey: .onlineDownProjection) ?? true
            rotateValues = try c.decodeIfPresent(Bool.self, forKey: .rotateValues) ?? true
        }
    }

    /// What `apply` did, for printing and reports.
    public struct Report: Codable, Sendable, Equatable, CustomStringConvertible {
        /// Order of the residual rotation Q (hidden size) and of its Paley factor.
        public var hiddenSize: Int
        public var hiddenBaseSize: Int
        /// Order of the online rotation H (intermediate size) and of its Paley factor; nil without one.
        public var onlineSize: Int?
        public var onlineBaseSize: Int?
        /// Order of the per-head value rotation P (head_dim); nil without one.
        public var valueHeadSize: Int?
        public var seed: UInt64
        /// Whether the LM head was tied to the embedding and is now a separate weight.
        public var untiedLMHead: Bool
        /// RMSNorm weight vectors folded into linears (2 per block + the final norm).
        public var foldedNorms: Int
        /// Linear layers whose weights were rotated.
        public var rotatedLinears: Int
        /// Layers that now rotate their input online (their names).
        public var onlineTransformLayers: [String]

        public var description: String {
            var text =
                "rotation: residual stream Q of order \(hiddenSize) (Hadamard \(hiddenBaseSize)×\(hiddenSize / hiddenBaseSize)), seed \(seed); "
            text += "\(foldedNorms) norms folded, \(rotatedLinears) linears rotated"
            if let onlineSize, let onlineBaseSize {
                text +=
                    "; online Hadamard of order \(onlineSize) (\(onlineBaseSize)×\(onlineSize / onlineBaseSize)) on \(onlineTransformLayers.count) down_proj inputs"
            }
            if let valueHeadSize { text += "; values and o_proj inputs rotated per head (order \(valueHeadSize))" }
            if untiedLMHead { text += "; lm_head untied from the embedding" }
            return text
        }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Rotates `model` in place (see the type's documentation). Its float logits stay the same up to rounding.
    /// - Throws: `QuantError.invalidConfiguration` when no Hadamard matrix of the hidden (or intermediate) size exists
    ///   in this build, or when a `down_proj` already has an online transform (the model was rotated before).
    public func apply(to model: inout LlamaModel) throws(QuantError) -> Report {
        let c = model.configuration
        let q = try Self.hadamard(order: c.hiddenSize, seed: configuration.seed, what: "hidden_size")
        var online: HadamardTransform? = nil
        if configuration.onlineDownProjection {
            online = try Self.hadamard(
                order: c.intermediateSize, seed: configuration.seed &+ 1, what: "intermediate_size")
        }
        var perHead: HadamardTransform? = nil
        if configuration.rotateValues {
            perHead = try Self.hadamard(order: c.headDimension, seed: configuration.seed &+ 2, what: "head_dim")
        }
        if let rotated = model.blocks.first(where: { $0.downProjection.inputTransform != nil }) {
            throw .invalidConfiguration(
                field: "rotation",
                reason: "\(rotated.downProjection.name) already rotates its input online; the model was rotated before")
        }
        let untie = c.tieWordEmbeddings
        if untie { model.untieWordEmbeddings() }

        var rotatedLinears = 0
        var onlineLayers: [String] = []
        Self.rotateRows(&model.embedding, q)
        for index in model.blocks.indices {
            var block = model.blocks[index]
            for path in [\LlamaModel.Block.queryProjection, \.keyProjection, \.valueProjection] {
                Self.scaleColumns(&block[keyPath: path].weight, block.inputNorm)
                Self.rotateRows(&block[keyPath: path].weight, q)
            }
            block.inputNorm = Tensor(shape: block.inputNorm.shape, repeating: 1)
            for path in [\LlamaModel.Block.gateProjection, \.upProjection] {
                Self.scaleColumns(&block[keyPath: path].weight, block.postAttentionNorm)
                Self.rotateRows(&block[keyPath: path].weight, q)
            }
            block.postAttentionNorm = Tensor(shape: block.postAttentionNorm.shape, repeating: 1)
            for path in [\LlamaModel.Block.outputProjection, \.downProjection] {
                Self.rotateOutput(&block[keyPath: path], q)
            }
            if let perHead {
                Self.rotateHeadOutputs(&block.valueProjection, perHead)
                Self.rotateRows(&block.outputProjection.weight, perHead)  // rows of o_proj as head_dim chunks
            }
            if let online {
                Self.rotateRows(&block.downProjection.weight, online)
                block.downProjection.inputTransform = online
                onlineLayers.append(block.downProjection.name)
            }
            rotatedLinears += 7
            model.blocks[index] = block
        }
        Self.scaleColumns(&model.lmHead.weight, model.finalNorm)
        Self.rotateRows(&model.lmHead.weight, q)
        model.finalNorm = Tensor(shape: model.finalNorm.shape, repeating: 1)
        rotatedLinears += 1
        return Report(
            hiddenSize: q.dimension, hiddenBaseSize: q.baseSize, onlineSize: online?.dimension,
            onlineBaseSize: online?.baseSize, valueHeadSize: perHead?.dimension,
            seed: configuration.seed, untiedLMHead: untie, foldedNorms: 2 * model.blocks.count + 1,
            rotatedLinears: rotatedLinears, onlineTransformLayers: onlineLayers)
    }

    static func hadamard(order: Int, seed: UInt64, what: String) throws(QuantError) -> HadamardTransform {
        do {
            return try HadamardTransform(dimension: order, seed: seed)
        } catch {
            throw .invalidConfiguration(field: "rotation", reason: "\(what) \(order): \(error)")
        }
    }

    /// W ← W·diag(g): `weight: [out, n]`, `g: [n]`.
    static func scaleColumns(_ weight: inout Tensor, _ g: Tensor) {
        let n = weight.shape[1]
        precondition(g.shape == [n])
        let rows = weight.shape[0]
        g.scalars.withUnsafeBufferPointer { g in
            weight.scalars.withUnsafeMutableBufferPointer { w in
                for row in 0..<rows {
                    for j in 0..<n { w[row * n + j] *= g[j] }
                }
            }
        }
    }

    /// W ← W·Q for `weight: [rows, n]` (every row times Q). With Q of order d dividing n, every d-column block of W
    /// is multiplied by Q (the rows are taken as chunks of d).
    static func rotateRows(_ weight: inout Tensor, _ q: HadamardTransform) {
        precondition(weight.elementCount % q.dimension == 0)
        weight.scalars.withUnsafeMutableBufferPointer { q.apply(rows: $0.count / q.dimension, $0.baseAddress!) }
    }

    /// A linear producing heads of `q.dimension` outputs: per head k, W_k ← Qᵀ·W_k and b_k ← b_k·Q, computed as
    /// (Wᵀ, rows taken as head-sized chunks, times Q)ᵀ.
    static func rotateHeadOutputs(_ linear: inout Linear, _ q: HadamardTransform) {
        var transposed = transpose(linear.weight)
        rotateRows(&transposed, q)
        linear.weight = transpose(transposed)
        if var bias = linear.bias {
            rotateRows(&bias, q)
            linear.bias = bias
        }
    }

    /// A linear writing the residual stream: W ← Qᵀ·W (`weight: [n, in]`), b ← b·Q (its output as one head).
    static func rotateOutput(_ linear: inout Linear, _ q: HadamardTransform) {
        precondition(linear.weight.shape[0] == q.dimension)
        rotateHeadOutputs(&linear, q)
    }

    static func transpose(_ x: Tensor) -> Tensor {
        let (rows, columns) = (x.shape[0], x.shape[1])
        var result = [Float](repeating: 0, count: rows * columns)
        x.scalars.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { target in
                for r in 0..<rows {
                    for c in 0..<columns { target[c * rows + r] = source[r * columns + c] }
                }
            }
        }
        return Tensor(shape: [columns, rows], scalars: result)
    }
}

extension Rotation: ModelTransforming {
    public func transform(_ model: inout LlamaModel) throws -> String {
        "rotation: \(try apply(to: &model))"
    }
}
