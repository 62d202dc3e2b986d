import TensorCore

/// A Llama-family decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU MLP) with float32 weights keyed by Hugging
/// Face names. Knows nothing about files: loaders hand it `[String: Tensor]`.
public struct LlamaModel: Sendable {
    /// One decoder block (`model.layers.N`).
    public struct Block: Sendable {
        public var inputNorm: Tensor
        public var queryProjection: Linear
        public var keyProjection: Linear
        public var valueProjection: Linear
        public var outputProjection: Linear
        public var postAttentionNorm: Tensor
        public var gateProjection: Linear
        public var upProjection: Linear
        public var downProjection: Linear
        /// Fake-quantize the block's new keys and values before they enter the KV cache.
        public var keyQuantizer: ActivationQuantizer? = nil
        public var valueQuantizer: ActivationQuantizer? = nil

        /// The block's linear layers in execution order.
        nonisolated(unsafe) public static let linearPaths: [WritableKeyPath<Block, Linear>] = [
            \.queryProjection, \.keyProjection, \.valueProjection, \.outputProjection, \.gateProjection, \.upProjection,
            \.downProjection,
        ]
    }

    /// Hyper-parameters; only `untieWordEmbeddings()` changes them after loading.
    public private(set) var configuration: LlamaConfiguration
    /// `[vocabularySize, hiddenSize]`. Reading it from a model whose table is packed (`packedEmbedding`) dequantizes
    /// the whole table; setting it makes the table float.
    public var embedding: Tensor {
        get {
            guard let packedEmbedding else { return floatEmbedding }
            return Tensor(shape: [packedEmbedding.outFeatures, packedEmbedding.inFeatures], scalars: packedEmbedding.dequantized())
        }
        set {
            floatEmbedding = newValue
            packedEmbedding = nil
        }
        _modify {
            if let packedEmbedding {
                floatEmbedding = Tensor(
                    shape: [packedEmbedding.outFeatures, packedEmbedding.inFeatures], scalars: packedEmbedding.dequantized())
                self.packedEmbedding = nil
            }
            yield &floatEmbedding
        }
    }
    /// The float embedding table; empty while the table is packed.
    var floatEmbedding: Tensor
    /// The embedding table as packed codes (a GGUF whose `token_embd` is quantized), nil for a float table. Lookups
    /// dequantize one row per token; a tied LM head computes from the same codes.
    public internal(set) var packedEmbedding: PackedWeight?
    public var blocks: [Block]
    /// `[hiddenSize]`.
    public var finalNorm: Tensor
    /// `[vocabularySize, hiddenSize]`; shares the embedding's storage when embeddings are tied.
    public var lmHead: Linear

