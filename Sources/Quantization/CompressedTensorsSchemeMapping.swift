import Inference
import QuantCore

/// Which Quanta schemes compressed-tensors' `QuantizationArgs` express exactly, and back.
///
/// The package's integers are always signed with range [−2^(b−1), 2^(b−1) − 1] and dequantize as (q − zp)·scale
/// (`quantization/lifecycle/forward.py`, `_dequantize`), so Quanta's unsigned codes and zero points move down by
/// 2^(b−1) (`codeShift`) and dequantize to the same floats; an unsigned symmetric scheme (zero point 2^(b−1)) becomes
/// a signed symmetric one. Weights keep their codes whatever their rounding, range or observer; activations are
/// re-quantized by the runtime on every call, so their arithmetic must match too.
public enum CompressedTensorsSchemeMapping {
    /// An answer, or why there is none.
    public enum Decision<Value: Equatable>: Equatable {
        case expressed(Value)
        case refused(String)
    }

    /// How a quantized weight is written.
    public struct WeightEncoding: Equatable, Sendable {
        public var arguments: CompressedTensorsConfiguration.Arguments
        /// `pack-quantized`, `int-quantized` or `float-quantized`.
        public var format: String
        /// Subtracted from Quanta's codes and zero points (2^(b−1) for unsigned formats, else 0).
        public var codeShift: Int32
    }

    /// How an activation quantizer is written.
    public struct ActivationEncoding: Equatable, Sendable {
        public var arguments: CompressedTensorsConfiguration.Arguments
        /// Subtracted from the zero point of static parameters.
        public var codeShift: Int32
    }

    /// The formats this build writes and reads.
    public static let packQuantized = "pack-quantized", intQuantized = "int-quantized"
    public static let floatQuantized = "float-quantized", naiveQuantized = "naive-quantized"

    /// How to write a weight of `shape` `[outFeatures, inFeatures]` stored with `scheme`.
    /// - Parameter hasInputQuantizer: int8 weights of a layer that also quantizes its input are `int-quantized`
    ///   (vLLM's W8A8 path); int8 weights alone are `pack-quantized` (vLLM's weight-only path reads only that).
    public static func weight(_ scheme: QuantScheme, shape: [Int], hasInputQuantizer: Bool) -> Decision<WeightEncoding>
    {
        let type = scheme.dataType
        if type.isMicroscaling {
            return .refused(
                "\(type.rawValue) is an OCP MX format (E8M0 scale per block of 32); compressed-tensors' MX formats are not written by Quanta"
            )
        }
        if type == .fp8_e5m2 { return .refused("compressed-tensors' 8-bit float type is E4M3 only, not E5M2") }
        guard type.isInteger || type == .fp8_e4m3 else {
            return .refused("\(type.rawValue) has no compressed-tensors type")
        }
        if type.isInteger && type.bitWidth == 3 {
            return .refused(
                "3-bit codes: compressed-tensors packs them ten to an int32 before release 0.17 and densely after, and vLLM runs only 4- and 8-bit integer weights"
            )
        }
        let columns = shape.last ?? 1
        let strategy: String
        var groupSize: Int? = nil
        switch scheme.granularity {
        case .perTensor: strategy = "tensor"
        case .perChannel:
            guard scheme.axis == 0 else {
                return .refused(
                    "scales along axis \(scheme.axis) (input channels); compressed-tensors' channel strategy has one scale per output row"
                )
            }
            strategy = "channel"
        case .perGroup:
            let size = scheme.groupSize ?? 0
            guard size > 0, columns % size == 0 else {
                return .refused(
                    "input dimension \(columns) is not a multiple of group size \(size); compressed-tensors needs whole groups (it infers the group size from the scale count)"
                )
            }
            strategy = "group"
            groupSize = size
        case .perToken, .perBlock:
            return .refused("\(scheme.granularity.rawValue) scales have no compressed-tensors weight strategy")
        }
        let isFloat = type == .fp8_e4m3
        let arguments = CompressedTensorsConfiguration.Arguments(
            bitWidth: type.bitWidth, type: isFloat ? "float" : "int", isSymmetric: scheme.isSymmetric,
            strategy: strategy, groupSize: groupSize, observer: observerName(scheme.observer))
        let format = isFloat ? floatQuantized : (type.bitWidth == 8 && hasInputQuantizer ? intQuantized : packQuantized)
        return .expressed(WeightEncoding(arguments: arguments, format: format, codeShift: codeShift(type)))
    }

