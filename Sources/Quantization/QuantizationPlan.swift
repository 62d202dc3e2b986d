import Inference
import QuantCore

/// A recipe resolved against one model: for every linear layer, the schemes that apply after overrides and
/// exclusions. Building the plan checks everything that needs the model before any work starts.
public struct QuantizationPlan: Sendable {
    /// What happens to one linear layer.
    public struct LayerPlan: Sendable, Equatable {
        public var name: String
        public var inFeatures: Int
        public var outFeatures: Int
        public var weight: QuantScheme?
        public var input: QuantScheme?
        public var output: QuantScheme?
        /// True when the layer stays in float (excluded).
        public var isExcluded: Bool { weight == nil && input == nil && output == nil }
    }

    public let recipe: QuantRecipe
    /// Every linear layer in model order.
    public let layers: [LayerPlan]

    /// Resolves `recipe` for `model`.
    /// - Throws: `QuantError.invalidConfiguration` for an override or exclude pattern that matches no layer, or a
    ///   group size larger than a layer's input dimension (naming the layer).
    public init(recipe: QuantRecipe, model: some TransformerModel) throws(QuantError) {
        self.recipe = recipe
        let linears = model.linearLayers
        for pattern in recipe.exclude where !linears.contains(where: { LayerPattern.matches(pattern, $0.name) }) {
            throw .invalidConfiguration(field: "exclude", reason: "pattern '\(pattern)' matches no layer of the model")
        }
        for override in recipe.overrides where !linears.contains(where: { LayerPattern.matches(override.pattern, $0.name) }) {
            throw .invalidConfiguration(
                field: "overrides", reason: "pattern '\(override.pattern)' matches no layer (layers look like 'model.layers.0.mlp.down_proj')")
        }
        var layers: [LayerPlan] = []
        for linear in linears {
            var plan = LayerPlan(
                name: linear.name, inFeatures: linear.inFeatures, outFeatures: linear.outFeatures,
                weight: recipe.weight, input: recipe.input, output: recipe.output)
            var excluded = recipe.exclude.contains { LayerPattern.matches($0, linear.name) }
            // Later overrides win over earlier ones, field by field.
            for override in recipe.overrides where LayerPattern.matches(override.pattern, linear.name) {
                if override.exclude { excluded = true }
                if let weight = override.weight { plan.weight = weight }
                if let input = override.input { plan.input = input }
                if let output = override.output { plan.output = output }
                if override.keepsInputFloat { plan.input = nil }
                if override.keepsOutputFloat { plan.output = nil }
            }
            if excluded {
                plan.weight = nil
                plan.input = nil
                plan.output = nil
            }
            for scheme in [plan.weight, plan.input].compactMap({ $0 }) {
                try scheme.validate(forInputDimension: linear.inFeatures, layer: linear.name)
            }
            if let output = plan.output { try output.validate(forInputDimension: linear.outFeatures, layer: linear.name) }
            layers.append(plan)
        }
        self.layers = layers
    }

    /// Layers whose weights are quantized.
    public var quantizedLayerCount: Int { layers.filter { $0.weight != nil }.count }
    /// Layers left entirely in float.
    public var excludedLayerNames: [String] { layers.filter(\.isExcluded).map(\.name) }
}
