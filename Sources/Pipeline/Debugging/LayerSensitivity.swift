import Analysis
import Foundation
import Inference
import Quantization
import TensorCore

/// Measured sensitivity: the float model with one layer quantized (the quantized model's layer: its weight, and its
/// input and output quantizers with the calibrated parameters of the full run), scored by KL(P_float ‖ P) of the final logits.
///
/// Blocks before the layer's own compute exactly what the float model computes, so each pass starts from the float
/// stream entering that block (kept once, `[blocks][T, hidden]`): on average half the blocks are skipped.
enum LayerSensitivity {
    /// KL by layer name, nats/token averaged over the batch's positions.
    static func measure(
        layers: [QuantizationPlan.LayerPlan], reference: LlamaModel, quantized: QuantizedModel, tokens: [Int],
        distribution: ReferenceDistribution, progress: (Int, Int) -> Void
    ) throws -> [String: Double] {
        let quantizedLayers = Dictionary(uniqueKeysWithValues: quantized.loaded.model.linearLayers.map { ($0.name, $0) })
        let blockOf = reference.blockIndexByLinear
        let blockInputs = try reference.blockInputs(tokens: tokens)
        var result: [String: Double] = [:]
        for (done, layer) in layers.enumerated() {
            // The float model with this one layer replaced by its quantized self (weight and quantizers).
            var model = reference
            model.updateLinear(layer.name) { $0 = quantizedLayers[layer.name]! }
            let logits: Tensor
            if let block = blockOf[layer.name] {
                logits = try model.forward(blockInput: blockInputs[block], fromBlock: block, logits: .all)
            } else {
                var cache = model.makeCache(capacity: tokens.count)
                logits = try model.forward(tokens: tokens, cache: &cache, logits: .all)
            }
            result[layer.name] = distribution.compare(logits).klDivergence
            progress(done + 1, layers.count)
        }
        return result
    }
}
