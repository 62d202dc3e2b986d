import QuantAlgorithms
import QuantCore

/// A whole-model quantization recipe: a global scheme per quantization point, per-layer overrides by exact name or
/// glob, layers left in float, calibration settings and the algorithms to run in order. Read from JSON or YAML.
public struct QuantRecipe: Codable, Sendable, Equatable {
    /// Settings for one layer or a glob of layers (`*.mlp.down_proj`). For each point, a key left out keeps the
    /// recipe's scheme, a scheme object replaces it, and `input: none` or `output: none` keeps that point in float
    /// for the matched layers (`keepsInputFloat`, `keepsOutputFloat`). An explicit `null` is refused as ambiguous.
    public struct Override: Codable, Sendable, Equatable {
        /// Exact Hugging Face module name or a glob (`*` any run of characters, `?` one character).
        public var pattern: String
        public var weight: QuantScheme?
        /// Replaces the recipe's input scheme; nil keeps it (unless `keepsInputFloat`).
        public var input: QuantScheme?
        /// Replaces the recipe's output scheme; nil keeps it (unless `keepsOutputFloat`).
        public var output: QuantScheme?
        /// Leave matching layers in float.
        public var exclude: Bool
        /// The matched layers' inputs stay in float whatever the recipe says (`input: none`); `input` is then nil.
        public var keepsInputFloat: Bool
        /// The matched layers' outputs stay in float whatever the recipe says (`output: none`); `output` is then nil.
        public var keepsOutputFloat: Bool

        enum CodingKeys: String, CodingKey, CaseIterable { case pattern, weight, input, output, exclude }

        /// What a recipe writes for a point kept in float.
        public static let floatKeyword = "none"

        public init(
            pattern: String, weight: QuantScheme? = nil, input: QuantScheme? = nil, output: QuantScheme? = nil,
            exclude: Bool = false, keepsInputFloat: Bool = false, keepsOutputFloat: Bool = false
        ) {
            self.pattern = pattern
            self.weight = weight
            self.input = input
            self.output = output
            self.exclude = exclude
            self.keepsInputFloat = keepsInputFloat
            self.keepsOutputFloat = keepsOutputFloat
        }

