import Inference
import QuantCore

extension LlamaModel {
    /// Every activation quantizer the model's layers carry, by point (linear inputs and outputs, KV cache).
    public var activationQuantizers: [QuantizationPoint: ActivationQuantizer] {
        var points: [QuantizationPoint: ActivationQuantizer] = [:]
        for linear in linearLayers {
            if let q = linear.inputQuantizer { points[QuantizationPoint(layer: linear.name, kind: .input)] = q }
            if let q = linear.outputQuantizer { points[QuantizationPoint(layer: linear.name, kind: .output)] = q }
        }
        for (index, block) in blocks.enumerated() {
            if let q = block.keyQuantizer { points[.keyValue(index, .keys)] = q }
            if let q = block.valueQuantizer { points[.keyValue(index, .values)] = q }
        }
        return points
    }

    /// Gives each point's layer (or block, for the KV cache) its quantizer.
    /// - Throws: `QuantizationError.invalidInput` for a point that names no layer or block of this model.
    public mutating func installActivationQuantizers(_ quantizers: [QuantizationPoint: ActivationQuantizer]) throws {
        for (point, quantizer) in quantizers.sorted(by: { $0.key < $1.key }) {
            let found: Bool
            switch point.kind {
            case .input: found = updateLinear(point.layer) { $0.inputQuantizer = quantizer }
            case .output: found = updateLinear(point.layer) { $0.outputQuantizer = quantizer }
            case .keys, .values:
                let index = blocks.indices.first { QuantizationPoint.keyValue($0, point.kind) == point }
                if let index {
                    if point.kind == .keys { blocks[index].keyQuantizer = quantizer } else { blocks[index].valueQuantizer = quantizer }
                }
                found = index != nil
            }
            guard found else { throw QuantizationError.invalidInput("activation quantizer for '\(point)': the model has no such layer") }
        }
    }

    /// The stored codes of every quantized linear weight, by layer name.
    public var quantizedWeights: [String: QuantizedTensor] {
        var weights: [String: QuantizedTensor] = [:]
        for linear in linearLayers { if let q = linear.quantizedWeight { weights[linear.name] = q } }
        return weights
    }
}
