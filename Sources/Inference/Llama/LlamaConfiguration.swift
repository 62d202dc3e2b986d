/// Hyper-parameters of a Llama-family decoder, decoded from a Hugging Face `config.json` (keys as transformers'
/// `LlamaConfig` spells them) or filled from GGUF metadata.
public struct LlamaConfiguration: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var attentionHeadCount: Int
    public var keyValueHeadCount: Int
    public var headDimension: Int
    public var vocabularySize: Int
    public var rmsNormEpsilon: Float
    public var ropeTheta: Float
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers"
        case attentionHeadCount = "num_attention_heads"
        case keyValueHeadCount = "num_key_value_heads"
        case headDimension = "head_dim"
        case vocabularySize = "vocab_size"
        case rmsNormEpsilon = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings"
        case modelType = "model_type"
    }

    /// Model types whose config.json this decoder implements exactly.
    public static let supportedModelTypes: Set<String> = ["llama"]

    public init(
        hiddenSize: Int, intermediateSize: Int, layerCount: Int, attentionHeadCount: Int, keyValueHeadCount: Int,
        headDimension: Int? = nil, vocabularySize: Int, rmsNormEpsilon: Float = 1e-5, ropeTheta: Float = 10_000,
        maxPositionEmbeddings: Int = 2048, tieWordEmbeddings: Bool = false
    ) throws(ModelError) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.attentionHeadCount = attentionHeadCount
        self.keyValueHeadCount = keyValueHeadCount
        self.headDimension = headDimension ?? (attentionHeadCount > 0 ? hiddenSize / attentionHeadCount : 0)
        self.vocabularySize = vocabularySize
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        try validate()
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "llama"
        guard Self.supportedModelTypes.contains(modelType) else { throw ModelError.unsupportedArchitecture(modelType) }
        let hidden = try c.decode(Int.self, forKey: .hiddenSize)
        let heads = try c.decode(Int.self, forKey: .attentionHeadCount)
        try self.init(
            hiddenSize: hidden,
            intermediateSize: try c.decode(Int.self, forKey: .intermediateSize),
            layerCount: try c.decode(Int.self, forKey: .layerCount),
            attentionHeadCount: heads,
            keyValueHeadCount: try c.decodeIfPresent(Int.self, forKey: .keyValueHeadCount) ?? heads,
            headDimension: try c.decodeIfPresent(Int.self, forKey: .headDimension),
            vocabularySize: try c.decode(Int.self, forKey: .vocabularySize),
            rmsNormEpsilon: try c.decodeIfPresent(Float.self, forKey: .rmsNormEpsilon) ?? 1e-6,
            ropeTheta: try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10_000,
            maxPositionEmbeddings: try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048,
            tieWordEmbeddings: try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("llama", forKey: .modelType)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(attentionHeadCount, forKey: .attentionHeadCount)
        try c.encode(keyValueHeadCount, forKey: .keyValueHeadCount)
        try c.encode(headDimension, forKey: .headDimension)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(rmsNormEpsilon, forKey: .rmsNormEpsilon)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
    }

    /// Checks every field is positive and the head layout is consistent.
    public func validate() throws(ModelError) {
        let limits: [(String, Int, Int)] = [
            ("hidden_size", hiddenSize, 1 << 16), ("intermediate_size", intermediateSize, 1 << 18),
            ("num_hidden_layers", layerCount, 1024), ("num_attention_heads", attentionHeadCount, 1024),
            ("num_key_value_heads", keyValueHeadCount, 1024), ("head_dim", headDimension, 4096),
            ("vocab_size", vocabularySize, 1 << 22), ("max_position_embeddings", maxPositionEmbeddings, 1 << 24),
        ]
        for (name, value, limit) in limits where value <= 0 || value > limit {
            throw .invalidConfiguration("\(name) = \(value) is outside 1...\(limit)")
        }
        guard attentionHeadCount % keyValueHeadCount == 0 else {
            throw .invalidConfiguration("num_attention_heads \(attentionHeadCount) is not a multiple of num_key_value_heads \(keyValueHeadCount)")
        }
        guard headDimension % 2 == 0 else { throw .invalidConfiguration("head_dim \(headDimension) must be even for RoPE") }
        guard rmsNormEpsilon > 0, rmsNormEpsilon.isFinite, ropeTheta > 0, ropeTheta.isFinite else {
            throw .invalidConfiguration("rms_norm_eps \(rmsNormEpsilon) and rope_theta \(ropeTheta) must be positive")
        }
    }

    /// Query heads per key/value head.
    public var groupSize: Int { attentionHeadCount / keyValueHeadCount }
    /// Width of the concatenated query heads.
    public var queryWidth: Int { attentionHeadCount * headDimension }
    /// Width of the concatenated key (or value) heads.
    public var keyValueWidth: Int { keyValueHeadCount * headDimension }
}
