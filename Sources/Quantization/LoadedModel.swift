import Foundation
import Inference
import ModelFormats
import Tokenization

/// A model ready to run: the decoder, its tokenizer and chat template, and where it came from.
public struct LoadedModel: Sendable {
    /// The path it was loaded from.
    public let path: String
    /// The decoder; a saved quantized model's layers carry their quantization.
    public var model: LlamaModel
    /// The tokenizer, when the source has one.
    public let tokenizer: ByteLevelBPETokenizer?
    /// The Jinja chat template text, when the source has one.
    public let chatTemplate: String?
    /// One line for humans: format and stored types.
    public let summary: String
    /// How the source's weights were already quantized (`GGUF Q4_1 tensors`), nil for float weights: quantizing such a
    /// model again adds a second rounding to the first.
    public let quantizedSource: String?

    public init(
        path: String, model: LlamaModel, tokenizer: ByteLevelBPETokenizer?, chatTemplate: String?, summary: String,
        quantizedSource: String? = nil
    ) {
        self.quantizedSource = quantizedSource
        self.path = path
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.summary = summary
    }

    /// The tokenizer, or `QuantizationError.missingTokenizer`.
    public func requireTokenizer() throws(QuantizationError) -> ByteLevelBPETokenizer {
        guard let tokenizer else { throw .missingTokenizer(path: path) }
        return tokenizer
    }
}
