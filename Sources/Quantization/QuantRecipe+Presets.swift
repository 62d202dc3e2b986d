import QuantAlgorithms
import QuantCore

/// Named recipes for the common cases (`quanta recipes` lists them).
extension QuantRecipe {
    /// Preset names with a one-line description, in display order.
    public static let presetDescriptions: [(name: String, summary: String)] = [
        ("w8a16", "int8 weights per output channel, symmetric; activations in float"),
        ("w8a8-int8-static", "int8 weights and inputs, per tensor, symmetric; input scales calibrated (MinMax)"),
        ("w8a8-int8-dynamic", "int8 weights per channel; int8 inputs per token, scales computed on every call"),
        ("w4a16-g128", "uint4 weights, asymmetric, groups of 128 (ragged last group); activations in float"),
        ("w4a16-g64", "uint4 weights, asymmetric, groups of 64; activations in float"),
        ("w4a16-g32", "uint4 weights, asymmetric, groups of 32; activations in float"),
        ("w4a8-g128", "uint4 weights, asymmetric, groups of 128; int8 inputs per token, computed on every call"),
        ("fp8", "FP8 E4M3 weights per channel and inputs per tensor (static, calibrated)"),
        ("mxfp8", "OCP MXFP8 (E4M3) weights and inputs, blocks of 32 with E8M0 scales; scale_mode search"),
        ("mxfp6", "OCP MXFP6 (E2M3) weights and inputs, blocks of 32 with E8M0 scales; scale_mode even (Quark's rule)"),
        ("mxfp4", "OCP MXFP4 (E2M1) weights and inputs, blocks of 32 with E8M0 scales; scale_mode even (Quark's rule)"),
        ("w4a16-g128-gptq", "w4a16-g128 rounded by GPTQ (act-order, static groups, range search); needs calibration"),
        ("w4a16-g64-gptq", "w4a16-g64 rounded by GPTQ (act-order, static groups, range search)"),
        ("w4a16-g32-gptq", "w4a16-g32 (llama.cpp Q4_1's grid) rounded by GPTQ (act-order, static groups, range search)"),
        ("w4a16-g128-awq", "w4a16-g128 with AWQ's activation-aware scales and clipping"),
        ("w8a8-int8-static-rotation", "w8a8-int8-static after a Hadamard rotation of the residual stream (QuaRot)"),
        ("w8a8-int8-static-smoothquant", "w8a8-int8-static after SmoothQuant (alpha 0.5) moves input outliers into weights"),
        ("w4a8-g128-rotation-gptq", "uint4 g128 weights, int8 per-token inputs; rotation, then GPTQ (QuaRot's W4A8)"),
    ]

    /// Presets that are another preset plus algorithms, in the order they run: the best settings measured on
    /// SmolLM2-135M (benchmarks/results/algorithms-*.md): each algorithm's `--algorithm` defaults.
    static let algorithmPresets: [String: (base: String, algorithms: [String])] = [
        "w4a16-g128-gptq": ("w4a16-g128", ["gptq"]),
        "w4a16-g64-gptq": ("w4a16-g64", ["gptq"]),
        "w4a16-g32-gptq": ("w4a16-g32", ["gptq"]),
        "w4a16-g128-awq": ("w4a16-g128", ["awq"]),
        "w8a8-int8-static-rotation": ("w8a8-int8-static", ["rotation"]),
        "w8a8-int8-static-smoothquant": ("w8a8-int8-static", ["smoothquant"]),
        "w4a8-g128-rotation-gptq": ("w4a8-g128", ["rotation", "gptq"]),
    ]

    /// The preset called `name`.
    /// - Throws: `QuantError.invalidConfiguration` naming the known presets.
    public static func preset(_ name: String) throws(QuantError) -> QuantRecipe {
        switch name {
        case "w8a16":
            return try QuantRecipe(name: name, weight: .init(dataType: .int8, granularity: .perChannel))
        case "w8a8-int8-static":
            return try QuantRecipe(name: name, weight: .init(dataType: .int8), input: .init(dataType: .int8))
        case "w8a8-int8-dynamic":
            return try QuantRecipe(
                name: name, weight: .init(dataType: .int8, granularity: .perChannel),
                input: .init(dataType: .int8, granularity: .perToken, isDynamic: true))
        case "w4a16-g128", "w4a16-g64", "w4a16-g32":
            let groupSize = Int(name.dropFirst("w4a16-g".count))!
            return try QuantRecipe(
                name: name, weight: .init(dataType: .uint4, granularity: .perGroup, groupSize: groupSize, isSymmetric: false))
        case "fp8":
            return try QuantRecipe(
                name: name, weight: .init(dataType: .fp8_e4m3, granularity: .perChannel), input: .init(dataType: .fp8_e4m3))
        case "w4a8-g128":
            return try QuantRecipe(
                name: name, weight: .init(dataType: .uint4, granularity: .perGroup, groupSize: 128, isSymmetric: false),
                input: .init(dataType: .int8, granularity: .perToken, isDynamic: true))
        case let name where algorithmPresets[name] != nil:
            let (base, algorithms) = algorithmPresets[name]!
            var recipe = try preset(base)
            recipe.name = name
            recipe.algorithms = try algorithms.map { (algorithm) throws(QuantError) in try AlgorithmStep.named(algorithm) }
            try recipe.validate()
            return recipe
        case "mxfp8", "mxfp6", "mxfp4":
            let type: QuantDataType = name == "mxfp8" ? .mxfp8_e4m3 : name == "mxfp6" ? .mxfp6_e2m3 : .mxfp4_e2m1
            // The block exponent rule measured best on SmolLM2 (benchmarks/results/mx-scale-modes-*.md).
            let mode: MXScaleMode = name == "mxfp8" ? .search : .even
            return try QuantRecipe(
                name: name, weight: .init(dataType: type, granularity: .perBlock, scaleMode: mode),
                input: .init(dataType: type, granularity: .perBlock, isDynamic: true, scaleMode: mode))
        default:
            throw .invalidConfiguration(
                field: "recipe", reason: "unknown preset '\(name)'; presets: \(presetDescriptions.map(\.name).joined(separator: ", ")) (or pass a .json/.yaml file)")
        }
    }
}
