import Foundation
import Inference
import QuantCore

/// An activation quantizer (a linear's input or output, a block's new keys or values) as ONNX nodes on a tensor
/// `[batch, sequence, features]`, computing what `ActivationQuantizer.apply` computes on `[tokens, features]`.
///
/// - Static (calibrated) integer scales of 4 or 8 bits, and FP8 scales, become a QuantizeLinear → DequantizeLinear
///   pair, per tensor (scalar scale) or per feature (`axis = 2`). QuantizeLinear rounds x / scale half to even and
///   saturates to the type's range (float8: to ±max finite, Quanta's SAT mode), as Quanta's grid does; the zero
///   point is the calibrated one (float8: +0).
/// - Dynamic per-token integer schemes have no single ONNX operator (DynamicQuantizeLinear is uint8 per tensor), so
///   they are written as the formula itself with standard operators: the row's range from ReduceMin/ReduceMax (each
///   widened to include 0), scale = range / steps clamped below by `QuantParameters.scaleEpsilon` (Cast through
///   float16 when the scheme stores float16 scales), the zero point for asymmetric schemes, then
///   round(clamp(x · (1 / scale), qmin − zp, qmax − zp)) · scale with Round (half to even), Max/Min and Mul:
///   `AffineGrid.parameters` and `AffineKernels.fakeQuantize` step for step.
///
/// Everything else is refused (`refusal`): dynamic FP8, MX and float-cast activations, rounding other than half to even,
/// power-of-two scales, narrow-range or 2/3-bit static codes (QuantizeLinear saturates to the whole type), per-group
/// or per-row static parameters (calibrated for one token count), and dynamic scales that are not per token (a
/// per-tensor scale would mix the sequences of a batch).
enum ONNXActivationQuantization {
    /// Why `quantizer` cannot be written, or nil.
    static func refusal(_ quantizer: ActivationQuantizer) -> String? {
        let scheme = quantizer.scheme
        let type = scheme.dataType
        let isFloat8 = ONNXTensorData.ElementType.float8(type) != nil
        guard type.isInteger || isFloat8 else { return "\(type.rawValue) activations have no exact ONNX form here" }
        guard scheme.rounding == .halfToEven else {
            return "rounding \(scheme.rounding.rawValue) (ONNX rounds half to even)"
        }
        guard scheme.scaleType != .powerOfTwo else { return "power-of-two scales" }
        if scheme.isDynamic || quantizer.parameters == nil {
            guard !isFloat8 else { return "dynamic \(type.rawValue) scales (only integer dynamic scales are written)" }
            guard scheme.granularity == .perToken else {
                return "dynamic \(scheme.granularity.rawValue) scales (only per-token dynamic scales are written)"
            }
            return nil
        }
        guard isFloat8 || type.bitWidth == 4 || type.bitWidth == 8, !scheme.isNarrowRange else {
            return "static \(type.rawValue)\(scheme.isNarrowRange ? " narrow-range" : "") codes "
                + "(QuantizeLinear saturates to the full int4/int8 range)"
        }
        let parameters = quantizer.parameters!
        switch parameters.granularity {
        case .perTensor: return nil
        case .perChannel where parameters.axis == parameters.shape.count - 1 && parameters.shape.count >= 1:
            return nil
        default:
            return "static \(parameters.granularity.rawValue) parameters along axis \(parameters.axis)"
        }
    }