    /// How to write an activation quantizer (a linear's input or output, or the KV cache).
    public static func activation(_ quantizer: ActivationQuantizer) -> Decision<ActivationEncoding> {
        let scheme = quantizer.scheme
        let type = scheme.dataType
        guard type.isInteger || type == .fp8_e4m3 else {
            return .refused("\(type.rawValue) activations have no compressed-tensors type (integers and FP8 E4M3 only)")
        }
        if scheme.isNarrowRange {
            return .refused(
                "narrow-range codes: compressed-tensors clamps activations to the full range [−2^(b−1), 2^(b−1) − 1]")
        }
        if scheme.rounding != .halfToEven {
            return .refused("\(scheme.rounding.rawValue) rounding: compressed-tensors rounds activations half to even")
        }
        if scheme.isDynamic && scheme.scaleType != .float32 {
            return .refused(
                "dynamic \(scheme.scaleType.rawValue) scales: compressed-tensors computes float32 scales on every call")
        }
        let strategy: String
        var groupSize: Int? = nil
        switch scheme.granularity {
        case .perTensor: strategy = "tensor"
        case .perToken: strategy = "token"
        case .perGroup where scheme.isDynamic:
            strategy = "group"
            groupSize = scheme.groupSize
        default:
            return .refused(
                "\(scheme.isDynamic ? "dynamic" : "static") \(scheme.granularity.rawValue) activation scales have no compressed-tensors strategy"
            )
        }
        let shift = codeShift(type)
        if !scheme.isDynamic {
            guard let parameters = quantizer.parameters else {
                return .refused("static scheme without calibrated parameters")
            }
            if scheme.isSymmetric, parameters.zeroPoints.contains(where: { $0 != shift }) {
                return .refused("symmetric scheme with a zero point other than \(shift)")
            }
        }
        let arguments = CompressedTensorsConfiguration.Arguments(
            bitWidth: type.bitWidth, type: type == .fp8_e4m3 ? "float" : "int", isSymmetric: scheme.isSymmetric,
            strategy: strategy, groupSize: groupSize, isDynamic: scheme.isDynamic,
            observer: scheme.isDynamic ? nil : observerName(scheme.observer))
        return .expressed(ActivationEncoding(arguments: arguments, codeShift: shift))
    }

    /// 2^(b−1) for unsigned integer formats, else 0.
    public static func codeShift(_ type: QuantDataType) -> Int32 {
        type.isInteger && type.isUnsigned ? Int32(1) << (type.bitWidth - 1) : 0
    }

    /// The observer names compressed-tensors registers, where Quanta has the same method; nil otherwise.
    static func observerName(_ kind: ObserverKind) -> String? {
        switch kind {
        case .minMax: "minmax"
        case .mse: "mse"
        default: nil
        }
    }

    /// The Quanta scheme a `QuantizationArgs` describes (signed integers or FP8 E4M3).
    /// - Throws: `QuantizationError.invalidInput` naming `place` for arguments this build cannot run.
    public static func scheme(_ a: CompressedTensorsConfiguration.Arguments, place: String) throws -> QuantScheme {
        func refuse(_ reason: String) -> QuantizationError { .invalidInput("\(place): \(reason)") }
        let dataType: QuantDataType
        switch (a.type, a.bitWidth) {
        case ("int", 2): dataType = .int2
        case ("int", 3): dataType = .int3
        case ("int", 4): dataType = .int4
        case ("int", 8): dataType = .int8
        case ("float", 8): dataType = .fp8_e4m3
        default: throw refuse("\(a.bitWidth)-bit \(a.type) quantization is not supported (int 2/3/4/8 and float 8 are)")
        }
        if let order = a.activationOrder, order != "weight", order != "static" {
            throw refuse("activation ordering '\(order)' (a g_idx permutation) is not supported")
        }
        guard case let .flag(isDynamic) = a.dynamic else {
            throw refuse("dynamic '\(a.dynamic)' scales are not supported")
        }
        let granularity: QuantScheme.Granularity
        switch a.strategy {
        case "tensor": granularity = .perTensor
        case "channel": granularity = .perChannel
        case "group": granularity = .perGroup
        case "token": granularity = .perToken
        default: throw refuse("strategy '\(a.strategy)' is not supported (tensor, channel, group, token are)")
        }
        do {
            return try QuantScheme(
                dataType: dataType, granularity: granularity, groupSize: granularity == .perGroup ? a.groupSize : nil,
                isSymmetric: a.isSymmetric, observer: a.observer == "mse" ? .mse : .minMax, isDynamic: isDynamic)
        } catch {
            throw refuse("\(error)")
        }
    }
}