        /// Decodes one entry of `overrides`.
        /// - Throws: `QuantError.invalidConfiguration` for a missing pattern (`overrides[INDEX].pattern`), an unknown
        ///   key, a `null` or other non-scheme point, or an impossible scheme, the field prefixed with
        ///   `overrides[PATTERN]`.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let pattern = try c.decodeIfPresent(String.self, forKey: .pattern) else {
                let index = decoder.codingPath.last?.intValue.map(String.init) ?? "?"
                throw QuantError.invalidConfiguration(
                    field: "overrides[\(index)].pattern", reason: "missing: each override needs an exact layer name or a glob")
            }
            self.pattern = pattern
            let path = "overrides[\(pattern)]"
            try RecipeKeys.nested(path) {
                try RecipeKeys.rejectUnknown(in: decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: "override")
            }
            weight = try Self.point(.weight, of: c, at: path).scheme
            let input = try Self.point(.input, of: c, at: path), output = try Self.point(.output, of: c, at: path)
            (self.input, keepsInputFloat) = (input.scheme, input == .float)
            (self.output, keepsOutputFloat) = (output.scheme, output == .float)
            exclude = try c.decodeIfPresent(Bool.self, forKey: .exclude) ?? false
        }

        /// One point as an override writes it.
        enum Point: Equatable {
            case inherited, float, scheme(QuantScheme)
            var scheme: QuantScheme? { if case let .scheme(scheme) = self { scheme } else { nil } }
        }

        /// Reads `key`: left out, the float keyword (not for weights), or a scheme object; `null` is refused.
        static func point(_ key: CodingKeys, of c: KeyedDecodingContainer<CodingKeys>, at path: String) throws -> Point {
            let field = path + "." + key.rawValue
            guard c.contains(key) else { return .inherited }
            if try c.decodeNil(forKey: key) {
                throw QuantError.invalidConfiguration(
                    field: field, reason: "null is ambiguous: leave the key out to keep the recipe's \(key.rawValue) scheme"
                        + (key == .weight ? "" : ", or write '\(floatKeyword)' to keep it in float"))
            }
            if let word = try? c.decode(String.self, forKey: key) {
                guard word == floatKeyword, key != .weight else {
                    throw QuantError.invalidConfiguration(
                        field: field, reason: key == .weight
                            ? "'\(word)' is not a scheme; to leave the layers' weights in float use exclude: true"
                            : "'\(word)' is not a scheme; write a scheme object, or '\(floatKeyword)' to keep it in float")
                }
                return .float
            }
            return .scheme(try RecipeKeys.nested(field) { try c.decode(QuantScheme.self, forKey: key) })
        }

        /// Writes what `init(from:)` reads: `none` for a point kept in float, nothing for one that inherits.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(pattern, forKey: .pattern)
            try c.encodeIfPresent(weight, forKey: .weight)
            if keepsInputFloat { try c.encode(Self.floatKeyword, forKey: .input) } else { try c.encodeIfPresent(input, forKey: .input) }
            if keepsOutputFloat { try c.encode(Self.floatKeyword, forKey: .output) } else { try c.encodeIfPresent(output, forKey: .output) }
            try c.encode(exclude, forKey: .exclude)
        }
    }

    /// Where calibration text comes from and how much of it.
    public struct Calibration: Codable, Sendable, Hashable {
        /// A UTF-8 text file; nil generates text from the model itself (unless `tokenFile` is given).
        public var file: String?
        /// Token windows to use as they are (`CalibrationTokens`: JSON `[[id, ...], ...]` or `.npy` `[N, T]`);
        /// `samples` and `sequenceLength` then describe the file (`matchingTokenFile(_:)`), and `seed` is unused.
        public var tokenFile: String?
        public var samples: Int
        public var sequenceLength: Int
        public var seed: UInt64

        enum CodingKeys: String, CodingKey, CaseIterable {
            case file, samples, seed
            case tokenFile = "token_file"
            case sequenceLength = "seq_len"
        }

        public init(
            file: String? = nil, tokenFile: String? = nil, samples: Int = 128, sequenceLength: Int = 512, seed: UInt64 = 0
        ) {
            self.file = file
            self.tokenFile = tokenFile
            self.samples = samples
            self.sequenceLength = sequenceLength
            self.seed = seed
        }

        /// These settings with `samples` and `sequenceLength` set to the shape of `windows` (read from `tokenFile`).
        public func matchingTokenFile(_ windows: [[Int]]) -> Calibration {
            var result = self
            result.samples = windows.count
            result.sequenceLength = windows.first?.count ?? 0
            return result
        }

        /// Decodes the `calibration` object; keys left out take the defaults of `init`.
        /// - Throws: `QuantError.invalidConfiguration` for an unknown key, naming it and the nearest allowed one.
        public init(from decoder: any Decoder) throws {
            try RecipeKeys.rejectUnknown(in: decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: "calibration")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            file = try c.decodeIfPresent(String.self, forKey: .file)
            tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile)
            if tokenFile != nil, let key = [CodingKeys.samples, .sequenceLength, .seed].first(where: c.contains) {
                throw QuantError.invalidConfiguration(
                    field: key.rawValue,
                    reason: "token_file gives the windows as they are (their count and length); leave \(key.rawValue) out")
            }
            samples = try c.decodeIfPresent(Int.self, forKey: .samples) ?? 128
            sequenceLength = try c.decodeIfPresent(Int.self, forKey: .sequenceLength) ?? 512
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        }

        /// Writes what `init(from:)` reads back: with a token file, only the file names (its windows are the data).
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(file, forKey: .file)
            try c.encodeIfPresent(tokenFile, forKey: .tokenFile)
            guard tokenFile == nil else { return }
            try c.encode(samples, forKey: .samples)
            try c.encode(sequenceLength, forKey: .sequenceLength)
            try c.encode(seed, forKey: .seed)
        }

        public func validate() throws(QuantError) {
            if file != nil && tokenFile != nil {
                throw .invalidConfiguration(
                    field: "calibration.token_file", reason: "give either a text file (file) or token windows (token_file), not both")
            }
            guard samples >= 1 else { throw .invalidConfiguration(field: "calibration.samples", reason: "must be >= 1, got \(samples)") }
            guard sequenceLength >= 2 else {
                throw .invalidConfiguration(field: "calibration.seq_len", reason: "must be >= 2, got \(sequenceLength)")
            }
        }
    }

    public var name: String
    /// Linear weights.
    public var weight: QuantScheme?
    /// Linear inputs (activations).
    public var input: QuantScheme?
    /// Linear outputs.
    public var output: QuantScheme?
    /// Keys and values entering the KV cache.
    public var kvCache: QuantScheme?
    public var overrides: [Override]
    /// Layers left in float (exact names or globs); default `lm_head`.
    public var exclude: [String]
    public var calibration: Calibration
    /// Algorithms, run in order (rotation first, GPTQ last: see `validate()`).
    public var algorithms: [AlgorithmStep]

    enum CodingKeys: String, CodingKey {
        case name, weight, input, output, overrides, exclude, calibration, algorithms
        case kvCache = "kv_cache"
    }

    /// Algorithms this build can run (QuantAlgorithms implements each; a test keeps the lists equal).

    public init(
        name: String, weight: QuantScheme? = nil, input: QuantScheme? = nil, output: QuantScheme? = nil,
        kvCache: QuantScheme? = nil, overrides: [Override] = [], exclude: [String] = ["lm_head"],
        calibration: Calibration = Calibration(), algorithms: [AlgorithmStep] = []
    ) throws(QuantError) {
        self.name = name
        self.weight = weight
        self.input = input
        self.output = output
        self.kvCache = kvCache
        self.overrides = overrides
        self.exclude = exclude
        self.calibration = calibration
        self.algorithms = algorithms
        try validate()
    }

    /// Decodes a recipe file and validates it.
    /// - Throws: `QuantError.invalidConfiguration` naming the full path of an unknown key (`weight.granularty`,
    ///   `overrides[*.down_proj].exlude`, `calibration.sample`) with the nearest allowed key, or of an impossible value.
    public init(from decoder: any Decoder) throws {
        try RecipeKeys.rejectUnknown(in: decoder, allowed: CodingKeys.allKeys, kind: "recipe")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func scheme(_ key: CodingKeys) throws -> QuantScheme? {
            try RecipeKeys.nested(key.rawValue) { try c.decodeIfPresent(QuantScheme.self, forKey: key) }
        }
        try self.init(
            name: try c.decodeIfPresent(String.self, forKey: .name) ?? "custom",
            weight: try scheme(.weight), input: try scheme(.input), output: try scheme(.output), kvCache: try scheme(.kvCache),
            overrides: try c.decodeIfPresent([Override].self, forKey: .overrides) ?? [],
            exclude: try c.decodeIfPresent([String].self, forKey: .exclude) ?? ["lm_head"],
            calibration: try RecipeKeys.nested(CodingKeys.calibration.rawValue) {
                try c.decodeIfPresent(Calibration.self, forKey: .calibration)
            } ?? Calibration(),
            algorithms: try c.decodeIfPresent([AlgorithmStep].self, forKey: .algorithms) ?? [])
    }

    /// Checks everything that does not need the model.
    public func validate() throws(QuantError) {
        guard weight != nil || input != nil || output != nil || kvCache != nil || overrides.contains(where: { $0.weight != nil || $0.input != nil || $0.output != nil }) else {
            throw .invalidConfiguration(field: "recipe", reason: "quantizes nothing: give at least one of weight, input, output, kv_cache")
        }
        if let input, input.granularity == .perChannel {
            throw .invalidConfiguration(field: "input.granularity", reason: "per_channel activations are not supported; use per_tensor, per_token (dynamic) or per_group")
        }
        if let kvCache {
            guard [.fp8_e4m3, .int8, .fp8_e5m2].contains(kvCache.dataType) else {
                throw .invalidConfiguration(field: "kv_cache.dtype", reason: "KV cache quantization supports fp8_e4m3, fp8_e5m2 and int8, got \(kvCache.dataType.rawValue)")
            }
        }
        try Self.validateWeightObserver(weight, field: "weight.observer")
        for override in overrides {
            try Self.validateWeightObserver(override.weight, field: "overrides[\(override.pattern)].weight.observer")
        }
        for override in overrides
        where (override.keepsInputFloat && override.input != nil) || (override.keepsOutputFloat && override.output != nil) {
            throw .invalidConfiguration(
                field: "overrides[\(override.pattern)]", reason: "a point is either kept in float or given a scheme, not both")
        }
        for override in overrides where override.pattern.isEmpty {
            throw .invalidConfiguration(field: "overrides.pattern", reason: "must not be empty")
        }
        try validateAlgorithms()
        try calibration.validate()
    }

    /// Weights are quantized from themselves, not from calibration data: their observer is `minmax` (each slot's
    /// range) or `mse` (each slot's range searched, `WeightRangeSearch`), the latter on an integer grid only.
    static func validateWeightObserver(_ scheme: QuantScheme?, field: String) throws(QuantError) {
        guard let scheme else { return }
        switch scheme.observer {
        case .minMax: return
        case .mse:
            guard scheme.dataType.isInteger else {
                throw .invalidConfiguration(
                    field: field, reason: "mse searches an integer grid's range, not \(scheme.dataType.rawValue)'s")
            }
            guard scheme.granularity != .perToken, !scheme.isDynamic else {
                throw .invalidConfiguration(field: field, reason: "weights are not dynamic or per_token")
            }
        default:
            throw .invalidConfiguration(
                field: field,
                reason: "weights allow minmax or mse (the calibration observers are for activations), got \(scheme.observer.methodName)")
        }
    }

    /// Known names, each at most once, rotation (a whole-model transform) before the block-wise ones, GPTQ (which
    /// does the rounding itself) after them, and GPTQ only with integer weights.
    func validateAlgorithms() throws(QuantError) {
        try AlgorithmStep.validate(algorithms, weightSchemes: ([weight] + overrides.map(\.weight)).compactMap { $0 })
    }

    public var needsCalibration: Bool {
        let schemes = [input, output, kvCache] + overrides.flatMap { [$0.input, $0.output] }
        return schemes.contains { scheme in scheme.map { !$0.isDynamic && !$0.dataType.isMicroscaling && !$0.dataType.isFloatCast } ?? false }
    }
}

/// Any string key, to list unknown fields.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension QuantRecipe.CodingKeys: CaseIterable {
    static var allKeys: [String] { allCases.map(\.rawValue) }
}

/// Matches Hugging Face module names against recipe patterns.
public enum LayerPattern {
    /// Whether `name` matches `pattern`: exact, or a glob with `*` (any run, dots included) and `?` (one character).
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern.unicodeScalars), n = Array(name.unicodeScalars)
        var pi = 0, ni = 0, star = -1, mark = 0
        while ni < n.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == n[ni]) {
                pi += 1; ni += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ni; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ni = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
