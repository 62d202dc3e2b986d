import Foundation
import Inference
import ModelFormats
import QuantCore
import Quantization
import TensorCore

/// Writes a model as a Hugging Face folder in the compressed-tensors layout that vLLM and transformers load:
/// `config.json` (the Llama config plus `quantization_config`), `model.safetensors`, and the tokenizer files.
///
/// Each quantized linear keeps its own codes (GPTQ, AWQ and tuning results included; nothing is re-quantized), in the
/// tensors `CompressedTensorsFolder` describes, under one config group per distinct (weights, input, output) scheme.
/// Float layers (rolled back, kept float, or the LM head) are listed in `ignore`. Anything compressed-tensors cannot
/// express exactly is refused before anything is written (`ExportError.notCompressedTensors`): OCP MX, FP8 E5M2,
/// 3-bit codes, scales along input channels, ragged groups, online rotations, activation schemes whose arithmetic
/// differs from the package's, a KV-cache scheme that is not one static per-tensor scheme on every block.
///
/// Scales are written as float32 and zero points as int8, so the folder dequantizes to exactly the weights Quanta
/// computes with (compressed-tensors dequantizes in the scale's dtype).
public enum CompressedTensorsExport {
    /// The float dtype of weights that are float in the model (embedding, norms, float linears).
    public enum FloatType: String, Sendable, CaseIterable {
        case f32, f16, bf16
        var elementType: ElementType {
            switch self {
            case .f32: .float32
            case .f16: .float16
            case .bf16: .bfloat16
            }
        }
        /// `torch_dtype` in config.json.
        var torchName: String {
            switch self {
            case .f32: "float32"
            case .f16: "float16"
            case .bf16: "bfloat16"
            }
        }
    }

    public struct Configuration: Sendable, Equatable {
        public var floatType: FloatType
        /// Replace an existing output folder.
        public var overwrite: Bool
        public init(floatType: FloatType = .f16, overwrite: Bool = false) {
            self.floatType = floatType
            self.overwrite = overwrite
        }
    }

    /// How one linear layer is written.
    struct LayerPlan {
        var linear: Linear
        var weight: CompressedTensorsSchemeMapping.WeightEncoding?
        var input: CompressedTensorsSchemeMapping.ActivationEncoding?
        var output: CompressedTensorsSchemeMapping.ActivationEncoding?
        /// The group's scheme (targets empty), nil for a float layer.
        var scheme: CompressedTensorsConfiguration.Scheme? {
            guard let weight else { return nil }
            return .init(
                targets: [], weights: weight.arguments, inputActivations: input?.arguments,
                outputActivations: output?.arguments, format: weight.format)
        }
    }

    /// The whole plan: layers in model order and the KV-cache scheme.
    struct Plan {
        var layers: [LayerPlan]
        var keyValue: CompressedTensorsSchemeMapping.ActivationEncoding?
    }

