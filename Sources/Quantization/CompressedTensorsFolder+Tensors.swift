import Foundation
import Inference
import ModelFormats
import QuantCore
import TensorCore

extension CompressedTensorsFolder {
    /// Reads one layer's quantization tensors, remembering which names it used (the rest are float weights).
    struct TensorReader {
        let weights: ShardedSafetensors
        let directory: String
        var consumed: Set<String> = []

        init(weights: ShardedSafetensors, directory: String) {
            self.weights = weights
            self.directory = directory
        }

        func invalid(_ tensor: String, _ reason: String) -> QuantizationError {
            .invalidFolder(
                path: (try? weights.shardFileName(for: tensor)).map { directory + "/" + $0 } ?? directory,
                reason: "\(tensor): \(reason)")
        }

        /// The tensor `name`'s info, marking it used.
        mutating func info(_ name: String) throws -> SafetensorsFile.TensorInfo {
            guard weights.names.contains(name) else {
                throw QuantizationError.invalidFolder(path: directory, reason: "missing tensor \(name)")
            }
            consumed.insert(name)
            return try weights.info(name)
        }

        /// An integer tensor (I8, I16, I32, I64, U8) as Int32 values, exactly.
        mutating func integers(_ name: String) throws -> (values: [Int32], shape: [Int]) {
            let info = try info(name)
            let bytes = try weights.rawBytes(name)
            let size = info.elementType.bytesPerElement
            var values = [Int32]()
            values.reserveCapacity(info.elementCount)
            for index in 0..<info.elementCount {
                var raw: UInt64 = 0
                for b in 0..<size { raw |= UInt64(bytes[index * size + b]) << (8 * UInt64(b)) }
                let value: Int64
                switch info.elementType {
                case .int8: value = Int64(Int8(truncatingIfNeeded: raw))
                case .uint8: value = Int64(raw)
                case .int16: value = Int64(Int16(truncatingIfNeeded: raw))
                case .int32: value = Int64(Int32(truncatingIfNeeded: raw))
                case .int64: value = Int64(bitPattern: raw)
                default: throw invalid(name, "dtype \(info.elementType.rawValue) where an integer tensor was expected")
                }
                guard let narrow = Int32(exactly: value) else { throw invalid(name, "value \(value) out of range") }
                values.append(narrow)
            }
            return (values, info.shape)
        }

        /// A float tensor (F32, F16, BF16) as float32 values.
        mutating func floats(_ name: String) throws -> (values: [Float], shape: [Int]) {
            let info = try info(name)
            guard [.float32, .float16, .bfloat16].contains(info.elementType) else {
                throw invalid(name, "dtype \(info.elementType.rawValue) where float scales were expected")
            }
            return (try weights.tensor(name).scalars, info.shape)
        }

