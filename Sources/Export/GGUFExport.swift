import Foundation
import Inference
import ModelFormats
import QuantCore
import Quantization
import TensorCore

/// Writes a model as a GGUF v3 file llama.cpp runs unchanged: `llama.*` hyper-parameters, the `tokenizer.ggml.*`
/// vocabulary, tensors under llama.cpp's names with q/k rows in its rotary order, and each quantized layer's own codes
/// as the GGML block type `GGMLTypeMapping` names (only the float16 storage of scales changes them).
///
/// What no GGML type holds (a scheme `GGMLTypeMapping` refuses, an online input rotation, activation or KV-cache
/// quantizers) is refused with `ExportError` unless `Configuration.requantizeType` is set; then those weights are
/// re-quantized from their dequantized values (an online rotation folded in first), the quantizers are dropped, and
/// the report says what that cost.
public enum GGUFExport {
    /// The types this exporter writes.
    public static let writableTypes: [GGMLType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K,
    ]

    public struct Configuration: Sendable, Equatable {
        /// Type of 2-D weights that are float in the source (embedding, float linears, an untied head); norms and
        /// biases are always F32. A block type quantizes them with llama.cpp's reference quantizer; a K-quant falls
        /// back as `llama-quantize` does (`GGMLTypeMapping.fallbackType`) for rows that are not whole super-blocks.
        public var floatWeightType: GGMLType
        /// Type for weights no GGML type holds exactly; nil refuses them. A K-quant (Q4_K, Q5_K, Q6_K) asks for a
        /// K-quant file: every quantized weight whose codes it can carry (`GGMLTypeMapping.carriesCodes`) is written
        /// in it with its scales re-quantized, even one an exact type holds; the others follow the table (exact types
        /// stay, refused ones are re-quantized to the K-quant or its fallback).
        public var requantizeType: GGMLType?
        /// Replace an existing output file.
        public var overwrite: Bool
        /// `general.name`; nil uses the source's file or folder name.
        public var name: String?

        public init(
            floatWeightType: GGMLType = .f16, requantizeType: GGMLType? = nil, overwrite: Bool = false,
            name: String? = nil
        ) {
            self.floatWeightType = floatWeightType
            self.requantizeType = requantizeType
            self.overwrite = overwrite
            self.name = name
        }
    }

    /// How one linear weight is written.
    enum Plan {
        case codes(QuantizedTensor, GGMLType)
        /// The saved codes in a K-quant, scales re-quantized.
        case carry(QuantizedTensor, GGMLType)
        case requantize(GGMLType, foldsTransform: Bool)
        case float(GGMLType)
    }