    /// Builds the model from canonical tensors, checking that every expected weight is present with the right shape
    /// and finite, and that no unexpected weight is left over.
    /// - Throws: `ModelError.missingWeight`, `.shapeMismatch`, `.nonFiniteWeight`, `.unexpectedWeight`.
    /// - Parameters:
    ///   - packed: Weights already in packed form, by tensor name (`model.layers.0.mlp.up_proj.weight`,
    ///     `model.embed_tokens.weight`, `lm_head.weight`): those layers compute from the codes and no float copy is
    ///     made. A packed embedding with tied embeddings also serves as the LM head.
    public init(
        configuration c: LlamaConfiguration, tensors: [String: Tensor], packed: [String: PackedWeight] = [:]
    ) throws(ModelError) {
        try c.validate()
        configuration = c
        var remaining = tensors
        var remainingPacked = packed
        func takePacked(_ name: String, _ shape: [Int]) throws(ModelError) -> PackedWeight? {
            guard let weight = remainingPacked.removeValue(forKey: name) else { return nil }
            guard remaining[name] == nil else { throw .invalidInput("\(name) is given both packed and in float") }
            let found = [weight.outFeatures, weight.inFeatures]
            guard found == shape else { throw .shapeMismatch(name: name, expected: shape, found: found) }
            return weight
        }
        func take(_ name: String, _ shape: [Int]) throws(ModelError) -> Tensor {
            guard let tensor = remaining.removeValue(forKey: name) else { throw .missingWeight(name) }
            guard tensor.shape == shape else { throw .shapeMismatch(name: name, expected: shape, found: tensor.shape) }
            // One vectorized pass: 0.07 s over SmolLM2-135M's 134.5 M weights (2-core EPYC), half a scalar isFinite loop's.
            guard tensor.firstNonFiniteIndex() == nil else { throw .nonFiniteWeight(name) }
            return tensor
        }
        func linear(_ name: String, _ out: Int, _ inFeatures: Int) throws(ModelError) -> Linear {
            var bias: Tensor? = nil
            if remaining["\(name).bias"] != nil { bias = try take("\(name).bias", [out]) }
            if let weight = try takePacked("\(name).weight", [out, inFeatures]) {
                return Linear(packed: weight, bias: bias, name: name)
            }
            let weight = try take("\(name).weight", [out, inFeatures])
            return Linear(weight: weight, bias: bias, name: name)
        }
        let h = c.hiddenSize
        if let table = try takePacked("model.embed_tokens.weight", [c.vocabularySize, h]) {
            packedEmbedding = table
            floatEmbedding = Tensor(shape: [0, 0])
        } else {
            packedEmbedding = nil
            floatEmbedding = try take("model.embed_tokens.weight", [c.vocabularySize, h])
        }
        var blocks: [Block] = []
        for layer in 0..<c.layerCount {
            let p = "model.layers.\(layer)"
            blocks.append(Block(
                inputNorm: try take("\(p).input_layernorm.weight", [h]),
                queryProjection: try linear("\(p).self_attn.q_proj", c.queryWidth, h),
                keyProjection: try linear("\(p).self_attn.k_proj", c.keyValueWidth, h),
                valueProjection: try linear("\(p).self_attn.v_proj", c.keyValueWidth, h),
                outputProjection: try linear("\(p).self_attn.o_proj", h, c.queryWidth),
                postAttentionNorm: try take("\(p).post_attention_layernorm.weight", [h]),
                gateProjection: try linear("\(p).mlp.gate_proj", c.intermediateSize, h),
                upProjection: try linear("\(p).mlp.up_proj", c.intermediateSize, h),
                downProjection: try linear("\(p).mlp.down_proj", h, c.intermediateSize)))
        }
        self.blocks = blocks
        finalNorm = try take("model.norm.weight", [h])
        if remaining["lm_head.weight"] != nil || remainingPacked["lm_head.weight"] != nil {
            lmHead = try linear("lm_head", c.vocabularySize, h)
        } else if c.tieWordEmbeddings {
            lmHead = packedEmbedding.map { Linear(packed: $0, name: "lm_head") } ?? Linear(weight: floatEmbedding, name: "lm_head")
        } else {
            throw .missingWeight("lm_head.weight")
        }
        // Rotary inverse-frequency buffers carry no learned state; anything else left over is an error.
        for name in (Array(remaining.keys) + Array(remainingPacked.keys)).sorted() where !name.hasSuffix("rotary_emb.inv_freq") {
            throw .unexpectedWeight(name)
        }
    }

    /// Marks the LM head as a weight of its own (`tie_word_embeddings = false`), for transforms that change the head
    /// and the embedding differently (rotation folds the final norm into the head only). The head keeps its values;
    /// savers then write `lm_head.weight`.
    public mutating func untieWordEmbeddings() {
        configuration.tieWordEmbeddings = false
    }

    /// An empty KV cache sized for `capacity` positions.
    public func makeCache(capacity: Int = 512) -> KVCache {
        KVCache(layerCount: configuration.layerCount, width: configuration.keyValueWidth, capacity: capacity)
    }

    /// The LM head: the one linear outside the blocks.
    public var outerLinears: [Linear] { [lmHead] }

    /// Width of the residual stream.
    public var hiddenSize: Int { configuration.hiddenSize }

    /// Backs the weights (embedding, every linear, the LM head) with transparent huge pages where the system allows
    /// (`HugePages`): decode streams all of them once per token. Call before decoding; a mutation that copies a
    /// weight gives it fresh pages.
    /// - Returns: bytes now in collapsed huge pages.
    @discardableResult
    public func adviseHugePages() -> Int {
        // Packed codes are small and read in full per token anyway; only float tables are advised.
        HugePages.advise(
            (packedEmbedding == nil ? [floatEmbedding.storageRegion] : [])
                + linearLayers.filter { !$0.isPacked }.map(\.floatWeight.storageRegion))
    }

    /// Replaces the linear layer named `name` by `transform(layer)`.
    /// - Returns: false when no layer has that name.
    @discardableResult
    public mutating func updateLinear(_ name: String, _ transform: (inout Linear) throws -> Void) rethrows -> Bool {
        if lmHead.name == name {
            try transform(&lmHead)
            return true
        }
        for index in blocks.indices {
            for path in Block.linearPaths where blocks[index][keyPath: path].name == name {
                try transform(&blocks[index][keyPath: path])
                return true
            }
        }
        return false
    }

    /// Total parameter count (tied embeddings counted once).
    public var parameterCount: Int {
        var total = configuration.vocabularySize * hiddenSize + finalNorm.elementCount
        if !configuration.tieWordEmbeddings { total += lmHead.outFeatures * lmHead.inFeatures }
        for block in blocks {
            total += block.inputNorm.elementCount + block.postAttentionNorm.elementCount
            for path in Block.linearPaths {
                let layer = block[keyPath: path]
                total += layer.outFeatures * layer.inFeatures + (layer.bias?.elementCount ?? 0)
            }
        }
        return total
    }
}

extension LlamaModel.Block: TransformerBlock {}

extension LlamaModel: TransformerModel {}
