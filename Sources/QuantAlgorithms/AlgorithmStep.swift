import Foundation
import QuantCore

/// One post-training algorithm of a recipe, with its configuration decoded and validated once.
///
/// Adding an algorithm: its type, its `Configuration` and its conformance to the driver's protocol for its stage
/// (`ModelTransforming`, `ScaleMigrating` or `WeightRounding`) in a file of their own, then a case here and one row
/// in `registry`; the recipe decoder, the ordering rules, the block-wise driver and the list users see follow.
public enum AlgorithmStep: Sendable, Equatable {
    case rotation(Rotation.Configuration)
    case smoothQuant(SmoothQuant.Configuration)
    case awq(AWQ.Configuration)
    case gptq(GPTQ.Configuration)

    /// When a step runs, which fixes the order of a recipe's steps.
    public enum Stage: Int, Comparable, Sendable {
        /// Transforms the whole float model before any calibration (rotation).
        case wholeModel
        /// Moves per-channel scales between layers of a block, keeping its function (SmoothQuant, AWQ).
        case scaleMigration
        /// Chooses a block's weight codes (GPTQ); replaces round-to-nearest.
        case weightRounding

        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    /// One algorithm: its name as recipes and `--algorithm` spell it, its stage, and how to build its step.
    public struct Registration: Sendable {
        public let name: String
        public let stage: Stage
        /// Whether it needs quantized integer weights to work on.
        public let needsIntegerWeights: Bool
        /// One line for `quanta recipes`.
        public let summary: String
        /// The setting keys its configuration reads.
        public let settingKeys: [String]
        let makeDefault: @Sendable () throws(QuantError) -> AlgorithmStep
        let decode: @Sendable (any Decoder) throws -> AlgorithmStep
        let encode: @Sendable (AlgorithmStep, any Encoder) throws -> Void
        let unwrapsSelf: @Sendable (AlgorithmStep) -> Bool
        let makeRole: @Sendable (AlgorithmStep) -> Role
    }

    /// Every algorithm, in the order `quanta recipes` lists them.
    public static let registry: [Registration] = [
        .init(
            name: "rotation", stage: .wholeModel, needsIntegerWeights: false,
            summary: "QuaRot: Hadamard rotation of the residual stream, online down_proj and per-head value rotations",
            keys: Rotation.Configuration.CodingKeys.self, makeDefault: { .rotation(Rotation.Configuration()) },
            wrap: AlgorithmStep.rotation, unwrap: { if case .rotation(let c) = $0 { c } else { nil } }, role: { .modelTransform(Rotation($0)) }),
        .init(
            name: "smoothquant", stage: .scaleMigration, needsIntegerWeights: false,
            summary: "SmoothQuant: migrates activation outliers into the weights (alpha, or searched per group)",
            keys: SmoothQuant.Configuration.CodingKeys.self, makeDefault: { () throws(QuantError) in .smoothQuant(try SmoothQuant.Configuration()) },
            wrap: AlgorithmStep.smoothQuant, unwrap: { if case .smoothQuant(let c) = $0 { c } else { nil } }, role: { .scaleMigration(SmoothQuant($0)) }),
        .init(
            name: "awq", stage: .scaleMigration, needsIntegerWeights: true,
            summary: "AWQ: activation-aware per-channel weight scales and clipping",
            keys: AWQ.Configuration.CodingKeys.self, makeDefault: { () throws(QuantError) in .awq(try AWQ.Configuration()) },
            wrap: AlgorithmStep.awq, unwrap: { if case .awq(let c) = $0 { c } else { nil } }, role: { .scaleMigration(AWQ($0)) }),
        .init(
            name: "gptq", stage: .weightRounding, needsIntegerWeights: true,
            summary: "GPTQ: Hessian-guided rounding with error feedback (act_order, mse range search)",
            keys: GPTQ.Configuration.CodingKeys.self, makeDefault: { .gptq(GPTQ.Configuration.recommended) },
            wrap: AlgorithmStep.gptq, unwrap: { if case .gptq(let c) = $0 { c } else { nil } }, role: { .weightRounding(GPTQ($0)) }),
    ]

