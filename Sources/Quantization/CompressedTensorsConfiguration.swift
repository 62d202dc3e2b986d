/// The `quantization_config` object of a compressed-tensors checkpoint's `config.json`, as the `compressed-tensors`
/// package (0.20.1, `quantization/quant_config.py`, `quant_scheme.py`, `quant_args.py`) defines it and vLLM and
/// transformers read it. Keys keep the package's spelling.
///
/// Only what a dense Llama checkpoint needs is modelled. Decoding rejects what this build cannot read rather than
/// ignoring it: sparsity, transforms (`transform_config`), activation ordering with a `g_idx`, block strategies and
/// "local" dynamic scales are errors when a loader meets them (see `CompressedTensorsFolder`).
public struct CompressedTensorsConfiguration: Codable, Sendable, Equatable {
    /// `QuantizationArgs`: how one tensor (weights, input or output activations, KV cache) is quantized.
    public struct Arguments: Codable, Sendable, Equatable, Hashable {
        /// `num_bits`.
        public var bitWidth: Int
        /// `type`: `"int"` or `"float"`.
        public var type: String
        public var isSymmetric: Bool
        /// `strategy`: `"tensor"`, `"channel"`, `"group"`, `"token"` (and others this build refuses).
        public var strategy: String
        /// `group_size` for the group strategy.
        public var groupSize: Int?
        /// `dynamic`: scales computed from every input (true) or calibrated (false); the package's `"local"` is
        /// decoded as a string and refused by the loader.
        public var dynamic: Dynamic
        /// `actorder`; anything but null or `"weight"` (which does not change the stored format) is refused.
        public var activationOrder: String?
        /// `observer`: informational for a compressed checkpoint (null for dynamic schemes).
        public var observer: String?

        /// `dynamic` is a bool or the string `"local"` in the package.
        public enum Dynamic: Codable, Sendable, Equatable, Hashable {
            case flag(Bool)
            case other(String)

            public init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let flag = try? c.decode(Bool.self) {
                    self = .flag(flag)
                } else {
                    self = .other(try c.decode(String.self))
                }
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.singleValueContainer()
                switch self {
                case let .flag(flag): try c.encode(flag)
                case let .other(text): try c.encode(text)
                }
            }
        }

        enum CodingKeys: String, CodingKey {
            case bitWidth = "num_bits"
            case type, strategy, observer
            case isSymmetric = "symmetric"
            case groupSize = "group_size"
            case dynamic
            case activationOrder = "actorder"
        }

        public init(
            bitWidth: Int, type: String, isSymmetric: Bool, strategy: String, groupSize: Int? = nil,
            isDynamic: Bool = false, observer: String? = nil
        ) {
            self.bitWidth = bitWidth
            self.type = type
            self.isSymmetric = isSymmetric
            self.strategy = strategy
            self.groupSize = groupSize
            self.dynamic = .flag(isDynamic)
            self.activationOrder = nil
            self.observer = observer
        }

        /// Decodes with the package's defaults (`num_bits` 8, `type` int, `symmetric` true, `dynamic` false) and its
        /// strategy inference when `strategy` is missing (no group size: tensor; > 0: group; −1: channel).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            bitWidth = try c.decodeIfPresent(Int.self, forKey: .bitWidth) ?? 8
            type = (try c.decodeIfPresent(String.self, forKey: .type) ?? "int").lowercased()
            isSymmetric = try c.decodeIfPresent(Bool.self, forKey: .isSymmetric) ?? true
            groupSize = try c.decodeIfPresent(Int.self, forKey: .groupSize)
            dynamic = try c.decodeIfPresent(Dynamic.self, forKey: .dynamic) ?? .flag(false)
            if let order = try? c.decodeIfPresent(Bool.self, forKey: .activationOrder) {
                activationOrder = order ? "group" : nil
            } else {
                activationOrder = try c.decodeIfPresent(String.self, forKey: .activationOrder)?.lowercased()
            }
            observer = try c.decodeIfPresent(String.self, forKey: .observer)
            if let strategy = try c.decodeIfPresent(String.self, forKey: .strategy) {
                self.strategy = strategy.lowercased()
            } else {
                strategy = groupSize.map { $0 > 0 ? "group" : "channel" } ?? "tensor"
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(bitWidth, forKey: .bitWidth)
            try c.encode(type, forKey: .type)
            try c.encode(isSymmetric, forKey: .isSymmetric)
            try c.encode(strategy, forKey: .strategy)
            try c.encode(groupSize, forKey: .groupSize)
            try c.encode(dynamic, forKey: .dynamic)
            try c.encode(activationOrder, forKey: .activationOrder)
            try c.encode(observer, forKey: .observer)
        }