    /// Adds the nodes quantizing `input` (`[batch, sequence, features]`) and returns the fake-quantized output.
    /// - Precondition: `refusal(quantizer) == nil`.
    static func apply(
        _ quantizer: ActivationQuantizer, to input: String, name: String, graph g: inout ONNXGraphBuilder
    ) -> String {
        precondition(refusal(quantizer) == nil)
        let scheme = quantizer.scheme
        let type = scheme.dataType
        guard let parameters = quantizer.parameters, !scheme.isDynamic else {
            return dynamicPerToken(scheme, input: input, scope: name, graph: &g)
        }
        let elementType = ONNXTensorData.ElementType.codes(type)!
        let shape = parameters.granularity == .perTensor ? [] : [parameters.scales.count]
        let scale = name + "_scale", zeroPoint = name + "_zero_point"
        g.addInitializer(ONNXTensorData.float(name: scale, shape: shape, values: parameters.scales))
        // The zero point's type is QuantizeLinear's output type; for float8 it is +0 (code 0x00).
        g.addInitializer(
            type.isInteger
                ? ONNXTensorData.integers(
                    name: zeroPoint, shape: shape, codes: parameters.zeroPoints, type: elementType)
                : ONNXTensorData.bytes(
                    name: zeroPoint, shape: shape, codes: [UInt8](repeating: 0, count: parameters.scales.count),
                    type: elementType))
        let attributes: [ONNXGraphBuilder.Attribute] = shape.isEmpty ? [] : [.int("axis", 2)]
        let quantized = g.op("QuantizeLinear", [input, scale, zeroPoint], scope: name, attributes: attributes)
        return g.op("DequantizeLinear", [quantized, scale, zeroPoint], scope: name, attributes: attributes)
    }

    /// Per-token dynamic fake quantization with standard operators (see the type's comment).
    static func dynamicPerToken(_ scheme: QuantScheme, input x: String, scope: String, graph g: inout ONNXGraphBuilder)
        -> String
    {
        let (qmin, qmax) = scheme.integerRange
        let lastAxis = g.int64s([-1])
        let zero = g.float(0)
        let high = g.op(
            "Max", [g.op("ReduceMax", [x, lastAxis], scope: scope, attributes: [.int("keepdims", 1)]), zero],
            scope: scope)
        let low = g.op(
            "Min", [g.op("ReduceMin", [x, lastAxis], scope: scope, attributes: [.int("keepdims", 1)]), zero],
            scope: scope)
        func stored(_ raw: String) -> String {
            let clamped = g.op("Max", [raw, g.float(QuantParameters.scaleEpsilon)], scope: scope)
            guard scheme.scaleType == .float16 else { return clamped }
            let half = g.op("Cast", [clamped], scope: scope, attributes: [.int("to", 10)])
            return g.op("Cast", [half], scope: scope, attributes: [.int("to", 1)])
        }
        let scale: String, lower: String, upper: String
        if scheme.isSymmetric {
            // max(−low, high) / ((qmax − qmin) / 2); the zero point is 0, or the middle code for unsigned types.
            let magnitude = g.op("Max", [g.op("Neg", [low], scope: scope), high], scope: scope)
            scale = stored(g.op("Div", [magnitude, g.float(Float(qmax - qmin) / 2)], scope: scope))
            let zeroPoint = scheme.dataType.isUnsigned ? (qmin + qmax + 1) / 2 : 0
            lower = g.float(Float(qmin - zeroPoint))
            upper = g.float(Float(qmax - zeroPoint))
        } else {
            let range = g.op("Sub", [high, low], scope: scope)
            scale = stored(g.op("Div", [range, g.float(Float(qmax - qmin))], scope: scope))
            // zp = clamp(qmin − round(low / scale), qmin, qmax); then the clamp bounds qmin − zp and qmax − zp.
            let shift = g.op("Round", [g.op("Div", [low, scale], scope: scope)], scope: scope)
            let unclamped = g.op("Sub", [g.float(Float(qmin)), shift], scope: scope)
            let zeroPoint = g.op(
                "Min", [g.op("Max", [unclamped, g.float(Float(qmin))], scope: scope), g.float(Float(qmax))],
                scope: scope)
            lower = g.op("Sub", [g.float(Float(qmin)), zeroPoint], scope: scope)
            upper = g.op("Sub", [g.float(Float(qmax)), zeroPoint], scope: scope)
        }
        let inverse = g.op("Reciprocal", [scale], scope: scope)
        let scaled = g.op("Mul", [x, inverse], scope: scope)
        let clamped = g.op("Min", [g.op("Max", [scaled, lower], scope: scope), upper], scope: scope)
        return g.op("Mul", [g.op("Round", [clamped], scope: scope), scale], scope: scope)
    }
}
