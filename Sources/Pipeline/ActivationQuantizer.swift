import Inference
import QuantCore
import TensorCore

/// The scheme at one quantization point, with its calibrated parameters when static.
public struct PointQuantizer: Sendable, Equatable {
    public var scheme: QuantScheme
    /// Calibrated parameters; nil for dynamic schemes, MX and float casts (computed from the data).
    public var parameters: QuantParameters?
}

/// Fake-quantizes activations in the forward pass: each linear's input and output and each block's keys and values,
/// as the plan and calibration decided. Errors (NaN activations) are kept and rethrown after the pass.
public final class ActivationQuantizer: PointHooks, @unchecked Sendable {
    public let points: [QuantizationPoint: PointQuantizer]
    private var firstError: (any Error)?

    public init(points: [QuantizationPoint: PointQuantizer]) {
        self.points = points
    }

    /// Throws (and clears) the first error met since the last call.
    public func checkErrors() throws {
        if let error = firstError {
            firstError = nil
            throw error
        }
    }

    public func visit(_ point: QuantizationPoint, _ data: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        guard let quantizer = points[point], firstError == nil else { return }
        do {
            try TensorQuantizer.fakeQuantizeRows(data, rows: rows, columns: columns, scheme: quantizer.scheme, parameters: quantizer.parameters)
        } catch {
            firstError = error
        }
    }
}

/// A weight-quantized model whose activations go through an `ActivationQuantizer`.
public struct QuantizedLanguageModel: CausalLanguageModel, @unchecked Sendable {
    public let model: LlamaModel
    public let activations: ActivationQuantizer?

    public var vocabularySize: Int { model.configuration.vocabularySize }

    public func logits(for tokens: [Int]) throws(ModelError) -> TensorCore.Tensor {
        var cache = model.makeCache(capacity: tokens.count)
        let logits = try model.forward(tokens: tokens, cache: &cache, logits: .all, hooks: activations)
        do {
            try activations?.checkErrors()
        } catch {
            throw .invalidInput("activation quantization failed: \(error)")
        }
        return logits
    }
}
