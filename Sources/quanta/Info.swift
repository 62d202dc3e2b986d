import ArgumentParser
import Foundation
import Pipeline

/// `quanta info`: what a model file holds.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a model's architecture, parameters and tokenizer.")

    @Argument(help: "Model: a GGUF file or a Hugging Face folder.") var model: String

    func run() throws {
        try reportingErrors {
            let loaded = try ModelLoader.load(model)
            let c = loaded.model.configuration
            print("model:      \(model)")
            print("source:     \(loaded.summary)")
            print("decoder:    llama, \(c.layerCount) layers, hidden \(c.hiddenSize), FFN \(c.intermediateSize), "
                + "\(c.attentionHeadCount) heads / \(c.keyValueHeadCount) KV heads × \(c.headDimension), RoPE θ \(c.ropeTheta)")
            print("parameters: \(loaded.model.parameterCount) (tied embeddings: \(c.tieWordEmbeddings))")
            if let tokenizer = loaded.tokenizer {
                print("tokenizer:  byte-level BPE, \(tokenizer.vocabularySize) tokens, \(tokenizer.mergeCount) merges")
            } else {
                print("tokenizer:  none")
            }
        }
    }
}
