import Foundation
import Inference
import ModelFormats
import QuantCore
import TensorCore

/// Reads a Hugging Face folder whose `config.json` has a compressed-tensors `quantization_config` (what
/// `quanta export --format hf` writes, and what LLM Compressor writes for dense Llama models) into Quanta's model:
/// each quantized linear gets its stored codes (`QuantizedTensor`), its dequantized weight, and its activation
/// quantizers; blocks get their KV-cache quantizers.
///
/// Tensors per quantized layer `L` (compressed-tensors 0.20.1, `compressors/`): `pack-quantized`:
/// `L.weight_packed` (I32 `[out, ⌈in·b/32⌉]`, `CompressedTensorsPacking`), `L.weight_shape` (`[out, in]`),
/// `L.weight_scale`, and for asymmetric channel/group schemes `L.weight_zero_point` packed along columns;
/// `int-quantized`/`naive-quantized`: `L.weight` as I8 codes; `float-quantized`: `L.weight` as F8_E4M3. Scales are
/// `[1]` (tensor), `[out, 1]` (channel) or `[out, in / group_size]` (group). Static activation scales are
/// `L.input_scale`/`L.output_scale` (`[1]`, with `_zero_point` when asymmetric); the KV cache's are
/// `model.layers.N.self_attn.k_scale` and `v_scale`.
public enum CompressedTensorsFolder {
    /// What the folder holds besides `config.json` and the tokenizer.
    public struct Contents: Sendable {
        /// Float tensors by Hugging Face name, quantized linear weights as their dequantized values.
        public var tensors: [String: Tensor]
        /// The stored codes behind each quantized linear weight, by layer name.
        public var quantizedWeights: [String: QuantizedTensor]
        public var activations: [QuantizationPoint: ActivationQuantizer]
        /// The checkpoint's format and group count, for summaries.
        public var format: String
        public var groupCount: Int

        /// Gives a model built from `tensors` its stored codes and activation quantizers.
        public func install(into model: inout LlamaModel) throws {
            for (name, stored) in quantizedWeights {
                model.updateLinear(name) { $0.setQuantizedWeight(stored, dequantized: $0.weight) }
            }
            try model.installActivationQuantizers(activations)
        }
    }

