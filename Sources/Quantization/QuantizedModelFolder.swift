import Foundation
import Inference
import ModelFormats
import QuantCore
import TensorCore
import Tokenization

/// Quanta's saved form of a quantized model: a Hugging Face-style folder (AMD Quark's "JSON + safetensors" export).
///
/// - `config.json`, `tokenizer.json`, `tokenizer_config.json` (chat template) as Hugging Face writes them;
/// - `model.safetensors`: float tensors under their Hugging Face names; for each quantized linear `L`:
///   `L.weight` (U8, packed codes, see `QuantizedTensor`), `L.weight_scale` (F32), `L.weight_zero_point` (I32, integer
///   formats), `L.weight_block_scale` (U8 E8M0, MX formats); static activation parameters as `L.input_scale`,
///   `L.input_zero_point`, `L.output_scale`, `L.output_zero_point`, and `model.layers.N.self_attn.{keys,values}_scale`
///   (and `_zero_point`) for the KV cache;
/// - `quantization.json`: format name and version, the recipe, and per layer its shape, schemes and parameter layouts;
///   for a rotated model, `input_transforms`: each layer's online input rotation (`InputTransformDescription`). Such
///   a folder is written as version 2, so that builds which cannot apply the transforms refuse it.
/// The folder is written under a temporary name and renamed into place; loading dequantizes to the same floats bit
/// for bit.
public enum QuantizedModelFolder {
    public static let descriptionFileName = "quantization.json"
    public static let formatName = "quanta-qdq"
    public static let formatVersion = 1
    /// The version of folders with `input_transforms` (a v1 reader would drop them and compute the wrong function).
    public static let inputTransformFormatVersion = 2

    /// Per-point description in `quantization.json`.
    struct PointDescription: Codable {
        var scheme: QuantScheme
        var parameters: ParameterLayoutDescription?
    }

    /// A `QuantParameters` without its arrays (those are in the safetensors file).
    struct ParameterLayoutDescription: Codable {
        var granularity: QuantScheme.Granularity
        var axis: Int
        var groupSize: Int?
        var shape: [Int]
        enum CodingKeys: String, CodingKey {
            case granularity, axis, shape
            case groupSize = "group_size"
        }
        init(_ p: QuantParameters) {
            granularity = p.granularity
            axis = p.axis
            groupSize = p.groupSize
            shape = p.shape
        }
    }

    struct LayerDescription: Codable {
        var shape: [Int]
        var weight: PointDescription?
        enum CodingKeys: String, CodingKey { case shape, weight }

        init(shape: [Int], weight: PointDescription?) {
            self.shape = shape
            self.weight = weight
        }

