import Foundation
import Inference
import TensorCore

/// A second architecture behind `TransformerModel`, to show the seam: a tiny BERT-style encoder block with pre-norm
/// LayerNorms that have biases, bidirectional (unmasked) multi-head attention with biased projections, and a GELU MLP.
/// Plain loops: it is a test fixture, not an engine.
public struct TinyEncoder: TransformerModel {
    public struct Block: TransformerBlock {
        public var attentionNorm: Tensor
        public var attentionNormBias: Tensor
        public var query: Linear
        public var key: Linear
        public var value: Linear
        public var output: Linear
        public var mlpNorm: Tensor
        public var mlpNormBias: Tensor
        public var intermediate: Linear
        public var mlpOutput: Linear

        nonisolated(unsafe) public static let linearPaths: [WritableKeyPath<Block, Linear>] = [
            \.query, \.key, \.value, \.output, \.intermediate, \.mlpOutput,
        ]
    }

    public let hiddenSize: Int
    public let headCount: Int
    public let intermediateSize: Int
    /// `[vocabularySize, hiddenSize]`.
    public var embedding: Tensor
    public var blocks: [Block]
    public var outerLinears: [Linear] { [] }
    static let epsilon: Float = 1e-5

    /// Seeded random weights: hidden 24, 3 heads of 8, intermediate 40, vocabulary 50.
    public init(seed: UInt64 = 3, layers: Int = 2, hiddenSize: Int = 24, headCount: Int = 3, intermediateSize: Int = 40) {
        var rng = SplitMix64(seed: seed)
        func random(_ shape: [Int], scale: Float) -> Tensor {
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Fixtures.uniform(&rng) * scale })
        }
        func linear(_ name: String, _ out: Int, _ inFeatures: Int) -> Linear {
            Linear(weight: random([out, inFeatures], scale: 0.4), bias: random([out], scale: 0.1), name: name)
        }
        func norm(_ width: Int) -> Tensor { Tensor(shape: [width], scalars: (0..<width).map { _ in 1 + 0.3 * Fixtures.uniform(&rng) }) }
        self.hiddenSize = hiddenSize
        self.headCount = headCount
        self.intermediateSize = intermediateSize
        embedding = random([50, hiddenSize], scale: 1)
        blocks = (0..<layers).map { index in
            let p = "encoder.layer.\(index)"
            return Block(
                attentionNorm: norm(hiddenSize), attentionNormBias: random([hiddenSize], scale: 0.2),
                query: linear("\(p).attention.self.query", hiddenSize, hiddenSize),
                key: linear("\(p).attention.self.key", hiddenSize, hiddenSize),
                value: linear("\(p).attention.self.value", hiddenSize, hiddenSize),
                output: linear("\(p).attention.output.dense", hiddenSize, hiddenSize),
                mlpNorm: norm(hiddenSize), mlpNormBias: random([hiddenSize], scale: 0.2),
                intermediate: linear("\(p).intermediate.dense", intermediateSize, hiddenSize),
                mlpOutput: linear("\(p).output.dense", hiddenSize, intermediateSize))
        }
    }

    public var scaleGroups: [ScaleGroup<Block>] {
        [
            ScaleGroup(name: "attention_norm→q/k/v", producer: .norm(\.attentionNorm, bias: \.attentionNormBias),
                       consumers: [\.query, \.key, \.value], channelCount: hiddenSize, consumerWidth: hiddenSize,
                       attentionScoreConsumers: [\.query, \.key]),
            ScaleGroup(name: "value→output", producer: .linear(\.value), consumers: [\.output],
                       channelCount: hiddenSize, consumerWidth: hiddenSize),
            ScaleGroup(name: "mlp_norm→intermediate", producer: .norm(\.mlpNorm, bias: \.mlpNormBias),
                       consumers: [\.intermediate], channelCount: hiddenSize, consumerWidth: hiddenSize),
        ]
    }

    public func embed(_ tokens: [Int]) throws(ModelError) -> [Float] {
        guard !tokens.isEmpty else { throw .invalidInput("no tokens to run") }
        let vocabulary = embedding.shape[0]
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw .invalidInput("token id \(bad) outside the vocabulary 0..<\(vocabulary)")
        }
        return tokens.flatMap { embedding.scalars[($0 * hiddenSize)..<(($0 + 1) * hiddenSize)] }
    }

    public func forwardBlock(_ index: Int, hiddenStates x: inout [Float], hooks: (any ForwardHooks)?) throws(ModelError) {
        guard blocks.indices.contains(index), !x.isEmpty, x.count % hiddenSize == 0 else {
            throw .invalidInput("block \(index) of \(blocks.count) on \(x.count) values")
        }
        let b = blocks[index], T = x.count / hiddenSize, H = hiddenSize
        func run(_ layer: Linear, _ input: [Float]) throws(ModelError) -> [Float] {
            var out = [Float](repeating: 0, count: T * layer.outFeatures)
            try input.withUnsafeBufferPointer { (i) throws(ModelError) in
                try out.withUnsafeMutableBufferPointer { (o) throws(ModelError) in
                    try layer.forward(i.baseAddress!, rows: T, into: o.baseAddress!, hooks: hooks)
                }
            }
            return out
        }
        let h = Self.layerNorm(x, weight: b.attentionNorm, bias: b.attentionNormBias, width: H)
        let q = try run(b.query, h), k = try run(b.key, h), v = try run(b.value, h)
        let attended = Self.attention(q: q, k: k, v: v, tokens: T, heads: headCount, width: H)
        let o = try run(b.output, attended)
        for i in x.indices { x[i] += o[i] }
        var u = try run(b.intermediate, Self.layerNorm(x, weight: b.mlpNorm, bias: b.mlpNormBias, width: H))
        for i in u.indices { u[i] = Self.gelu(u[i]) }
        let d = try run(b.mlpOutput, u)
        for i in x.indices { x[i] += d[i] }
    }

    /// The hidden states after every block, `[T, hiddenSize]`.
    public func encode(_ tokens: [Int]) throws -> [Float] {
        var x = try embed(tokens)
        for index in blocks.indices { try forwardBlock(index, hiddenStates: &x, hooks: nil) }
        return x
    }

    static func layerNorm(_ x: [Float], weight: Tensor, bias: Tensor, width: Int) -> [Float] {
        var out = x
        for row in 0..<(x.count / width) {
            let slice = x[(row * width)..<((row + 1) * width)]
            let mean = slice.reduce(0, +) / Float(width)
            let variance = slice.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(width)
            let inverse = 1 / (variance + epsilon).squareRoot()
            for j in 0..<width {
                out[row * width + j] = (x[row * width + j] - mean) * inverse * weight.scalars[j] + bias.scalars[j]
            }
        }
        return out
    }

    /// Every position attends to every position (no causal mask), per head.
    static func attention(q: [Float], k: [Float], v: [Float], tokens T: Int, heads: Int, width: Int) -> [Float] {
        let d = width / heads, scale = 1 / Float(d).squareRoot()
        var out = [Float](repeating: 0, count: T * width)
        for head in 0..<heads {
            for i in 0..<T {
                var scores = (0..<T).map { j in
                    (0..<d).reduce(Float(0)) { $0 + q[i * width + head * d + $1] * k[j * width + head * d + $1] } * scale
                }
                let top = scores.max()!
                scores = scores.map { Foundation.exp($0 - top) }
                let total = scores.reduce(0, +)
                for j in 0..<T {
                    for c in 0..<d { out[i * width + head * d + c] += scores[j] / total * v[j * width + head * d + c] }
                }
            }
        }
        return out
    }

    /// GELU, tanh form (Hendrycks & Gimpel 2016, eq. in §2).
    static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + Foundation.tanh(0.797_884_56 * (x + 0.044_715 * x * x * x)))
    }
}
