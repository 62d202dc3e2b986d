import TensorCore

/// Anything that maps a token sequence to next-token logits: the float model, a fake-quantized one, a packed one.
public protocol CausalLanguageModel: Sendable {
    /// Vocabulary size (width of a logits row).
    var vocabularySize: Int { get }
    /// Logits `[tokens.count, vocabularySize]` for a fresh sequence: row t predicts token t + 1.
    func logits(for tokens: [Int]) throws(ModelError) -> Tensor
}

/// A Llama model run with hooks on every forward pass (fake-quantized activations, KV-cache quantization).
public struct HookedLlamaModel: CausalLanguageModel, @unchecked Sendable {
    public let model: LlamaModel
    public let hooks: any ForwardHooks

    public init(model: LlamaModel, hooks: any ForwardHooks) {
        self.model = model
        self.hooks = hooks
    }

    public var vocabularySize: Int { model.configuration.vocabularySize }

    public func logits(for tokens: [Int]) throws(ModelError) -> Tensor {
        var cache = model.makeCache(capacity: tokens.count)
        return try model.forward(tokens: tokens, cache: &cache, logits: .all, hooks: hooks)
    }
}

extension LlamaModel: CausalLanguageModel {
    public var vocabularySize: Int { configuration.vocabularySize }

    public func logits(for tokens: [Int]) throws(ModelError) -> Tensor {
        var cache = makeCache(capacity: tokens.count)
        return try forward(tokens: tokens, cache: &cache, logits: .all)
    }
}
