import QuantAlgorithms
import QuantCore
import Quantization

/// The search space of `quanta tune`: per layer, a ladder of precisions above the recipe's scheme, and whole-model
/// alternatives to the recipe.
public enum TuneCandidates {
    /// A layer's place on the ladder, from the recipe's own scheme up to float.
    public enum Level: String, Codable, Sendable, CaseIterable {
        /// The recipe's scheme.
        case recipe
        /// A higher-precision scheme: int8 per-channel weights instead of fewer bits or one scale per tensor;
        /// per-token dynamic inputs instead of static ones.
        case raised
        /// Raised weights, inputs and outputs in float (the layer runs as W8A16).
        case floatInput = "float-input"
        /// The whole layer in float.
        case float
    }

    /// The weight scheme a raised layer takes: int8 with a scale per output channel, in place of integer weights with
    /// fewer bits or with one scale for the whole tensor (at the same 8 bits, per-tensor weights are what keeps W8A8
    /// static above a 1% budget on SmolLM2 even with every input raised); nil when the recipe's already is at least
    /// that (or not an integer).
    static func raisedWeight(_ recipe: QuantRecipe) -> QuantScheme? {
        guard let weight = recipe.weight, weight.dataType.isInteger,
              weight.dataType.bitWidth < 8 || weight.granularity == .perTensor else { return nil }
        return try? QuantScheme(dataType: .int8, granularity: .perChannel)
    }

    /// The input scheme a raised layer takes: the recipe's static scheme computed per token on every call.
    static func raisedInput(_ recipe: QuantRecipe) -> QuantScheme? {
        guard var input = recipe.input, !input.isDynamic, !input.dataType.isMicroscaling else { return nil }
        input.isDynamic = true
        input.granularity = .perToken
        input.groupSize = nil
        input.observer = .minMax
        return (try? input.validate()).map { input }
    }

    /// The levels above `.recipe` that change something for `recipe`, cheapest first.
    public static func levels(for recipe: QuantRecipe) -> [Level] {
        var levels: [Level] = []
        if raisedWeight(recipe) != nil || raisedInput(recipe) != nil { levels.append(.raised) }
        if recipe.input != nil || recipe.output != nil { levels.append(.floatInput) }
        levels.append(.float)
        return levels
    }

    /// `recipe` with the layers `names` at `level` (exact-name overrides appended after the recipe's own).
    public static func recipe(_ recipe: QuantRecipe, raising names: some Sequence<String>, to level: Level) -> QuantRecipe {
        var result = recipe
        for name in names {
            switch level {
            case .recipe: continue
            case .raised:
                result.overrides.append(.init(pattern: name, weight: raisedWeight(recipe), input: raisedInput(recipe)))
            case .floatInput:
                result.overrides.append(.init(
                    pattern: name, weight: raisedWeight(recipe), keepsInputFloat: recipe.input != nil,
                    keepsOutputFloat: recipe.output != nil))
            case .float:
                result.keepFloat(name)
            }
        }
        return result
    }

    /// A whole-model change to the recipe, tried before the per-layer search.
    public enum Alternative: Sendable, Equatable, CustomStringConvertible {
        /// Prepend an algorithm (rotation, smoothquant, awq, gptq) with its default settings.
        case algorithm(String)
        /// Another observer for the static activation scales.
        case observer(ObserverKind)
        /// Another number of calibration samples.
        case samples(Int)

        /// Parses `rotation`, `smoothquant`, `observer:percentile`, `samples:32`.
        /// - Throws: `PipelineError.invalidArgument` naming the entry.
        public init(_ text: String) throws {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            switch (parts.first ?? "", parts.count) {
            case ("observer", 2):
                let kind: ObserverKind
                do { kind = try ObserverKind.make(parts[1], momentum: nil, percentile: nil, bins: nil) } catch {
                    throw PipelineError.invalidArgument("alternative '\(text)': \(error)")
                }
                self = .observer(kind)
            case ("samples", 2):
                guard let count = Int(parts[1]), count >= 1 else {
                    throw PipelineError.invalidArgument("alternative '\(text)': samples must be a whole number >= 1")
                }
                self = .samples(count)
            case (let name, 1):
                do { _ = try AlgorithmStep.named(name) } catch {
                    throw PipelineError.invalidArgument("alternative '\(text)': \(error)")
                }
                self = .algorithm(name)
            default:
                throw PipelineError.invalidArgument(
                    "alternative '\(text)': expected an algorithm name, observer:NAME or samples:N")
            }
        }

        public var description: String {
            switch self {
            case .algorithm(let name): "+" + name
            case .observer(let kind): "observer " + kind.methodName
            case .samples(let count): "\(count) calibration samples"
            }
        }

        /// `recipe` changed by this alternative.
        /// - Throws: `QuantError` when the result is impossible (an algorithm already in the recipe, an observer on a
        ///   recipe without static inputs).
        public func apply(to recipe: QuantRecipe) throws -> QuantRecipe {
            var result = recipe
            switch self {
            case .algorithm(let name):
                let step = try AlgorithmStep.named(name)
                // Whole-model transforms run first, GPTQ last; others before GPTQ.
                let position = step.stage == .wholeModel ? 0 : result.algorithms.firstIndex { $0.name == "gptq" } ?? result.algorithms.count
                result.algorithms.insert(step, at: position)
            case .observer(let kind):
                guard result.input != nil else {
                    throw QuantError.invalidConfiguration(field: "input.observer", reason: "the recipe quantizes no inputs")
                }
                result.input!.observer = kind
            case .samples(let count):
                guard result.calibration.tokenFile == nil else {
                    throw QuantError.invalidConfiguration(
                        field: "calibration.samples",
                        reason: "the calibration windows come from a token file, used as they are; \(description) does not apply")
                }
                result.calibration.samples = count
            }
            result.name = recipe.name + " " + description
            try result.validate()
            return result
        }

        /// The alternatives tried when none are named: rotation for recipes with static per-tensor inputs (where it
        /// helps most and costs about a second), none otherwise.
        public static func defaults(for recipe: QuantRecipe) -> [Alternative] {
            guard let input = recipe.input, !input.isDynamic, !recipe.algorithms.contains(where: { $0.name == "rotation" })
            else { return [] }
            return [.algorithm("rotation")]
        }
    }
}
