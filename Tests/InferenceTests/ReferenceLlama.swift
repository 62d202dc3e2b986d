import Foundation
import Inference
import TensorCore

/// A deliberately plain Llama forward pass (loops, doubles, no cache, no BLAS) to check the fast engine against.
enum ReferenceLlama {
    static func logits(_ model: LlamaModel, tokens: [Int]) -> [[Double]] {
        let c = model.configuration
        let T = tokens.count, H = c.hiddenSize, d = c.headDimension
        func linear(_ layer: Linear, _ x: [Double]) -> [Double] {
            (0..<layer.outFeatures).map { o in
                var sum = Double(layer.bias?.scalars[o] ?? 0)
                for i in 0..<layer.inFeatures { sum += Double(layer.weight.scalars[o * layer.inFeatures + i]) * x[i] }
                return sum
            }
        }
        func rms(_ x: [Double], _ w: Tensor) -> [Double] {
            let mean = x.map { $0 * $0 }.reduce(0, +) / Double(x.count)
            let scale = 1 / (mean + Double(c.rmsNormEpsilon)).squareRoot()
            return x.indices.map { x[$0] * scale * Double(w.scalars[$0]) }
        }
        func rope(_ v: inout [Double], heads: Int, position: Int) {
            for head in 0..<heads {
                for i in 0..<(d / 2) {
                    let angle = Double(position) * pow(Double(c.ropeTheta), -Double(2 * i) / Double(d))
                    let a = v[head * d + i], b = v[head * d + i + d / 2]
                    v[head * d + i] = a * cos(angle) - b * sin(angle)
                    v[head * d + i + d / 2] = b * cos(angle) + a * sin(angle)
                }
            }
        }
        var x = tokens.map { t in (0..<H).map { Double(model.embedding.scalars[t * H + $0]) } }
        for block in model.blocks {
            let normed = x.map { rms($0, block.inputNorm) }
            var q = normed.map { linear(block.queryProjection, $0) }
            var k = normed.map { linear(block.keyProjection, $0) }
            let v = normed.map { linear(block.valueProjection, $0) }
            for t in 0..<T {
                rope(&q[t], heads: c.attentionHeadCount, position: t)
                rope(&k[t], heads: c.keyValueHeadCount, position: t)
            }
            for t in 0..<T {
                var attended = [Double](repeating: 0, count: c.queryWidth)
                for head in 0..<c.attentionHeadCount {
                    let g = head / c.groupSize
                    var scores: [Double] = []
                    for s in 0...t {
                        var dot = 0.0
                        for j in 0..<d { dot += q[t][head * d + j] * k[s][g * d + j] }
                        scores.append(dot / Double(d).squareRoot())
                    }
                    let m = scores.max()!
                    scores = scores.map { exp($0 - m) }
                    let z = scores.reduce(0, +)
                    for s in 0...t {
                        for j in 0..<d { attended[head * d + j] += scores[s] / z * v[s][g * d + j] }
                    }
                }
                let o = linear(block.outputProjection, attended)
                for j in 0..<H { x[t][j] += o[j] }
                let n2 = rms(x[t], block.postAttentionNorm)
                let gate = linear(block.gateProjection, n2), up = linear(block.upProjection, n2)
                let act = gate.indices.map { gate[$0] / (1 + exp(-gate[$0])) * up[$0] }
                let down = linear(block.downProjection, act)
                for j in 0..<H { x[t][j] += down[j] }
            }
        }
        return x.map { linear(model.lmHead, rms($0, model.finalNorm)) }
    }
}
