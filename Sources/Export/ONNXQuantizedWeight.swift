import Foundation
import ONNXProto
import QuantCore

/// A quantized linear weight as ONNX `DequantizeLinear` inputs (opset 21): the layer's own integer codes, scales and
/// zero points, laid out for `MatMul(x, W)` with `W: [inFeatures, outFeatures]`, so DequantizeLinear computes exactly
/// Quanta's `(q − zeroPoint) · scale` for every element.
///
/// | Quanta granularity          | DequantizeLinear on `[in, out]`                                  |
/// |-----------------------------|------------------------------------------------------------------|
/// | per tensor                  | scalar scale and zero point                                      |
/// | per output channel (axis 0) | `axis = 1`, scales `[out]`                                        |
/// | per input channel (axis 1)  | `axis = 0`, scales `[in]`                                         |
/// | groups of g along the input | `axis = 0`, `block_size = g`, scales `[⌈in / g⌉, out]` (ragged last block) |
///
/// Codes of 2 and 3 bits go into int4/uint4 (their range is a subset), 5 to 7 bits into int8/uint8. FP8 codes are
/// ONNX's FLOAT8E4M3FN/FLOAT8E5M2 bytes unchanged, with no zero point. OCP MX and float16/bfloat16 casts are refused
/// (`refusal`).
struct ONNXQuantizedWeight {
    var codes: Onnx_TensorProto
    var scale: Onnx_TensorProto
    /// Absent for float8 codes.
    var zeroPoint: Onnx_TensorProto?
    var axis: Int?
    var blockSize: Int?
    /// For reports: `uint4, groups of 32`.
    var kind: String
    /// Bytes of codes, scales and zero points.
    var byteCount: Int

    /// Why `scheme` has no exact DequantizeLinear form, or nil when it has one.
    static func refusal(_ scheme: QuantScheme) -> String? {
        let type = scheme.dataType
        guard ONNXTensorData.ElementType.codes(type) != nil else {
            return "\(type.rawValue) weights have no ONNX DequantizeLinear type here (the exporter writes integer "
                + "codes of 2 to 8 bits and FP8)"
        }
        switch scheme.granularity {
        case .perTensor, .perGroup: return nil
        case .perChannel: return scheme.axis <= 1 ? nil : "channel axis \(scheme.axis) of a 2-D weight"
        case .perToken, .perBlock: return "\(scheme.granularity.rawValue) is not a weight layout"
        }
    }

    /// The DequantizeLinear inputs of `stored` (shape `[out, in]`), named `<name>_quantized`, `<name>_scale`,
    /// `<name>_zero_point`.
    /// - Precondition: `refusal(stored.scheme) == nil`.
    init(_ stored: QuantizedTensor, name: String) throws(ExportError) {
        let scheme = stored.scheme
        precondition(Self.refusal(scheme) == nil && stored.shape.count == 2)
        let (rows, columns) = (stored.shape[0], stored.shape[1])  // [out, in]
        let type = scheme.dataType
        let elementType = ONNXTensorData.ElementType.codes(type)!
        let isFloat8 = !type.isInteger
        guard let parameters = stored.parameters,
            isFloat8
                ? stored.codes.count == rows * columns
                : stored.codes.count >= BitPacking.byteCount(count: rows * columns, bitWidth: type.bitWidth)
        else {
            throw .onnxInexpressible(
                point: name, morePoints: 0, what: "weight", reason: "its parameters or codes are missing")
        }
        let codes =
            isFloat8
            ? stored.codes.map { Int32($0) }
            : BitPacking.unpack(
                stored.codes, count: rows * columns, bitWidth: type.bitWidth, isSigned: !type.isUnsigned)
        var transposed = [Int32](repeating: 0, count: codes.count)
        for o in 0..<rows {
            for i in 0..<columns { transposed[i * rows + o] = codes[o * columns + i] }
        }
        let scales: [Float], zeroPoints: [Int32], parameterShape: [Int]
        switch parameters.granularity {
        case .perTensor:
            (scales, zeroPoints, parameterShape, axis, blockSize) = (
                parameters.scales, parameters.zeroPoints, [], nil, nil
            )
            kind = "\(elementType.name) per tensor"
        case .perChannel:
            // Quanta's axis 0 is the output channel, axis 1 MatMul's row of W.
            let onnxAxis = parameters.axis == 0 ? 1 : 0
            (scales, zeroPoints, parameterShape, axis, blockSize) = (
                parameters.scales, parameters.zeroPoints, [parameters.axis == 0 ? rows : columns], onnxAxis, nil
            )
            kind = "\(elementType.name) per \(parameters.axis == 0 ? "output" : "input") channel"
        case .perGroup:
            let groupSize = parameters.groupSize ?? columns
            let groups = (columns + groupSize - 1) / groupSize
            guard parameters.scales.count == rows * groups else {
                throw .onnxInexpressible(
                    point: name, morePoints: 0, what: "weight",
                    reason: "\(parameters.scales.count) group scales for \(rows) × \(groups) groups")
            }
            var s = [Float](repeating: 0, count: rows * groups)
            var z = [Int32](repeating: 0, count: rows * groups)
            for o in 0..<rows {
                for g in 0..<groups {
                    s[g * rows + o] = parameters.scales[o * groups + g]
                    z[g * rows + o] = parameters.zeroPoints[o * groups + g]
                }
            }
            (scales, zeroPoints, parameterShape, axis, blockSize) = (s, z, [groups, rows], 0, groupSize)
            kind = "\(elementType.name), groups of \(groupSize)"
        case .perToken, .perBlock:
            preconditionFailure("refused by refusal(_:)")
        }
        if isFloat8, let bad = zeroPoints.first(where: { $0 != 0 }) {
            throw .onnxInexpressible(
                point: name, morePoints: 0, what: "weight", reason: "FP8 zero point \(bad) (ONNX float8 has none)")
        }
        if !isFloat8, let bad = zeroPoints.first(where: { !elementType.range.contains($0) }) {
            throw .onnxInexpressible(
                point: name, morePoints: 0, what: "weight",
                reason: "zero point \(bad) is outside \(elementType.name)'s range")
        }
        if isFloat8 {
            self.codes = ONNXTensorData.bytes(
                name: name + "_quantized", shape: [columns, rows], codes: transposed.map { UInt8($0) },
                type: elementType)
            zeroPoint = nil
        } else {
            self.codes = ONNXTensorData.integers(
                name: name + "_quantized", shape: [columns, rows], codes: transposed, type: elementType)
            zeroPoint = ONNXTensorData.integers(
                name: name + "_zero_point", shape: parameterShape, codes: zeroPoints, type: elementType)
        }
        scale = ONNXTensorData.float(name: name + "_scale", shape: parameterShape, values: scales)
        byteCount = self.codes.rawData.count + scale.rawData.count + (zeroPoint?.rawData.count ?? 0)
    }

    /// Attributes of the DequantizeLinear node.
    var attributes: [ONNXGraphBuilder.Attribute] {
        var result: [ONNXGraphBuilder.Attribute] = []
        if let axis { result.append(.int("axis", axis)) }
        if let blockSize { result.append(.int("block_size", blockSize)) }
        return result
    }
}