    /// Exports `loaded` to `path` (temporary file, then rename).
    /// - Throws: `ExportError` for what the file cannot express (before anything is written), an existing output
    ///   without `overwrite`, or a model llama.cpp's metadata cannot describe; `FormatError` when writing fails.
    public static func export(_ loaded: LoadedModel, to path: String, configuration: Configuration = .init()) throws
        -> Report
    {
        let start = Date()
        for type in [configuration.floatWeightType] + (configuration.requantizeType.map { [$0] } ?? [])
        where !writableTypes.contains(type) {
            throw ExportError.unsupportedType(type)
        }
        if FileManager.default.fileExists(atPath: path) && !configuration.overwrite {
            throw ExportError.outputExists(path: path)
        }
        let model = loaded.model
        let plans = try plan(model, configuration: configuration)
        let dropped = try droppedQuantizers(model, allowed: configuration.requantizeType != nil)

        var writer = GGUFWriter()
        var report = Report(source: loaded.path, output: path)
        report.droppedQuantizers = dropped
        report.requantizeType = configuration.requantizeType?.name
        var linearBytes = 0, linearElements = 0
        func add(_ name: String, _ shape: [Int], _ type: GGMLType, _ bytes: [UInt8]) throws {
            guard let ggufName = GGUFTensorNames.ggufName(forLlama: name) else {
                throw ExportError.unsupportedModel("\(name) has no llama.cpp tensor name")
            }
            try writer.addTensor(name: ggufName, shape: shape, type: type, bytes: bytes)
            report.tensorTypes[type.name, default: 0] += 1
        }
        func addFloat(_ name: String, _ tensor: Tensor, _ type: GGMLType) throws {
            let (written, bytes) = try encodeFloat(tensor, as: type, name: name, change: &report.floatConversion)
            report.noteFallback(name, requested: type, written: written)
            try add(name, tensor.shape, written, bytes)
        }

        let c = model.configuration
        try addFloat("model.embed_tokens.weight", model.embedding, configuration.floatWeightType)
        var linears: [(Linear, headCount: Int?)] = []
        for (index, block) in model.blocks.enumerated() {
            try addFloat("model.layers.\(index).input_layernorm.weight", block.inputNorm, .f32)
            try addFloat("model.layers.\(index).post_attention_layernorm.weight", block.postAttentionNorm, .f32)
            for path in LlamaModel.Block.linearPaths {
                let linear = block[keyPath: path]
                let heads: Int? =
                    path == \.queryProjection
                    ? c.attentionHeadCount
                    : path == \.keyProjection ? c.keyValueHeadCount : nil
                linears.append((linear, heads))
            }
        }
        try addFloat("model.norm.weight", model.finalNorm, .f32)
        if !c.tieWordEmbeddings { linears.append((model.lmHead, nil)) }
        var mainTypes: [GGMLType: Int] = [:]
        for (linear, heads) in linears {
            guard let plan = plans[linear.name] else { continue }
            let (type, hfBytes) = try encode(linear, plan: plan, report: &report)
            let rowBytes = type.byteCount(elementCount: linear.inFeatures)!
            var bytes = hfBytes
            if let heads {
                // llama.cpp's converter stores q/k rows in its rotary order; Quanta un-permutes them on load.
                let order = RotaryPermutation.huggingFaceRowsInGGUFOrder(rowCount: linear.outFeatures, headCount: heads)
                for (ggufRow, hfRow) in order.enumerated() {
                    bytes.replaceSubrange(
                        (ggufRow * rowBytes)..<((ggufRow + 1) * rowBytes),
                        with: hfBytes[(hfRow * rowBytes)..<((hfRow + 1) * rowBytes)])
                }
            }
            try add(linear.name + ".weight", linear.weight.shape, type, bytes)
            mainTypes[type, default: 0] += 1
            linearBytes += bytes.count
            linearElements += linear.weight.elementCount
            if let bias = linear.bias {
                let permuted = heads.map { RotaryPermutation.huggingFaceToGGUF(bias, headCount: $0) } ?? bias
                try addFloat(linear.name + ".bias", permuted, .f32)
            }
        }
        let mainType =
            mainTypes.max { ($0.value, $1.key.rawValue) < ($1.value, $0.key.rawValue) }?.key
            ?? configuration.floatWeightType
        let name = configuration.name ?? URL(fileURLWithPath: loaded.path).deletingPathExtension().lastPathComponent
        for (key, value) in try metadata(
            configuration: c, tokenizer: loaded.tokenizer, chatTemplate: loaded.chatTemplate, name: name,
            mainType: mainType,
            sourcePath: loaded.path)
        {
            writer.set(key, value)
        }
        let bytes = writer.serialized()
        try AtomicFile.write(Data(bytes), to: path)
        report.fileBytes = bytes.count
        report.linearBitsPerWeight = linearElements > 0 ? Double(linearBytes * 8) / Double(linearElements) : 0
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// Decides every linear weight's type, or throws the first kind of problem found (with how many layers share it).
    static func plan(_ model: LlamaModel, configuration: Configuration) throws(ExportError) -> [String: Plan] {
        var plans: [String: Plan] = [:]
        var transforms: [(String, Int, GGMLType)] = []
        var refused: [(String, QuantScheme, String, GGMLType)] = []
        let requantize = configuration.requantizeType
        for linear in model.linearLayers {
            if linear.name == model.lmHead.name && model.configuration.tieWordEmbeddings { continue }
            let nearest =
                linear.quantizedWeight.map { GGMLTypeMapping.nearestType($0.scheme) } ?? configuration.floatWeightType
            if let transform = linear.inputTransform {
                transforms.append((linear.name, transform.dimension, nearest))
                plans[linear.name] = .requantize(requantize ?? nearest, foldsTransform: true)
            } else if let stored = linear.quantizedWeight {
                if let requantize, GGMLKQuantEncoder.blockTypes.contains(requantize),
                    GGMLTypeMapping.carriesCodes(stored.scheme, shape: stored.shape, into: requantize)
                {
                    // A K-quant asked for is a K-quant file: its layout carries these codes (scales re-quantized).
                    plans[linear.name] = .carry(stored, requantize)
                    continue
                }
                switch GGMLTypeMapping.decide(stored.scheme, shape: stored.shape) {
                case let .exact(type): plans[linear.name] = .codes(stored, type)
                case let .refused(reason, nearest):
                    refused.append((linear.name, stored.scheme, reason, nearest))
                    plans[linear.name] = .requantize(requantize ?? nearest, foldsTransform: false)
                }
            } else {
                plans[linear.name] = .float(configuration.floatWeightType)
            }
        }
        guard requantize == nil else { return plans }
        if let (layer, dimension, nearest) = transforms.first {
            throw .onlineTransform(
                layer: layer, moreLayers: transforms.count - 1, dimension: dimension, nearest: nearest)
        }
        if let (layer, scheme, reason, nearest) = refused.first {
            throw .inexpressibleScheme(
                layer: layer, moreLayers: refused.count - 1, scheme: GGMLTypeMapping.describe(scheme), reason: reason,
                nearest: nearest)
        }
        return plans
    }

    /// The activation and KV-cache quantization points, sorted; refused unless `allowed`.
    static func droppedQuantizers(_ model: LlamaModel, allowed: Bool) throws(ExportError) -> [String] {
        var points: [String] = []
        for linear in model.linearLayers {
            if linear.inputQuantizer != nil { points.append(linear.name + ".input") }
            if linear.outputQuantizer != nil { points.append(linear.name + ".output") }
        }
        for (index, block) in model.blocks.enumerated() {
            if block.keyQuantizer != nil { points.append("model.layers.\(index).self_attn.keys") }
            if block.valueQuantizer != nil { points.append("model.layers.\(index).self_attn.values") }
        }
        points.sort()
        if !allowed, let first = points.first {
            throw .activationQuantization(point: first, morePoints: points.count - 1)
        }
        return points
    }

    /// One linear weight's bytes in Hugging Face row order.
    static func encode(_ linear: Linear, plan: Plan, report: inout Report) throws -> (GGMLType, [UInt8]) {
        switch plan {
        case let .codes(stored, type):
            let (bytes, change) = try GGMLCodeConversion.encode(stored, as: type, name: linear.name)
            report.scaleRounding.merge(change)
            report.layersFromCodes += 1
            return (type, bytes)
        case let .carry(stored, type):
            let (bytes, change) = try GGMLKQuantCodeConversion.encode(stored, as: type, name: linear.name)
            report.kQuantScaleRounding.merge(change)
            report.codesCarriedLayers.append(linear.name)
            return (type, bytes)
        case let .requantize(type, foldsTransform):
            var weight = linear.weight
            if foldsTransform, let transform = linear.inputTransform {
                // The layer computes (x·Q)·Wᵀ = x·(W·Qᵀ)ᵀ: fold Q into the weight llama.cpp multiplies by.
                weight = weight.matmulTransposed(transform.matrix())
            }
            var change = WeightChange()
            let (written, bytes) = try encodeFloat(weight, as: type, name: linear.name, change: &change)
            report.noteFallback(linear.name, requested: type, written: written)
            report.requantization.merge(change)
            report.requantizedLayers.append(linear.name)
            return (written, bytes)
        case let .float(type):
            let (written, bytes) = try encodeFloat(
                linear.weight, as: type, name: linear.name, change: &report.floatConversion)
            report.noteFallback(linear.name, requested: type, written: written)
            return (written, bytes)
        }
    }

    /// `tensor` as `requested` through llama.cpp's reference quantizer (or a float cast), with what that changed, and
    /// the type written: a K-quant whose super-blocks do not tile the rows falls back as in `llama-quantize`.
    static func encodeFloat(_ tensor: Tensor, as requested: GGMLType, name: String, change: inout WeightChange)
        throws(ExportError) -> (GGMLType, [UInt8])
    {
        let rowLength = tensor.shape.last ?? 1
        let type = GGMLTypeMapping.fallbackType(requested, rowLength: rowLength)
        guard rowLength % type.blockLayout.elementCount == 0 else {
            throw .unsupportedModel(
                "\(name): rows of \(rowLength) elements are not whole \(type.name) blocks of \(type.blockLayout.elementCount); use a float type"
            )
        }
        let bytes = GGMLReferenceQuantizer.encode(tensor, as: type)
        if type != .f32 {
            var decoded = [Float](repeating: 0, count: tensor.elementCount)
            bytes.withUnsafeBytes { raw in
                decoded.withUnsafeMutableBufferPointer { GGMLDequantize.decode(type, source: raw, into: $0) }
            }
            change.add(original: tensor.scalars, exported: decoded)
        }
        return (type, bytes)
    }
}
