import Foundation
import Inference
import TensorCore

/// Small synthetic Llama models for tests: hidden 32, 2 layers, 4 query heads over 2 KV heads, vocabulary 64.
public enum TinyLlama {
    /// The default tiny configuration (GQA, untied head unless asked).
    public static func configuration(tied: Bool = false, layers: Int = 2) -> LlamaConfiguration {
        // Constant, valid values: cannot throw.
        try! LlamaConfiguration(
            hiddenSize: 32, intermediateSize: 48, layerCount: layers, attentionHeadCount: 4, keyValueHeadCount: 2,
            vocabularySize: 64, rmsNormEpsilon: 1e-5, ropeTheta: 10_000, maxPositionEmbeddings: 256, tieWordEmbeddings: tied)
    }

    /// Seeded random weights under Hugging Face names.
    public static func tensors(_ c: LlamaConfiguration, seed: UInt64 = 1) -> [String: Tensor] {
        var rng = SplitMix64(seed: seed)
        func random(_ shape: [Int], scale: Float) -> Tensor {
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Fixtures.uniform(&rng) * scale })
        }
        func norm(_ width: Int) -> Tensor {
            Tensor(shape: [width], scalars: (0..<width).map { _ in 1 + 0.2 * Fixtures.uniform(&rng) })
        }
        let h = c.hiddenSize
        var result: [String: Tensor] = ["model.embed_tokens.weight": random([c.vocabularySize, h], scale: 1)]
        for layer in 0..<c.layerCount {
            let p = "model.layers.\(layer)"
            result["\(p).input_layernorm.weight"] = norm(h)
            result["\(p).post_attention_layernorm.weight"] = norm(h)
            result["\(p).self_attn.q_proj.weight"] = random([c.queryWidth, h], scale: 0.3)
            result["\(p).self_attn.k_proj.weight"] = random([c.keyValueWidth, h], scale: 0.3)
            result["\(p).self_attn.v_proj.weight"] = random([c.keyValueWidth, h], scale: 0.3)
            result["\(p).self_attn.o_proj.weight"] = random([h, c.queryWidth], scale: 0.3)
            result["\(p).mlp.gate_proj.weight"] = random([c.intermediateSize, h], scale: 0.3)
            result["\(p).mlp.up_proj.weight"] = random([c.intermediateSize, h], scale: 0.3)
            result["\(p).mlp.down_proj.weight"] = random([h, c.intermediateSize], scale: 0.3)
        }
        result["model.norm.weight"] = norm(h)
        if !c.tieWordEmbeddings { result["lm_head.weight"] = random([c.vocabularySize, h], scale: 0.5) }
        return result
    }

    /// A ready model.
    public static func model(tied: Bool = false, seed: UInt64 = 1) -> LlamaModel {
        let c = configuration(tied: tied)
        return try! LlamaModel(configuration: c, tensors: tensors(c, seed: seed))
    }
}

/// Deterministic test data.
public enum Fixtures {
    /// Uniform in [-1, 1).
    public static func uniform(_ rng: inout SplitMix64) -> Float {
        Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1
    }

    /// `count` seeded uniform values in [-scale, scale).
    public static func uniform(count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in uniform(&rng) * scale }
    }

    /// A fresh empty temporary directory.
    public static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "quanta-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Named tolerances and comparison helpers.
public enum Tolerance {
    /// Largest |a − b| over two equally long arrays.
    public static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
