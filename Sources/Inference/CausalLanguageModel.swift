import TensorCore

/// Anything that maps a token sequence to next-token logits: a float model, a quantized one (its layers carry their
/// quantizers), a packed one.
public protocol CausalLanguageModel: Sendable {
    /// Vocabulary size (width of a logits row).
    var vocabularySize: Int { get }
    /// Logits `[tokens.count, vocabularySize]` for a fresh sequence: row t predicts token t + 1.
    func logits(for tokens: [Int]) throws(ModelError) -> Tensor
}

extension LlamaModel: CausalLanguageModel {
    public var vocabularySize: Int { configuration.vocabularySize }

    public func logits(for tokens: [Int]) throws(ModelError) -> Tensor {
        var cache = makeCache(capacity: tokens.count)
        return try forward(tokens: tokens, cache: &cache, logits: .all)
    }
}