    /// Exports `loaded` to the folder `directory` (built in a temporary sibling, then renamed).
    /// - Throws: `ExportError.notCompressedTensors` naming the first layer or point that cannot be written (before
    ///   anything is written), `.outputExists`; `FormatError` and file-system errors when writing fails.
    public static func export(_ loaded: LoadedModel, to directory: String, configuration: Configuration = .init())
        throws
        -> Report
    {
        let start = Date()
        if FileManager.default.fileExists(atPath: directory) && !configuration.overwrite {
            throw ExportError.outputExists(path: directory)
        }
        let model = loaded.model
        let plan = try makePlan(model)
        let quantization = quantizationConfiguration(plan, model: model)
        var report = Report(source: loaded.path, output: directory, format: quantization.format)
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        let floatType = configuration.floatType.elementType
        writer.add("model.embed_tokens.weight", model.embedding, as: floatType)
        writer.add("model.norm.weight", model.finalNorm, as: floatType)
        for (index, block) in model.blocks.enumerated() {
            writer.add("model.layers.\(index).input_layernorm.weight", block.inputNorm, as: floatType)
            writer.add("model.layers.\(index).post_attention_layernorm.weight", block.postAttentionNorm, as: floatType)
        }
        var linearBits = 0, linearElements = 0
        for layer in plan.layers {
            let name = layer.linear.name
            if let bias = layer.linear.bias { writer.add(name + ".bias", bias, as: floatType) }
            let before = writer.dataByteCount
            if let encoding = layer.weight, let stored = layer.linear.quantizedWeight {
                try addWeight(name, stored, encoding, to: &writer)
                report.quantizedLayers += 1
            } else if let stored = layer.linear.quantizedWeight, stored.scheme.dataType.isFloatCast {
                // A float16/bfloat16 cast is a float layer in its own dtype.
                let type: ElementType = stored.scheme.dataType == .bfloat16 ? .bfloat16 : .float16
                writer.add(name + ".weight", bytes: stored.codes, elementType: type, shape: stored.shape)
                report.floatLayers.append(name)
            } else {
                writer.add(name + ".weight", layer.linear.weight, as: floatType)
                report.floatLayers.append(name)
            }
            linearBits += (writer.dataByteCount - before) * 8
            linearElements += layer.linear.weight.elementCount
            for (encoding, quantizer, kind) in [
                (layer.input, layer.linear.inputQuantizer, "input"),
                (layer.output, layer.linear.outputQuantizer, "output"),
            ] {
                guard let encoding, let quantizer else { continue }
                addActivation("\(name).\(kind)", quantizer, encoding, to: &writer)
                report.activationPoints += 1
            }
        }
        if let encoding = plan.keyValue {
            for (index, block) in model.blocks.enumerated() {
                for (quantizer, prefix) in [(block.keyQuantizer, "k"), (block.valueQuantizer, "v")] {
                    guard let quantizer else { continue }  // makePlan checked that every block has both
                    addActivation("model.layers.\(index).self_attn.\(prefix)", quantizer, encoding, to: &writer)
                }
            }
            report.kvCacheQuantized = true
        }
        let configJSON = try configJSON(loaded, quantization: quantization, floatType: configuration.floatType)
        try AtomicFolder.write(to: directory) { temporary in
            try writer.write(to: temporary + "/model.safetensors")
            try AtomicFile.write(configJSON, to: temporary + "/config.json")
            report.tokenizerFiles = try writeTokenizer(loaded, into: temporary)
        }
        report.groups = quantization.configGroups.mapValues(\.targets)
        report.ignore = quantization.ignore
        report.fileBytes =
            (try? FileManager.default.attributesOfItem(atPath: directory + "/model.safetensors")[.size] as? Int) ?? 0
        report.linearBitsPerWeight = linearElements > 0 ? Double(linearBits) / Double(linearElements) : 0
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// Decides every layer's encoding, or throws the first thing compressed-tensors cannot express (with how many
    /// more places share a problem).
    static func makePlan(_ model: LlamaModel) throws(ExportError) -> Plan {
        var layers: [LayerPlan] = []
        var refusals: [(String, String)] = []
        for linear in model.linearLayers {
            if linear.name == model.lmHead.name && model.configuration.tieWordEmbeddings { continue }
            var plan = LayerPlan(linear: linear)
            if let transform = linear.inputTransform {
                refusals.append(
                    (
                        linear.name,
                        "rotates its input online (randomized Hadamard of order \(transform.dimension)); Quanta does not write compressed-tensors transform configs, so quantize with rotation's online Hadamard off (`online_down_projection: false`)"
                    ))
                continue
            }
            if let stored = linear.quantizedWeight, !stored.scheme.dataType.isFloatCast {
                switch CompressedTensorsSchemeMapping.weight(
                    stored.scheme, shape: stored.shape, hasInputQuantizer: linear.inputQuantizer != nil)
                {
                case let .expressed(encoding): plan.weight = encoding
                case let .refused(reason): refusals.append((linear.name, "weight: " + reason))
                }
            } else if linear.quantizesActivations {
                refusals.append(
                    (
                        linear.name,
                        "quantizes its activations but keeps a float weight; compressed-tensors groups quantize weights"
                    ))
            }
            for (quantizer, kind) in [(linear.inputQuantizer, "input"), (linear.outputQuantizer, "output")] {
                guard let quantizer else { continue }
                switch CompressedTensorsSchemeMapping.activation(quantizer) {
                case let .expressed(encoding):
                    if kind == "input" { plan.input = encoding } else { plan.output = encoding }
                case let .refused(reason): refusals.append(("\(linear.name).\(kind)", reason))
                }
            }
            layers.append(plan)
        }
        let keyValue = keyValuePlan(model, refusals: &refusals)
        if let (place, reason) = refusals.first {
            throw .notCompressedTensors(place: place, morePlaces: refusals.count - 1, reason: reason)
        }
        return Plan(layers: layers, keyValue: keyValue)
    }

    /// One `kv_cache_scheme` for every block's keys and values, or refusals.
    static func keyValuePlan(_ model: LlamaModel, refusals: inout [(String, String)])
        -> CompressedTensorsSchemeMapping.ActivationEncoding?
    {
        let quantizers = model.blocks.enumerated().flatMap { index, block in
            [
                ("model.layers.\(index).self_attn.keys", block.keyQuantizer),
                ("model.layers.\(index).self_attn.values", block.valueQuantizer),
            ]
        }
        guard let (_, first) = quantizers.first(where: { $0.1 != nil }), let first else { return nil }
        if let (place, _) = quantizers.first(where: { $0.1 == nil }) {
            refusals.append(
                (place, "not quantized while other KV-cache points are; kv_cache_scheme covers every attention layer"))
            return nil
        }
        if let (place, _) = quantizers.first(where: { $0.1!.scheme != first.scheme }) {
            refusals.append((place, "a KV-cache scheme unlike the others; kv_cache_scheme is one scheme for all"))
            return nil
        }
        guard !first.scheme.isDynamic, first.scheme.granularity == .perTensor, first.scheme.isSymmetric else {
            refusals.append(
                (
                    quantizers[0].0,
                    "KV-cache scales that are not static, per-tensor and symmetric (vLLM reads one k_scale and v_scale per layer)"
                ))
            return nil
        }
        switch CompressedTensorsSchemeMapping.activation(first) {
        case let .expressed(encoding): return encoding
        case let .refused(reason):
            refusals.append((quantizers[0].0, reason))
            return nil
        }
    }

    /// `weight_packed`/`weight` codes, `weight_shape`, `weight_scale`, `weight_zero_point` for one layer.
    static func addWeight(
        _ name: String, _ stored: QuantizedTensor, _ encoding: CompressedTensorsSchemeMapping.WeightEncoding,
        to writer: inout SafetensorsWriter
    ) throws {
        let (rows, columns) = (stored.shape[0], stored.shape[1])
        guard let parameters = stored.parameters else {
            preconditionFailure("\(name): integer and FP8 codes carry parameters")
        }
        let b = encoding.arguments.bitWidth
        let slotShape: [Int]
        switch stored.scheme.granularity {
        case .perTensor: slotShape = [1]
        case .perChannel: slotShape = [rows, 1]
        default: slotShape = [rows, parameters.scales.count / rows]
        }
        switch encoding.format {
        case CompressedTensorsSchemeMapping.floatQuantized:
            writer.add(name + ".weight", bytes: stored.codes, elementType: .float8E4M3, shape: [rows, columns])
        case CompressedTensorsSchemeMapping.intQuantized:
            let codes = shiftedCodes(stored, by: encoding.codeShift)
            writer.add(
                name + ".weight", bytes: codes.map { UInt8(bitPattern: Int8($0)) }, elementType: .int8,
                shape: [rows, columns])
        default:
            let codes = shiftedCodes(stored, by: encoding.codeShift)
            let packed = CompressedTensorsPacking.pack(codes, rows: rows, columns: columns, bitWidth: b)
            writer.add(
                name + ".weight_packed", bytes: littleEndian(packed), elementType: .int32,
                shape: [rows, CompressedTensorsPacking.wordCount(count: columns, bitWidth: b)])
            writer.add(name + ".weight_shape", bytes: littleEndian64([rows, columns]), elementType: .int64, shape: [2])
        }
        writer.add(name + ".weight_scale", Tensor(shape: slotShape, scalars: parameters.scales))
        guard !encoding.arguments.isSymmetric else { return }
        let zeroPoints = parameters.zeroPoints.map { $0 - encoding.codeShift }
        if encoding.format == CompressedTensorsSchemeMapping.packQuantized && stored.scheme.granularity != .perTensor {
            let packed = CompressedTensorsPacking.packColumns(
                zeroPoints, rows: slotShape[0], columns: slotShape[1], bitWidth: b)
            writer.add(
                name + ".weight_zero_point", bytes: littleEndian(packed), elementType: .int32,
                shape: [CompressedTensorsPacking.wordCount(count: slotShape[0], bitWidth: b), slotShape[1]])
        } else {
            writer.add(
                name + ".weight_zero_point", bytes: zeroPoints.map { UInt8(bitPattern: Int8($0)) }, elementType: .int8,
                shape: slotShape)
        }
    }

    /// `PREFIX_scale` (and `_zero_point`) of a static quantizer; nothing for a dynamic one.
    static func addActivation(
        _ prefix: String, _ quantizer: ActivationQuantizer,
        _ encoding: CompressedTensorsSchemeMapping.ActivationEncoding,
        to writer: inout SafetensorsWriter
    ) {
        guard !quantizer.scheme.isDynamic, let parameters = quantizer.parameters else { return }
        writer.add(prefix + "_scale", Tensor(shape: [1], scalars: parameters.scales))
        if !encoding.arguments.isSymmetric {
            let zeroPoints = parameters.zeroPoints.map { UInt8(bitPattern: Int8($0 - encoding.codeShift)) }
            writer.add(prefix + "_zero_point", bytes: zeroPoints, elementType: .int8, shape: [1])
        }
    }

    /// The stored integer codes, signed, minus `shift`.
    static func shiftedCodes(_ stored: QuantizedTensor, by shift: Int32) -> [Int32] {
        let type = stored.scheme.dataType
        return BitPacking.unpack(
            stored.codes, count: stored.elementCount, bitWidth: type.bitWidth, isSigned: !type.isUnsigned
        )
        .map { $0 - shift }
    }

    static func littleEndian(_ values: [Int32]) -> [UInt8] {
        values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    }

    static func littleEndian64(_ values: [Int]) -> [UInt8] {
        values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: Int64(value) >> (8 * Int64($0))) } }
    }
}