        /// Decodes one entry of `layers`; a scheme that fails its own validation is reported with the layer's name.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            shape = try container.decode([Int].self, forKey: .shape)
            do {
                weight = try container.decodeIfPresent(PointDescription.self, forKey: .weight)
            } catch let error as QuantError {
                throw QuantizationError.invalidSavedLayer(
                    path: "", layer: decoder.codingPath.last?.stringValue ?? "?", field: "weight.scheme", reason: "\(error)")
            }
        }
    }

    struct Description: Codable {
        var format: String
        var version: Int
        var recipe: QuantRecipe
        var layers: [String: LayerDescription]
        var activations: [String: PointDescription]
        var inputTransforms: [String: InputTransformDescription]?
        enum CodingKeys: String, CodingKey {
            case format, version, recipe, layers, activations
            case inputTransforms = "input_transforms"
        }
    }

    /// Writes `quantized` to `directory` (replaced when `overwrite`, else it must not exist).
    public static func save(_ quantized: QuantizedModel, to directory: String, overwrite: Bool = false) throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: directory) && !overwrite {
            throw QuantizationError.outputExists(path: directory)
        }
        try AtomicFolder.write(to: directory) { temporary in try write(quantized, into: temporary) }
    }

    static func write(_ quantized: QuantizedModel, into directory: String) throws {
        let model = quantized.loaded.model
        var writer = SafetensorsWriter(metadata: ["format": "pt", "quantization": formatName])
        var layers: [String: LayerDescription] = [:]
        let quantizedNames = Set(model.quantizedWeights.keys)
        // Float tensors: everything that is not a quantized linear weight.
        writer.add("model.embed_tokens.weight", model.embedding)
        writer.add("model.norm.weight", model.finalNorm)
        for (index, block) in model.blocks.enumerated() {
            writer.add("model.layers.\(index).input_layernorm.weight", block.inputNorm)
            writer.add("model.layers.\(index).post_attention_layernorm.weight", block.postAttentionNorm)
        }
        for linear in model.linearLayers {
            if let bias = linear.bias { writer.add("\(linear.name).bias", bias) }
            if let stored = linear.quantizedWeight {
                writer.add("\(linear.name).weight", bytes: stored.codes, elementType: .uint8, shape: [stored.codes.count])
                addParameters(stored.parameters, prefix: "\(linear.name).weight", to: &writer)
                if !stored.blockScales.isEmpty {
                    writer.add("\(linear.name).weight_block_scale", bytes: stored.blockScales, elementType: .uint8, shape: [stored.blockScales.count])
                }
                layers[linear.name] = LayerDescription(
                    shape: stored.shape, weight: PointDescription(scheme: stored.scheme, parameters: stored.parameters.map(ParameterLayoutDescription.init)))
            } else if linear.name != "lm_head" || !model.configuration.tieWordEmbeddings {
                writer.add("\(linear.name).weight", linear.weight)
                layers[linear.name] = LayerDescription(shape: linear.weight.shape, weight: nil)
            }
        }
        precondition(quantizedNames.isSubset(of: Set(layers.keys)))
        var activations: [String: PointDescription] = [:]
        for (point, quantizer) in model.activationQuantizers {
            activations[point.description] = PointDescription(
                scheme: quantizer.scheme, parameters: quantizer.parameters.map(ParameterLayoutDescription.init))
            addParameters(quantizer.parameters, prefix: point.description, to: &writer)
        }
        try writer.write(to: directory + "/model.safetensors")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var transforms: [String: InputTransformDescription] = [:]
        for linear in model.linearLayers { if let t = linear.inputTransform { transforms[linear.name] = .init(t) } }
        let description = Description(
            format: formatName, version: transforms.isEmpty ? formatVersion : inputTransformFormatVersion,
            recipe: quantized.plan.recipe, layers: layers, activations: activations,
            inputTransforms: transforms.isEmpty ? nil : transforms)
        try AtomicFile.write(try encoder.encode(description), to: directory + "/" + descriptionFileName)
        try AtomicFile.write(try encoder.encode(model.configuration), to: directory + "/config.json")
        if let tokenizer = quantized.loaded.tokenizer {
            try AtomicFile.write(tokenizer.tokenizerJSON(), to: directory + "/tokenizer.json")
            var config: [String: String] = [:]
            if let template = quantized.loaded.chatTemplate { config["chat_template"] = template }
            if let bos = tokenizer.bosTokenID.flatMap(tokenizer.token(for:)) { config["bos_token"] = bos }
            if let eos = tokenizer.eosTokenID.flatMap(tokenizer.token(for:)) { config["eos_token"] = eos }
            try AtomicFile.write(try encoder.encode(config), to: directory + "/tokenizer_config.json")
        }
    }

    static func addParameters(_ parameters: QuantParameters?, prefix: String, to writer: inout SafetensorsWriter) {
        guard let parameters else { return }
        writer.add("\(prefix)_scale", Tensor(shape: [parameters.scales.count], scalars: parameters.scales))
        let zeroBytes = parameters.zeroPoints.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        writer.add("\(prefix)_zero_point", bytes: zeroBytes, elementType: .int32, shape: [parameters.zeroPoints.count])
    }

    /// Whether `directory` holds a quantized model.
    public static func isQuantizedFolder(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/" + descriptionFileName)
    }

    /// What a saved folder holds besides `config.json` and the tokenizer.
    public struct Contents: Sendable {
        /// Float tensors by Hugging Face name, quantized linear weights as their dequantized values (those not in
        /// `packed`).
        public var tensors: [String: Tensor]
        /// Quantized linear weights loaded packed (`load(directory:packing:)`), by tensor name (`L.weight`); pass
        /// them to `LlamaModel.init(configuration:tensors:packed:)`.
        public var packed: [String: PackedWeight] = [:]
        /// The stored codes behind each quantized linear weight, by layer name.
        public var quantizedWeights: [String: QuantizedTensor]
        public var activations: [QuantizationPoint: ActivationQuantizer]
        public var recipe: QuantRecipe
        var inputTransforms: [String: InputTransformDescription]
        /// The folder's `quantization.json`, for errors.
        var descriptionPath: String
        /// Every layer `quantization.json` describes, with its shape.
        var layerShapes: [String: [Int]]

        /// Gives a model built from `tensors` its quantization: online input transforms, stored codes, activation
        /// quantizers.
        /// - Throws: `QuantizationError.invalidFolder` for a transform this build cannot rebuild or a point that
        ///   names no layer.
        public func install(into model: inout LlamaModel) throws {
            try QuantizedModelFolder.checkLayersExist(layerShapes, in: model, path: descriptionPath)
            try InputTransformDescription.install(inputTransforms, into: &model, path: descriptionPath)
            for (name, stored) in quantizedWeights {
                model.updateLinear(name) { $0.setQuantizedWeight(stored, dequantized: $0.weight) }
            }
            try model.installActivationQuantizers(activations)
        }
    }

    /// Loads a saved quantized model: float tensors, dequantized weights with their codes, activation quantizers.
    /// With `packing`, weights whose format has a packed form (`PackedWeight.packing`) go to `Contents.packed`
    /// instead and are never dequantized (no float copy in memory).
    public static func load(directory: String, packing: Bool = false) throws -> Contents {
        let descriptionPath = directory + "/" + descriptionFileName
        guard let data = FileManager.default.contents(atPath: descriptionPath) else {
            throw QuantizationError.invalidFolder(path: directory, reason: "cannot read \(descriptionFileName)")
        }
        let description: Description
        do {
            description = try JSONDecoder().decode(Description.self, from: data)
        } catch let error as QuantError {
            throw error
        } catch QuantizationError.invalidSavedLayer(_, let layer, let field, let reason) {
            throw QuantizationError.invalidSavedLayer(path: descriptionPath, layer: layer, field: field, reason: reason)
        } catch {
            throw QuantizationError.invalidFolder(path: descriptionPath, reason: QuantizationError.describe(error))
        }
        let versions = [formatVersion, inputTransformFormatVersion]
        guard description.format == formatName, versions.contains(description.version) else {
            throw QuantizationError.invalidFolder(
                path: descriptionPath,
                reason: "format \(description.format) v\(description.version); this build reads \(formatName) v\(versions[0])-\(versions[1])")
        }
        for (name, layer) in description.layers.sorted(by: { $0.key < $1.key }) {
            try validateDescription(layer, name: name, path: descriptionPath)
        }
        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        var tensors: [String: Tensor] = [:]
        var quantizedWeights: [String: QuantizedTensor] = [:]
        var packed: [String: PackedWeight] = [:]
        for (name, layer) in description.layers.sorted(by: { $0.key < $1.key }) {
            if let point = layer.weight {
                if packing,
                   let weight = try checkedPackedWeight(layer, point: point, name: name, file: file, path: descriptionPath) {
                    packed["\(name).weight"] = weight
                    continue
                }
                let (stored, dequantized) = try checkedWeight(layer, point: point, name: name, file: file, path: descriptionPath)
                tensors["\(name).weight"] = dequantized
                quantizedWeights[name] = stored
            } else {
                guard file.contains("\(name).weight") else {
                    throw QuantizationError.invalidSavedLayer(
                        path: descriptionPath, layer: name, field: "weight", reason: "tensor \(name).weight is missing from model.safetensors")
                }
                let shape = try file.info("\(name).weight").shape
                guard shape == layer.shape else {
                    throw QuantizationError.invalidSavedLayer(
                        path: descriptionPath, layer: name, field: "shape", reason: "\(layer.shape), but \(name).weight is \(shape)")
                }
            }
        }
        let parameterSuffixes = ["_scale", "_zero_point", "_block_scale"]
        for name in file.names where !parameterSuffixes.contains(where: { name.hasSuffix($0) }) && tensors[name] == nil
            && packed[name] == nil {
            tensors[name] = try file.tensor(name)
        }
        var points: [QuantizationPoint: ActivationQuantizer] = [:]
        for (key, point) in description.activations.sorted(by: { $0.key < $1.key }) {
            guard let dot = key.lastIndex(of: "."), let kind = QuantizationPoint.Kind(rawValue: String(key[key.index(after: dot)...])) else {
                throw QuantizationError.invalidSavedLayer(
                    path: descriptionPath, layer: key, field: "activations", reason: "not LAYER.input, .output, .keys or .values")
            }
            func fail(_ field: String, _ reason: String) -> QuantizationError {
                .invalidSavedLayer(path: descriptionPath, layer: key, field: field, reason: reason)
            }
            do { try point.scheme.validate() } catch { throw fail("scheme", "\(error)") }
            var parameters: QuantParameters?
            if let layout = point.parameters {
                try validateLayout(layout, scheme: point.scheme, shape: nil, field: "parameters", fail: fail)
                parameters = try checkedParameters(
                    layout, scheme: point.scheme, prefix: key, layer: key, file: file, path: descriptionPath)
            }
            points[QuantizationPoint(layer: String(key[..<dot]), kind: kind)] = ActivationQuantizer(
                scheme: point.scheme, parameters: parameters)
        }
        return Contents(
            tensors: tensors, packed: packed, quantizedWeights: quantizedWeights, activations: points,
            recipe: description.recipe, inputTransforms: description.inputTransforms ?? [:],
            descriptionPath: descriptionPath, layerShapes: description.layers.mapValues(\.shape))
    }

}
