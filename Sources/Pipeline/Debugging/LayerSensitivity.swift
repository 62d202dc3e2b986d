import Analysis
import Foundation
import Inference
import TensorCore

/// Measured sensitivity: the float model with one layer quantized (its weight, and its input and output with the
/// recipe's schemes and the calibrated parameters of the full run), scored by KL(P_float ‖ P) of the final logits.
enum LayerSensitivity {
    /// KL by layer name, nats/token averaged over the batch's positions.
    static func measure(
        layers: [QuantizationPlan.LayerPlan], reference: LlamaModel, quantized: QuantizedModel, tokens: [Int],
        distribution: ReferenceDistribution, progress: (Int, Int) -> Void
    ) throws -> [String: Double] {
        let quantizedWeights = Dictionary(uniqueKeysWithValues: quantized.loaded.model.linearLayers.map { ($0.name, $0.weight) })
        var result: [String: Double] = [:]
        for (done, layer) in layers.enumerated() {
            var model = reference
            if layer.weight != nil {
                _ = model.updateLinear(layer.name) { $0.weight = quantizedWeights[layer.name]! }
            }
            let points = quantized.activations.points.filter { $0.key.layer == layer.name }
            let activations = ActivationQuantizer(points: points)
            var cache = model.makeCache(capacity: tokens.count)
            let logits = try model.forward(tokens: tokens, cache: &cache, logits: .all, hooks: points.isEmpty ? nil : activations)
            try activations.checkErrors()
            result[layer.name] = distribution.compare(logits).klDivergence
            progress(done + 1, layers.count)
        }
        return result
    }
}
