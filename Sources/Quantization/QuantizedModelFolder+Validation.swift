import Foundation
import Inference
import ModelFormats
import QuantCore
import TensorCore

/// The checks that make a saved folder as trustworthy as a downloaded model: every field of `quantization.json`
/// against the tensors it describes. Each failure is `QuantizationError.invalidSavedLayer` naming the layer (or
/// activation point) and the field.
extension QuantizedModelFolder {
    /// Checks a layer description's own fields (before any tensor is read).
    static func validateDescription(_ layer: LayerDescription, name: String, path: String) throws {
        func fail(_ field: String, _ reason: String) -> QuantizationError {
            .invalidSavedLayer(path: path, layer: name, field: field, reason: reason)
        }
        guard layer.shape.count == 2, layer.shape.allSatisfy({ $0 > 0 }) else {
            throw fail("shape", "a linear weight is [outFeatures, inFeatures] with both > 0, got \(layer.shape)")
        }
        guard !layer.shape[0].multipliedReportingOverflow(by: layer.shape[1]).overflow else {
            throw fail("shape", "element count of \(layer.shape) overflows")
        }
        guard let point = layer.weight else { return }
        let scheme = point.scheme
        do { try scheme.validate() } catch { throw fail("weight.scheme", "\(error)") }
        let type = scheme.dataType
        if type.isMicroscaling || type.isFloatCast {
            guard point.parameters == nil else {
                throw fail("weight.parameters", "\(type.rawValue) stores no scales or zero points, but parameters are given")
            }
            return
        }
        guard let layout = point.parameters else {
            throw fail("weight.parameters", "\(type.rawValue) needs scales (and zero points), but none are described")
        }
        try validateLayout(layout, scheme: scheme, shape: layer.shape, field: "weight.parameters", fail: fail)
    }

    /// Checks a parameter layout against the scheme it belongs to and the tensor shape it covers.
    static func validateLayout(
        _ layout: ParameterLayoutDescription, scheme: QuantScheme, shape: [Int]?, field: String,
        fail: (String, String) -> QuantizationError
    ) throws {
        guard layout.granularity == scheme.granularity else {
            throw fail("\(field).granularity", "\(layout.granularity.rawValue), but the scheme says \(scheme.granularity.rawValue)")
        }
        guard layout.groupSize == scheme.groupSize else {
            throw fail(
                "\(field).group_size",
                "\(layout.groupSize.map(String.init) ?? "none"), but the scheme says \(scheme.groupSize.map(String.init) ?? "none")")
        }
        if let groupSize = layout.groupSize, groupSize <= 0 {
            throw fail("\(field).group_size", "must be > 0, got \(groupSize)")
        }
        if layout.granularity == .perChannel, layout.axis != scheme.axis || layout.axis >= layout.shape.count {
            throw fail("\(field).axis", "\(layout.axis) for shape \(layout.shape) (the scheme says \(scheme.axis))")
        }
        if let shape, layout.shape != shape {
            throw fail("\(field).shape", "\(layout.shape), but the layer's shape is \(shape)")
        }
        guard layout.shape.allSatisfy({ $0 >= 0 }), layout.shape.count <= 8 else {
            throw fail("\(field).shape", "not a tensor shape: \(layout.shape)")
        }
    }

    /// Scale and zero-point slots a layout has.
    static func parameterCount(_ layout: ParameterLayoutDescription) -> Int? {
        var elementCount = 1
        for d in layout.shape {
            let (p, overflow) = elementCount.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            elementCount = p
        }
        let columns = layout.shape.last ?? 1
        let rows = columns == 0 ? 0 : elementCount / columns
        switch layout.granularity {
        case .perTensor: return 1
        case .perChannel: return layout.axis < layout.shape.count ? layout.shape[layout.axis] : nil
        case .perToken: return rows
        case .perGroup:
            guard let groupSize = layout.groupSize, groupSize > 0 else { return nil }
            return rows * ((columns + groupSize - 1) / groupSize)
        case .perBlock: return nil
        }
    }

