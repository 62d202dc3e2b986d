import QuantCore

/// Fake-quantizes one activation tensor in the forward pass (a linear layer's input or output, a block's keys or
/// values): the scheme, with its calibrated parameters when the scheme is static.
///
/// It belongs to the layer it quantizes (`Linear.inputQuantizer`, `LlamaModel.Block.keyQuantizer`, ...), so every
/// runner of the model (evaluation, generation, benchmarks, the debugger) computes the same function.
public struct ActivationQuantizer: Sendable, Equatable {
    public var scheme: QuantScheme
    /// Calibrated parameters; nil for dynamic schemes, MX and float casts (computed from the data on every call).
    public var parameters: QuantParameters?

    public init(scheme: QuantScheme, parameters: QuantParameters? = nil) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// Rewrites `data: [rows, columns]` in place with its quantize-dequantize values.
    /// - Throws: `ModelError.activationQuantization` naming `place` (NaN or infinite activations, a width the
    ///   calibrated parameters do not fit).
    func apply(_ data: UnsafeMutablePointer<Float>, rows: Int, columns: Int, at place: @autoclosure () -> String) throws(ModelError) {
        do {
            try TensorQuantizer.fakeQuantizeRows(data, rows: rows, columns: columns, scheme: scheme, parameters: parameters)
        } catch {
            throw .activationQuantization(place: place(), reason: "\(error)")
        }
    }
}