    /// The names `registry` knows.
    public static var names: [String] { registry.map(\.name) }

    /// The registration of a user-typed name (case-insensitive; `smooth_quant` and `Smooth-Quant` accepted).
    /// - Throws: `QuantError.invalidConfiguration` naming the available algorithms.
    public static func registration(named name: String) throws(QuantError) -> Registration {
        let key = String(name.lowercased().filter { $0 != "_" && $0 != "-" })
        guard let found = registry.first(where: { $0.name == key }) else {
            throw .invalidConfiguration(
                field: "algorithms", reason: "'\(name)' is not available (available: \(names.joined(separator: ", ")))")
        }
        return found
    }

    /// The step of a user-typed name with its default configuration.
    public static func named(_ name: String) throws(QuantError) -> AlgorithmStep {
        try registration(named: name).makeDefault()
    }

    public var registration: Registration {
        // Every case has exactly one row: `registry` is built from the cases.
        Self.registry.first { $0.unwrapsSelf(self) }!
    }

    public var name: String { registration.name }
    /// The algorithm, configured, as the driver runs it.
    public var role: Role { registration.makeRole(self) }
    public var stage: Stage { registration.stage }

    /// The ordering and prerequisite rules of a recipe's steps, in one place: each algorithm at most once, stages in
    /// order (rotation first, scale migrations, GPTQ last), integer weights where an algorithm needs them.
    /// - Parameters: `weightSchemes`: every weight scheme the recipe can give a layer (recipe level and overrides).
    /// - Throws: `QuantError.invalidConfiguration` with field `algorithms`.
    public static func validate(_ steps: [AlgorithmStep], weightSchemes: [QuantScheme]) throws(QuantError) {
        let names = steps.map(\.name)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw .invalidConfiguration(field: "algorithms", reason: "'\(repeated)' is listed more than once")
        }
        for (earlier, later) in zip(steps, steps.dropFirst()) where later.stage < earlier.stage {
            let reason = later.stage == .wholeModel
                ? "\(later.name) transforms the whole model and must come first"
                : "\(earlier.name) rounds the weights and must come last"
            throw .invalidConfiguration(field: "algorithms", reason: reason)
        }
        for step in steps where step.registration.needsIntegerWeights {
            guard !weightSchemes.isEmpty else {
                throw .invalidConfiguration(field: "algorithms", reason: "\(step.name) needs quantized weights; the recipe has none")
            }
            for scheme in weightSchemes where !scheme.dataType.isInteger || (step.stage == .weightRounding && scheme.granularity == .perTensor) {
                throw .invalidConfiguration(
                    field: "algorithms",
                    reason: "\(step.name) needs integer weights\(step.stage == .weightRounding ? " per channel or per group" : ""), got \(scheme.dataType.rawValue) \(scheme.granularity.rawValue)")
            }
        }
    }
}

extension AlgorithmStep.Registration {
    init<Configuration: Codable & Equatable, Keys: CodingKey & CaseIterable & RawRepresentable>(
        name: String, stage: AlgorithmStep.Stage, needsIntegerWeights: Bool, summary: String, keys: Keys.Type,
        makeDefault: @escaping @Sendable () throws(QuantError) -> AlgorithmStep,
        wrap: @escaping @Sendable (Configuration) -> AlgorithmStep,
        unwrap: @escaping @Sendable (AlgorithmStep) -> Configuration?,
        role: @escaping @Sendable (Configuration) -> AlgorithmStep.Role
    ) where Keys.RawValue == String {
        self.name = name
        self.stage = stage
        self.needsIntegerWeights = needsIntegerWeights
        self.summary = summary
        settingKeys = Keys.allCases.map(\.rawValue)
        self.makeDefault = makeDefault
        decode = { decoder in wrap(try Configuration(from: decoder)) }
        encode = { step, encoder in try unwrap(step)!.encode(to: encoder) }
        unwrapsSelf = { unwrap($0) != nil }
        makeRole = { role(unwrap($0)!) }
    }
}