    /// Reads and checks the scales and zero points of `prefix` (`L.weight`, or an activation point's name).
    /// - Throws: `QuantizationError.invalidSavedLayer` for a missing tensor, a wrong dtype or count, a scale that is
    ///   not finite and positive, or a zero point outside the scheme's code range.
    static func checkedParameters(
        _ layout: ParameterLayoutDescription, scheme: QuantScheme, prefix: String, layer: String,
        file: SafetensorsFile, path: String
    ) throws -> QuantParameters {
        func fail(_ field: String, _ reason: String) -> QuantizationError {
            .invalidSavedLayer(path: path, layer: layer, field: field, reason: reason)
        }
        // "L.weight" → "weight"; an activation point "L.input" → "input".
        let suffix = prefix.split(separator: ".").last.map(String.init) ?? prefix
        let scaleField = "\(suffix)_scale", zeroField = "\(suffix)_zero_point"
        guard let expected = parameterCount(layout) else {
            throw fail("\(suffix) parameters", "layout \(layout.granularity.rawValue) for shape \(layout.shape) has no slot count")
        }
        func info(_ name: String, field: String, type: ElementType) throws -> SafetensorsFile.TensorInfo {
            guard file.contains(name) else { throw fail(field, "tensor \(name) is missing from model.safetensors") }
            let info = try file.info(name)
            guard info.elementType == type else {
                throw fail(field, "\(name) is \(info.elementType.safetensorsName), expected \(type.safetensorsName)")
            }
            guard info.elementCount == expected else {
                throw fail(field, "\(info.elementCount) values, but \(layout.granularity.rawValue) over \(layout.shape) needs \(expected)")
            }
            return info
        }
        _ = try info("\(prefix)_scale", field: scaleField, type: .float32)
        _ = try info("\(prefix)_zero_point", field: zeroField, type: .int32)
        let scales = try file.tensor("\(prefix)_scale").scalars
        if let bad = scales.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
            throw fail(scaleField, "scale \(scales[bad]) at index \(bad) is not finite and positive")
        }
        let zeroBytes = try file.rawBytes("\(prefix)_zero_point")
        let zeroPoints = (0..<expected).map { Int32(littleEndian: zeroBytes.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        let range: (minimum: Int, maximum: Int) = scheme.dataType.isInteger ? scheme.integerRange : (0, 0)
        if let bad = zeroPoints.firstIndex(where: { Int($0) < range.minimum || Int($0) > range.maximum }) {
            throw fail(zeroField, "zero point \(zeroPoints[bad]) at index \(bad) is outside \(scheme.dataType.rawValue)'s [\(range.minimum), \(range.maximum)]")
        }
        do {
            return try QuantParameters(
                granularity: layout.granularity, axis: layout.axis, groupSize: layout.groupSize, shape: layout.shape,
                scales: scales, zeroPoints: zeroPoints)
        } catch {
            throw fail("\(suffix) parameters", "\(error)")
        }
    }

    /// Reads and checks a quantized layer's codes (and MX block scales) and dequantizes them.
    /// - Throws: `QuantizationError.invalidSavedLayer` for a missing tensor, a wrong dtype or byte count, a code
    ///   outside the scheme's range or a NaN code, or weights that dequantize to non-finite values.
    static func checkedWeight(
        _ layer: LayerDescription, point: PointDescription, name: String, file: SafetensorsFile, path: String
    ) throws -> (QuantizedTensor, Tensor) {
        let stored = try checkedCodes(layer, point: point, name: name, file: file, path: path)
        let dequantized: Tensor
        do { dequantized = try stored.dequantized() } catch { throw invalid(path, name, "weight", "\(error)") }
        if let bad = dequantized.firstNonFiniteIndex() {
            throw invalid(path, name, "weight", "dequantizes to \(dequantized.scalars[bad]) at element \(bad)")
        }
        return (stored, dequantized)
    }

    /// Reads and checks a quantized layer's codes and turns them into the kernels' packed form without
    /// dequantizing them; nil when the format has no packed form (the caller then dequantizes).
    /// - Throws: as `checkedWeight`; a layer whose largest scale times 512 (more than any code step) overflows is
    ///   reported as dequantizing to a non-finite value.
    static func checkedPackedWeight(
        _ layer: LayerDescription, point: PointDescription, name: String, file: SafetensorsFile, path: String
    ) throws -> PackedWeight? {
        let stored = try checkedCodes(layer, point: point, name: name, file: file, path: path)
        let largest = stored.parameters?.scales.max() ?? 0
        guard (largest * 512).isFinite else {
            throw invalid(path, name, "weight", "scale \(largest) dequantizes to non-finite values")
        }
        do { return try PackedWeight.packing(stored) } catch { throw invalid(path, name, "weight", "\(error)") }
    }

    private static func invalid(_ path: String, _ layer: String, _ field: String, _ reason: String) -> QuantizationError {
        .invalidSavedLayer(path: path, layer: layer, field: field, reason: reason)
    }

    /// Reads and checks a quantized layer's codes, MX block scales and parameters.
    /// - Throws: `QuantizationError.invalidSavedLayer` for a missing tensor, a wrong dtype or byte count, a code
    ///   outside the scheme's range or a NaN code.
    static func checkedCodes(
        _ layer: LayerDescription, point: PointDescription, name: String, file: SafetensorsFile, path: String
    ) throws -> QuantizedTensor {
        func fail(_ field: String, _ reason: String) -> QuantizationError {
            .invalidSavedLayer(path: path, layer: name, field: field, reason: reason)
        }
        let weightName = "\(name).weight"
        guard file.contains(weightName) else { throw fail("weight", "tensor \(weightName) is missing from model.safetensors") }
        let info = try file.info(weightName)
        guard info.elementType == .uint8 else {
            throw fail("weight", "\(weightName) is \(info.elementType.safetensorsName), expected U8 (packed codes)")
        }
        let scheme = point.scheme, type = scheme.dataType
        let count = layer.shape[0] * layer.shape[1]
        let expectedBytes = type.isFloatCast ? 2 * count : type.isInteger || type.isMicroscaling
            ? BitPacking.byteCount(count: count, bitWidth: type.bitWidth) : count
        guard info.byteCount == expectedBytes else {
            throw fail("weight", "\(info.byteCount) code bytes, but \(count) \(type.rawValue) elements of \(layer.shape) need \(expectedBytes)")
        }
        let codes = Array(try file.rawBytes(weightName))
        if type.isInteger {
            let range = scheme.integerRange, bits = type.bitWidth
            let full = type.isUnsigned ? (0, (1 << bits) - 1) : (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
            // Every bit pattern lies in a full range: only a narrow range needs the codes unpacked and checked.
            if range != full {
                let values = BitPacking.unpack(codes, count: count, bitWidth: bits, isSigned: !type.isUnsigned)
                if let bad = values.firstIndex(where: { Int($0) < range.minimum || Int($0) > range.maximum }) {
                    throw fail("weight", "code \(values[bad]) at element \(bad) is outside the scheme's [\(range.minimum), \(range.maximum)]")
                }
            }
        } else if !type.isFloatCast && !type.isMicroscaling {
            let format = try MiniFloatFormat(dataType: type)
            if let bad = codes.firstIndex(where: { format.isNaN(code: $0) }) {
                throw fail("weight", "code 0x\(String(codes[bad], radix: 16)) at element \(bad) is NaN in \(type.rawValue)")
            }
        }
        var blockScales: [UInt8] = []
        let blockName = "\(weightName)_block_scale"
        if type.isMicroscaling {
            guard file.contains(blockName) else { throw fail("weight_block_scale", "tensor \(blockName) is missing") }
            let expected = layer.shape[0] * MXBlockCodec.blockCount(rowLength: layer.shape[1])
            let blockInfo = try file.info(blockName)
            guard blockInfo.elementType == .uint8, blockInfo.byteCount == expected else {
                throw fail("weight_block_scale", "\(blockInfo.byteCount) \(blockInfo.elementType.safetensorsName) values, expected \(expected) U8 (one E8M0 per 32 elements of each row)")
            }
            blockScales = Array(try file.rawBytes(blockName))
            if let bad = blockScales.firstIndex(where: { E8M0(bitPattern: $0).isNaN }) {
                throw fail("weight_block_scale", "block scale at index \(bad) is the E8M0 NaN (0xFF)")
            }
        } else if file.contains(blockName) {
            throw fail("weight_block_scale", "\(type.rawValue) has no block scales, but \(blockName) is stored")
        }
        let parameters = try point.parameters.map {
            try checkedParameters($0, scheme: scheme, prefix: weightName, layer: name, file: file, path: path)
        }
        return QuantizedTensor(scheme: scheme, shape: layer.shape, codes: codes, parameters: parameters, blockScales: blockScales)
    }

    /// Checks that every described layer is a linear of `model` with the described shape.
    static func checkLayersExist(_ layers: [String: [Int]], in model: LlamaModel, path: String) throws {
        let linears = Dictionary(model.linearLayers.map { ($0.name, $0.weightShape) }, uniquingKeysWith: { a, _ in a })
        for (name, shape) in layers.sorted(by: { $0.key < $1.key }) {
            guard let actual = linears[name] else {
                throw QuantizationError.invalidSavedLayer(
                    path: path, layer: name, field: "name",
                    reason: "the model (\(model.blocks.count) blocks, per config.json) has no such linear layer")
            }
            guard actual == shape else {
                throw QuantizationError.invalidSavedLayer(
                    path: path, layer: name, field: "shape", reason: "\(shape), but the model's layer is \(actual)")
            }
        }
        let tiedHead = model.configuration.tieWordEmbeddings ? model.lmHead.name : nil
        for name in linears.keys.sorted() where layers[name] == nil && name != tiedHead {
            throw QuantizationError.invalidSavedLayer(
                path: path, layer: name, field: "layers", reason: "the model has this linear layer, but quantization.json does not describe it")
        }
    }
}

extension QuantizedModelFolder.Contents {
    /// The `QuantizationError.invalidSavedLayer` behind a model-building error about a tensor of a layer
    /// `quantization.json` describes (a layer the model lacks, or has in another shape); nil for other errors.
    public func describedLayerError(for error: ModelError) -> QuantizationError? {
        switch error {
        case let .unexpectedWeight(name):
            guard let layer = describedLayer(of: name) else { return nil }
            return .invalidSavedLayer(
                path: descriptionPath, layer: layer, field: "name", reason: "config.json's model has no such linear layer")
        case let .shapeMismatch(name, expected, found):
            guard let layer = describedLayer(of: name) else { return nil }
            return .invalidSavedLayer(
                path: descriptionPath, layer: layer, field: "shape", reason: "\(found), but config.json's model has \(expected)")
        default:
            return nil
        }
    }

    /// The described layer whose weight or bias `tensor` is.
    func describedLayer(of tensor: String) -> String? {
        for suffix in [".weight", ".bias"] where tensor.hasSuffix(suffix) {
            let layer = String(tensor.dropLast(suffix.count))
            if layerShapes[layer] != nil { return layer }
        }
        return nil
    }
}