        /// True for `dynamic: true`.
        public var isDynamic: Bool { dynamic == .flag(true) }
    }

    /// `QuantizationScheme`: the layers a group covers and how their weights and activations are quantized.
    public struct Scheme: Codable, Sendable, Equatable, Hashable {
        /// Layer names, `re:` regular expressions (matched from the start of the name, as Python's `re.match`), or
        /// the class name `Linear`.
        public var targets: [String]
        public var weights: Arguments?
        public var inputActivations: Arguments?
        public var outputActivations: Arguments?
        /// The group's own format when the checkpoint is `mixed-precision`.
        public var format: String?

        enum CodingKeys: String, CodingKey {
            case targets, weights, format
            case inputActivations = "input_activations"
            case outputActivations = "output_activations"
        }

        public init(
            targets: [String], weights: Arguments?, inputActivations: Arguments? = nil,
            outputActivations: Arguments? = nil, format: String? = nil
        ) {
            self.targets = targets
            self.weights = weights
            self.inputActivations = inputActivations
            self.outputActivations = outputActivations
            self.format = format
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(targets, forKey: .targets)
            try c.encode(weights, forKey: .weights)
            try c.encode(inputActivations, forKey: .inputActivations)
            try c.encode(outputActivations, forKey: .outputActivations)
            // Older releases forbid unknown scheme keys: write `format` only where a mixed checkpoint needs it.
            try c.encodeIfPresent(format, forKey: .format)
        }
    }

    /// The package's `quant_method` for these checkpoints.
    public static let quantMethod = "compressed-tensors"

    public var quantMethod: String
    /// `pack-quantized`, `int-quantized`, `float-quantized`, `naive-quantized`, `dense` or `mixed-precision`.
    public var format: String
    /// Groups by name (`group_0`, ...).
    public var configGroups: [String: Scheme]
    /// Layers kept in float even when a target matches them.
    public var ignore: [String]
    /// How keys and values are quantized before they enter the KV cache (per attention layer `k_scale`, `v_scale`).
    public var kvCacheScheme: Arguments?
    /// `compressed` for a checkpoint whose weights are stored as codes.
    public var quantizationStatus: String
    /// Present in checkpoints with transforms (rotations); this build refuses them.
    public var transformConfig: JSONPresence?
    /// Present in sparse checkpoints; an empty object is allowed.
    public var sparsityConfig: JSONPresence?

    /// Whether a key was there and held something other than null or an empty object.
    public struct JSONPresence: Codable, Sendable, Equatable {
        public var isEmpty: Bool
        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                isEmpty = true
            } else if let object = try? decoder.container(keyedBy: AnyKey.self) {
                isEmpty = object.allKeys.isEmpty
            } else {
                isEmpty = false
            }
        }
        public func encode(to encoder: any Encoder) throws {}
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    enum CodingKeys: String, CodingKey {
        case format, ignore
        case quantMethod = "quant_method"
        case configGroups = "config_groups"
        case kvCacheScheme = "kv_cache_scheme"
        case quantizationStatus = "quantization_status"
        case transformConfig = "transform_config"
        case sparsityConfig = "sparsity_config"
    }

    public init(
        format: String, configGroups: [String: Scheme], ignore: [String], kvCacheScheme: Arguments? = nil
    ) {
        quantMethod = Self.quantMethod
        self.format = format
        self.configGroups = configGroups
        self.ignore = ignore
        self.kvCacheScheme = kvCacheScheme
        quantizationStatus = "compressed"
        transformConfig = nil
        sparsityConfig = nil
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        quantMethod = try c.decode(String.self, forKey: .quantMethod)
        format = try c.decodeIfPresent(String.self, forKey: .format) ?? "fakequant"
        configGroups = try c.decodeIfPresent([String: Scheme].self, forKey: .configGroups) ?? [:]
        ignore = try c.decodeIfPresent([String].self, forKey: .ignore) ?? []
        kvCacheScheme = try c.decodeIfPresent(Arguments.self, forKey: .kvCacheScheme)
        quantizationStatus = try c.decodeIfPresent(String.self, forKey: .quantizationStatus) ?? "initialized"
        transformConfig = try c.decodeIfPresent(JSONPresence.self, forKey: .transformConfig)
        sparsityConfig = try c.decodeIfPresent(JSONPresence.self, forKey: .sparsityConfig)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(quantMethod, forKey: .quantMethod)
        try c.encode(format, forKey: .format)
        try c.encode(configGroups, forKey: .configGroups)
        try c.encode(ignore, forKey: .ignore)
        try c.encode(kvCacheScheme, forKey: .kvCacheScheme)
        try c.encode(quantizationStatus, forKey: .quantizationStatus)
    }
}
