import QuantCore

/// Per-layer choices added on top of a recipe (rollback to float, another scheme for some layers). They become
/// overrides appended after the recipe's own, so they win over them field by field, and the saved recipe records them.
extension QuantRecipe {
    /// Keeps the linears matching `pattern` (an exact name or a glob) in float.
    public mutating func keepFloat(_ pattern: String) {
        overrides.append(Override(pattern: pattern, exclude: true))
    }

    /// Gives the linears matching `pattern` `other`'s linear schemes: its weight scheme, and its input and output
    /// schemes, a point `other` leaves in float staying in float (`w8a16` keeps the inputs in float).
    /// - Throws: `QuantError.invalidConfiguration` when `other` quantizes no linear weights (keeping layers in float
    ///   is an exclusion, not a scheme), or when the result is impossible.
    public mutating func override(_ pattern: String, with other: QuantRecipe) throws(QuantError) {
        guard let weight = other.weight else {
            throw .invalidConfiguration(
                field: "overrides[\(pattern)]",
                reason: "recipe '\(other.name)' quantizes no linear weights; exclude the layers to keep them in float")
        }
        overrides.append(Override(
            pattern: pattern, weight: weight, input: other.input, output: other.output,
            keepsInputFloat: other.input == nil, keepsOutputFloat: other.output == nil))
        try validate()
    }

    /// The patterns among `patterns` that match none of `layerNames`.
    public static func unmatched(_ patterns: [String], in layerNames: [String]) -> [String] {
        patterns.filter { pattern in !layerNames.contains { LayerPattern.matches(pattern, $0) } }
    }
}