        /// One quantized weight with its parameters.
        mutating func weight(
            _ layer: String, arguments: CompressedTensorsConfiguration.Arguments, format: String, place: String
        ) throws -> QuantizedTensor {
            let scheme = try CompressedTensorsSchemeMapping.scheme(arguments, place: place)
            let b = arguments.bitWidth
            let codes: [UInt8]
            let shape: [Int]
            switch format {
            case CompressedTensorsSchemeMapping.packQuantized:
                guard arguments.type == "int" else {
                    throw invalid(layer, "\(format) holds integer weights, not \(arguments.type)")
                }
                let declared = try integers(layer + ".weight_shape")
                guard declared.values.count == 2, declared.values.allSatisfy({ $0 > 0 }) else {
                    throw invalid(
                        layer + ".weight_shape", "expected [out, in] with positive entries, found \(declared.values)")
                }
                shape = declared.values.map(Int.init)
                let packed = try integers(layer + ".weight_packed")
                let words = CompressedTensorsPacking.wordCount(count: shape[1], bitWidth: b)
                guard packed.shape == [shape[0], words] else {
                    throw invalid(
                        layer + ".weight_packed",
                        "shape \(packed.shape); weight_shape \(shape) at \(b) bits needs [\(shape[0]), \(words)]")
                }
                let signed = CompressedTensorsPacking.unpack(
                    packed.values, rows: shape[0], columns: shape[1], bitWidth: b)
                codes = BitPacking.pack(signed, bitWidth: scheme.dataType.bitWidth)
            case CompressedTensorsSchemeMapping.intQuantized, CompressedTensorsSchemeMapping.naiveQuantized,
                CompressedTensorsSchemeMapping.floatQuantized:
                let info = try info(layer + ".weight")
                shape = info.shape
                guard shape.count == 2 else { throw invalid(layer + ".weight", "shape \(shape) is not [out, in]") }
                if arguments.type == "float" {
                    guard info.elementType == .float8E4M3 else {
                        throw invalid(layer + ".weight", "dtype \(info.elementType.rawValue); FP8 weights are F8_E4M3")
                    }
                    codes = [UInt8](try weights.rawBytes(layer + ".weight"))
                } else {
                    let values = try integers(layer + ".weight").values
                    let (qmin, qmax) = (-(Int32(1) << (b - 1)), (Int32(1) << (b - 1)) - 1)
                    if let bad = values.first(where: { $0 < qmin || $0 > qmax }) {
                        throw invalid(layer + ".weight", "code \(bad) outside the \(b)-bit range [\(qmin), \(qmax)]")
                    }
                    codes = BitPacking.pack(values, bitWidth: scheme.dataType.bitWidth)
                }
            default:
                throw invalid(
                    layer,
                    "format '\(format)' is not supported (\(CompressedTensorsSchemeMapping.packQuantized), \(CompressedTensorsSchemeMapping.intQuantized), \(CompressedTensorsSchemeMapping.floatQuantized) are)"
                )
            }
            let (rows, columns) = (shape[0], shape[1])
            let scales = try floats(layer + ".weight_scale").values
            let slots: (rows: Int, columns: Int)
            switch scheme.granularity {
            case .perTensor: slots = (1, 1)
            case .perChannel: slots = (rows, 1)
            case .perGroup:
                let size = scheme.groupSize ?? 0
                guard columns % size == 0 else {
                    throw invalid(layer, "input dimension \(columns) is not a multiple of group_size \(size)")
                }
                slots = (rows, columns / size)
            default: throw invalid(layer, "strategy \(arguments.strategy) for a weight")
            }
            guard scales.count == slots.rows * slots.columns else {
                throw invalid(
                    layer + ".weight_scale",
                    "\(scales.count) scales; \(arguments.strategy) needs \(slots.rows * slots.columns)")
            }
            var zeroPoints = [Int32](repeating: 0, count: scales.count)
            if !arguments.isSymmetric {
                let name = layer + ".weight_zero_point"
                let stored = try integers(name)
                if format == CompressedTensorsSchemeMapping.packQuantized && scheme.granularity != .perTensor {
                    let wordRows = CompressedTensorsPacking.wordCount(count: slots.rows, bitWidth: b)
                    guard stored.values.count == wordRows * slots.columns else {
                        throw invalid(
                            name,
                            "\(stored.values.count) words; \(slots.rows)×\(slots.columns) zero points at \(b) bits need \(wordRows * slots.columns)"
                        )
                    }
                    zeroPoints = CompressedTensorsPacking.unpackColumns(
                        stored.values, rows: slots.rows, columns: slots.columns, bitWidth: b)
                } else {
                    guard stored.values.count == scales.count else {
                        throw invalid(name, "\(stored.values.count) zero points for \(scales.count) scales")
                    }
                    zeroPoints = stored.values
                }
            }
            let parameters: QuantParameters
            do {
                parameters = try QuantParameters(
                    granularity: scheme.granularity, axis: 0, groupSize: scheme.groupSize, shape: shape, scales: scales,
                    zeroPoints: zeroPoints)
            } catch {
                throw invalid(layer + ".weight_scale", "\(error)")
            }
            return QuantizedTensor(scheme: scheme, shape: shape, codes: codes, parameters: parameters, blockScales: [])
        }

        /// One activation quantizer; `prefix` is `L.input`, `L.output` or `model.layers.N.self_attn.k`/`.v`.
        mutating func activation(
            prefix: String, arguments: CompressedTensorsConfiguration.Arguments, place: String
        ) throws -> ActivationQuantizer {
            let scheme = try CompressedTensorsSchemeMapping.scheme(arguments, place: place)
            guard !scheme.isDynamic else { return ActivationQuantizer(scheme: scheme) }
            guard scheme.granularity == .perTensor else {
                throw invalid(
                    prefix,
                    "static \(arguments.strategy) activation scales are not supported (static scales are per tensor)")
            }
            let scales = try floats(prefix + "_scale").values
            guard scales.count == 1 else {
                throw invalid(prefix + "_scale", "\(scales.count) values; a per-tensor scale is one")
            }
            var zeroPoints: [Int32] = [0]
            if !scheme.isSymmetric {
                zeroPoints = try integers(prefix + "_zero_point").values
                guard zeroPoints.count == 1 else {
                    throw invalid(prefix + "_zero_point", "\(zeroPoints.count) values; a per-tensor zero point is one")
                }
            }
            do {
                return ActivationQuantizer(
                    scheme: scheme,
                    parameters: try QuantParameters(
                        granularity: .perTensor, shape: [], scales: scales, zeroPoints: zeroPoints))
            } catch {
                throw invalid(prefix + "_scale", "\(error)")
            }
        }
    }
}
