import Foundation
import Inference
import Quantization

extension CompressedTensorsExport {
    /// Groups the planned layers by scheme: `group_0`, `group_1`, ... in order of first appearance.
    ///
    /// Targets: a model with one group targets the class `Linear` and lists every float linear in `ignore` (the LM
    /// head included, tied or not, since transformers builds it as a Linear). With several groups, a projection that
    /// is in one group in every block becomes `re:.*PROJECTION$`, the rest exact names. The format is the groups'
    /// common format, or `mixed-precision` with each group's own.
    static func quantizationConfiguration(_ plan: Plan, model: LlamaModel) -> CompressedTensorsConfiguration {
        var schemes: [CompressedTensorsConfiguration.Scheme] = []
        var members: [[String]] = []
        var ignore: [String] = []
        for layer in plan.layers {
            guard let scheme = layer.scheme else {
                ignore.append(layer.linear.name)
                continue
            }
            if let index = schemes.firstIndex(of: scheme) {
                members[index].append(layer.linear.name)
            } else {
                schemes.append(scheme)
                members.append([layer.linear.name])
            }
        }
        if model.configuration.tieWordEmbeddings { ignore.append(model.lmHead.name) }
        let formats = Set(schemes.compactMap(\.format))
        let format = formats.count == 1 ? formats.first! : formats.isEmpty ? "dense" : "mixed-precision"
        var groups: [String: CompressedTensorsConfiguration.Scheme] = [:]
        for (index, var scheme) in schemes.enumerated() {
            scheme.targets = schemes.count == 1 ? ["Linear"] : targets(members[index], blockCount: model.blocks.count)
            if formats.count == 1 { scheme.format = nil }
            groups["group_\(index)"] = scheme
        }
        return CompressedTensorsConfiguration(
            format: format, configGroups: groups, ignore: ignore, kvCacheScheme: plan.keyValue?.arguments)
    }

    /// `names` as `re:` patterns for projections the group holds in every block, exact names otherwise.
    static func targets(_ names: [String], blockCount: Int) -> [String] {
        var byProjection: [String: [String]] = [:]
        var order: [String] = []
        for name in names {
            let parts = name.split(separator: ".", maxSplits: 3)
            // model.layers.N.<projection>
            let projection = parts.count == 4 && parts[1] == "layers" ? String(parts[3]) : name
            if byProjection[projection] == nil { order.append(projection) }
            byProjection[projection, default: []].append(name)
        }
        return order.flatMap { projection -> [String] in
            let group = byProjection[projection]!
            if group.count == blockCount && projection != group[0] {
                return ["re:.*" + projection.replacingOccurrences(of: ".", with: "\\.") + "$"]
            }
            return group
        }
    }

    /// config.json: the Llama configuration as transformers writes it, plus `quantization_config`.
    static func configJSON(_ loaded: LoadedModel, quantization: CompressedTensorsConfiguration, floatType: FloatType)
        throws -> Data
    {
        struct Document: Encodable {
            var llama: LlamaConfiguration
            var extra: Extra
            struct Extra: Encodable {
                var architectures = ["LlamaForCausalLM"]
                var hidden_act = "silu"
                var torch_dtype: String
                var attention_bias: Bool
                var mlp_bias: Bool
                var bos_token_id: Int?
                var eos_token_id: Int?
                var quantization_config: CompressedTensorsConfiguration
            }
            func encode(to encoder: any Encoder) throws {
                try llama.encode(to: encoder)
                try extra.encode(to: encoder)
            }
        }
        let model = loaded.model
        let attention = model.blocks.contains { block in
            [block.queryProjection, block.keyProjection, block.valueProjection, block.outputProjection].contains {
                $0.bias != nil
            }
        }
        let mlp = model.blocks.contains { block in
            [block.gateProjection, block.upProjection, block.downProjection].contains { $0.bias != nil }
        }
        let document = Document(
            llama: model.configuration,
            extra: .init(
                torch_dtype: floatType.torchName, attention_bias: attention, mlp_bias: mlp,
                bos_token_id: loaded.tokenizer?.bosTokenID, eos_token_id: loaded.tokenizer?.eosTokenID,
                quantization_config: quantization))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(document)
    }
}