    /// The compressed-tensors `quantization_config` of a `config.json`, nil when it has none.
    /// - Throws: `QuantizationError.invalidFolder` for a `quantization_config` of another method, or one that does
    ///   not decode.
    public static func configuration(configJSON data: Data, path: String) throws -> CompressedTensorsConfiguration? {
        struct Probe: Decodable {
            struct Method: Decodable { var quant_method: String? }
            var quantization_config: Method?
        }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: data), let method = probe.quantization_config
        else {
            return nil
        }
        guard method.quant_method == CompressedTensorsConfiguration.quantMethod else {
            throw QuantizationError.invalidFolder(
                path: path,
                reason:
                    "quantization_config.quant_method '\(method.quant_method ?? "null")' is not supported (Quanta reads compressed-tensors)"
            )
        }
        struct Wrapper: Decodable { var quantization_config: CompressedTensorsConfiguration }
        do {
            return try JSONDecoder().decode(Wrapper.self, from: data).quantization_config
        } catch {
            throw QuantizationError.invalidFolder(
                path: path, reason: "quantization_config: \(QuantizationError.describe(error))")
        }
    }

    /// The Hugging Face names of a Llama model's linear layers (the module names compressed-tensors matches).
    public static func linearNames(_ c: LlamaConfiguration) -> [String] {
        let projections = [
            "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
            "mlp.up_proj", "mlp.down_proj",
        ]
        var names = (0..<c.layerCount).flatMap { index in projections.map { "model.layers.\(index).\($0)" } }
        names.append("lm_head")
        return names
    }

    /// Whether `target` (a name, a `re:` pattern matched from the start as Python's `re.match`, or the class name
    /// `Linear`) selects the linear layer `name`.
    public static func matches(_ target: String, linear name: String) -> Bool {
        if target == "Linear" { return true }
        guard target.hasPrefix("re:") else { return target == name }
        guard
            let pattern = try? NSRegularExpression(pattern: String(target.dropFirst(3)), options: [.anchorsMatchLines])
        else {
            return false
        }
        let range = NSRange(name.startIndex..., in: name)
        return pattern.firstMatch(in: name, options: [.anchored], range: range) != nil
    }

    /// The group that quantizes `name`, nil for a layer kept in float.
    /// - Throws: `QuantizationError.invalidFolder` when two groups claim the layer.
    static func group(
        of name: String, in q: CompressedTensorsConfiguration, path: String
    ) throws -> (String, CompressedTensorsConfiguration.Scheme)? {
        if q.ignore.contains(where: { matches($0, linear: name) }) { return nil }
        // The package prefers an exact name over a regex over a class name; a layer claimed twice at one level is
        // ambiguous.
        func rank(_ target: String) -> Int { target == name ? 0 : target.hasPrefix("re:") ? 1 : 2 }
        var best: (rank: Int, name: String, scheme: CompressedTensorsConfiguration.Scheme)? = nil
        for (groupName, scheme) in q.configGroups.sorted(by: { $0.key < $1.key }) {
            guard let r = scheme.targets.filter({ matches($0, linear: name) }).map(rank).min() else { continue }
            if let current = best, current.rank == r {
                throw QuantizationError.invalidFolder(
                    path: path, reason: "\(name) is a target of both \(current.name) and \(groupName)")
            }
            if best == nil || r < best!.rank { best = (r, groupName, scheme) }
        }
        return best.map { ($0.name, $0.scheme) }
    }

    /// Loads the tensors and quantization of `directory` for a model of configuration `c`.
    /// - Throws: `QuantizationError.invalidFolder` naming the file, layer or tensor for anything this build cannot
    ///   read (a method, format, strategy or transform it does not run; tensors that disagree with their shapes);
    ///   `FormatError` for a truncated or corrupt safetensors file.
    public static func load(
        directory: String, configuration c: LlamaConfiguration, quantization q: CompressedTensorsConfiguration
    ) throws -> Contents {
        let configPath = directory + "/config.json"
        func invalid(_ reason: String) -> QuantizationError { .invalidFolder(path: configPath, reason: reason) }
        guard q.quantizationStatus == "compressed" else {
            throw invalid(
                "quantization_status '\(q.quantizationStatus)': only compressed checkpoints (weights stored as codes) are read"
            )
        }
        if let t = q.transformConfig, !t.isEmpty {
            throw invalid("transform_config (online rotations) is not supported")
        }
        if let s = q.sparsityConfig, !s.isEmpty { throw invalid("sparsity_config is not supported") }
        let weights = try ShardedSafetensors(directory: directory)
        var reader = TensorReader(weights: weights, directory: directory)
        var quantizedWeights: [String: QuantizedTensor] = [:]
        var tensors: [String: Tensor] = [:]
        var activations: [QuantizationPoint: ActivationQuantizer] = [:]
        for name in linearNames(c) where !(name == "lm_head" && c.tieWordEmbeddings) {
            guard let (groupName, scheme) = try group(of: name, in: q, path: configPath) else { continue }
            let place = "\(configPath): config_groups.\(groupName) (\(name))"
            if let arguments = scheme.weights {
                let format = scheme.format ?? q.format
                let stored = try reader.weight(name, arguments: arguments, format: format, place: place)
                tensors[name + ".weight"] = try stored.dequantized()
                quantizedWeights[name] = stored
            }
            for (arguments, kind) in [
                (scheme.inputActivations, QuantizationPoint.Kind.input), (scheme.outputActivations, .output),
            ] {
                guard let arguments else { continue }
                activations[QuantizationPoint(layer: name, kind: kind)] = try reader.activation(
                    prefix: "\(name).\(kind.rawValue)", arguments: arguments, place: place)
            }
        }
        if let arguments = q.kvCacheScheme {
            for index in 0..<c.layerCount {
                for (kind, prefix) in [(QuantizationPoint.Kind.keys, "k"), (.values, "v")] {
                    activations[.keyValue(index, kind)] = try reader.activation(
                        prefix: "model.layers.\(index).self_attn.\(prefix)", arguments: arguments,
                        place: "\(configPath): kv_cache_scheme")
                }
            }
        }
        for name in weights.names where !reader.consumed.contains(name) && tensors[name] == nil {
            tensors[name] = try weights.tensor(name)
        }
        return Contents(
            tensors: tensors, quantizedWeights: quantizedWeights, activations: activations, format: q.format,
            groupCount: q.configGroups.count)
    }
}
