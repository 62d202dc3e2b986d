/// How one tensor is quantized: element format, granularity, symmetry, scale type, rounding, and (for activations)
/// calibration observer and whether parameters are computed on every call. Mirrors AMD Quark's `QuantizationSpec`.
public struct QuantScheme: Codable, Sendable, Equatable, Hashable {
    /// Which elements share one scale (and zero point).
    public enum Granularity: String, Codable, Sendable, CaseIterable {
        /// One scale for the whole tensor.
        case perTensor = "per_tensor"
        /// One scale per slice along `axis` (0 = output channels of a weight `[out, in]`).
        case perChannel = "per_channel"
        /// One scale per `groupSize` consecutive elements along the last (input) dimension; a shorter last group
        /// when the dimension is not a multiple.
        case perGroup = "per_group"
        /// One scale per row of an activation `[tokens, features]` (dynamic only).
        case perToken = "per_token"
        /// OCP MX blocks of 32 along the last dimension, E8M0 scales.
        case perBlock = "per_block"
    }

    /// How values are rounded to the grid.
    public enum Rounding: String, Codable, Sendable, CaseIterable {
        case halfToEven = "half_to_even"
        case halfAwayFromZero = "half_away_from_zero"
        case floor
    }

    /// How scales are stored.
    public enum ScaleType: String, Codable, Sendable, CaseIterable {
        case float32, float16
        /// Scales rounded up to a power of two (shift-only dequantization).
        case powerOfTwo = "power_of_two"
    }

    public var dataType: QuantDataType
    public var granularity: Granularity
    /// Elements per group for `.perGroup`; 32 for `.perBlock`.
    public var groupSize: Int?
    /// Channel axis for `.perChannel`.
    public var axis: Int
    public var isSymmetric: Bool
    /// Signed integers use [−(2^(b−1) − 1), 2^(b−1) − 1] instead of [−2^(b−1), 2^(b−1) − 1].
    public var isNarrowRange: Bool
    public var scaleType: ScaleType
    public var rounding: Rounding
    /// Calibration method for static activation scales.
    public var observer: ObserverKind
    /// Parameters computed from each input when it arrives instead of from calibration.
    public var isDynamic: Bool
    /// How MX blocks choose their shared exponent (`floor` is OCP MX v1.0's rule); `floor` for every other format.
    public var scaleMode: MXScaleMode

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataType = "dtype"
        case granularity
        case groupSize = "group_size"
        case axis
        case isSymmetric = "symmetric"
        case isNarrowRange = "narrow_range"
        case scaleType = "scale_type"
        case rounding
        case observer
        case isDynamic = "dynamic"
        case scaleMode = "scale_mode"
    }

    public init(
        dataType: QuantDataType, granularity: Granularity = .perTensor, groupSize: Int? = nil, axis: Int = 0,
        isSymmetric: Bool = true, isNarrowRange: Bool = false, scaleType: ScaleType = .float32,
        rounding: Rounding = .halfToEven, observer: ObserverKind = .minMax, isDynamic: Bool = false,
        scaleMode: MXScaleMode = .floor
    ) throws(QuantError) {
        self.dataType = dataType
        self.granularity = granularity
        self.groupSize = groupSize ?? (dataType.isMicroscaling ? 32 : nil)
        self.axis = axis
        self.isSymmetric = isSymmetric
        self.isNarrowRange = isNarrowRange
        self.scaleType = scaleType
        self.rounding = rounding
        self.observer = observer
        self.isDynamic = isDynamic
        self.scaleMode = scaleMode
        try validate()
    }

    /// Decodes a recipe's scheme object; keys left out take the defaults of `init`.
    /// - Throws: `QuantError.invalidConfiguration` for an unknown key (here or in an `observer` object), naming it
    ///   and the nearest allowed key, or for an impossible value; fields are relative to this scheme (`dtype`,
    ///   `observer.bins`): the recipe puts the scheme's own name in front.
    public init(from decoder: any Decoder) throws {
        try RecipeKeys.rejectUnknown(in: decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: "scheme")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.observer) {
            let observerKeys: [ObserverKind.CodingKeys] = [.method, .momentum, .percentile, .bins]
            try RecipeKeys.nested(CodingKeys.observer.rawValue) {
                try RecipeKeys.rejectUnknown(
                    in: try c.superDecoder(forKey: .observer), allowed: observerKeys.map(\.rawValue), kind: "observer")
            }
        }
        let name = try c.decode(String.self, forKey: .dataType)
        guard let dataType = QuantDataType(rawValue: name) else {
            throw QuantError.invalidConfiguration(
                field: "dtype", reason: "unknown data type '\(name)'; allowed: \(QuantDataType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let granularity = try Self.decodeEnum(Granularity.self, c, .granularity)
            ?? (dataType.isMicroscaling ? .perBlock : .perTensor)
        try self.init(
            dataType: dataType, granularity: granularity,
            groupSize: try c.decodeIfPresent(Int.self, forKey: .groupSize),
            axis: try c.decodeIfPresent(Int.self, forKey: .axis) ?? 0,
            isSymmetric: try c.decodeIfPresent(Bool.self, forKey: .isSymmetric) ?? true,
            isNarrowRange: try c.decodeIfPresent(Bool.self, forKey: .isNarrowRange) ?? false,
            scaleType: try Self.decodeEnum(ScaleType.self, c, .scaleType) ?? .float32,
            rounding: try Self.decodeEnum(Rounding.self, c, .rounding) ?? .halfToEven,
            observer: try c.decodeIfPresent(ObserverKind.self, forKey: .observer) ?? .minMax,
            isDynamic: try c.decodeIfPresent(Bool.self, forKey: .isDynamic) ?? false,
            scaleMode: try Self.decodeEnum(MXScaleMode.self, c, .scaleMode) ?? .floor)
    }

    /// Writes every field; `scale_mode` only for MX formats (the only ones it applies to), so other schemes read
    /// back by builds that predate it.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dataType, forKey: .dataType)
        try c.encode(granularity, forKey: .granularity)
        try c.encodeIfPresent(groupSize, forKey: .groupSize)
        try c.encode(axis, forKey: .axis)
        try c.encode(isSymmetric, forKey: .isSymmetric)
        try c.encode(isNarrowRange, forKey: .isNarrowRange)
        try c.encode(scaleType, forKey: .scaleType)
        try c.encode(rounding, forKey: .rounding)
        try c.encode(observer, forKey: .observer)
        try c.encode(isDynamic, forKey: .isDynamic)
        if dataType.isMicroscaling { try c.encode(scaleMode, forKey: .scaleMode) }
    }

    /// Decodes a string enum, naming the field, the nearest allowed value and all of them when the string is unknown.
    static func decodeEnum<E: RawRepresentable & CaseIterable>(
        _ type: E.Type, _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
    ) throws -> E? where E.RawValue == String {
        guard let raw = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let value = E(rawValue: raw) else {
            let names = E.allCases.map(\.rawValue)
            let hint = KeySuggestion.nearest(to: raw, among: names).map { "; did you mean '\($0)'?" } ?? ""
            throw QuantError.invalidConfiguration(
                field: key.rawValue, reason: "unknown value '\(raw)'\(hint); allowed: \(names.joined(separator: ", "))")
        }
        return value
    }

    /// Checks the combination is possible (before any work is done).
    public func validate() throws(QuantError) {
        if dataType.isMicroscaling {
            guard granularity == .perBlock else {
                throw .invalidConfiguration(field: "granularity", reason: "\(dataType.rawValue) is an MX format: use per_block, got \(granularity.rawValue)")
            }
            guard groupSize == 32 else {
                throw .invalidConfiguration(field: "group_size", reason: "OCP MX blocks hold 32 elements; got \(groupSize.map(String.init) ?? "none")")
            }
            guard isSymmetric else { throw .invalidConfiguration(field: "symmetric", reason: "MX formats are symmetric") }
        } else if scaleMode != .floor {
            throw .invalidConfiguration(
                field: "scale_mode",
                reason: "\(scaleMode.rawValue) chooses OCP MX block exponents; \(dataType.rawValue) is not an MX format (leave scale_mode out)")
        } else if granularity == .perBlock {
            throw .invalidConfiguration(field: "granularity", reason: "per_block is for MX formats only, not \(dataType.rawValue)")
        }
        if !dataType.isInteger && !isSymmetric {
            throw .invalidConfiguration(field: "symmetric", reason: "asymmetric quantization needs an integer format, not \(dataType.rawValue)")
        }
        if granularity == .perGroup {
            guard let groupSize else { throw .invalidConfiguration(field: "group_size", reason: "per_group needs a group_size") }
            guard groupSize > 0 else { throw .invalidConfiguration(field: "group_size", reason: "must be > 0, got \(groupSize)") }
        } else if !dataType.isMicroscaling, let groupSize {
            throw .invalidConfiguration(field: "group_size", reason: "\(groupSize) given but granularity is \(granularity.rawValue)")
        }
        if granularity == .perToken && !isDynamic {
            throw .invalidConfiguration(field: "granularity", reason: "per_token scales exist only for dynamic activations (set dynamic: true)")
        }
        if axis < 0 { throw .invalidConfiguration(field: "axis", reason: "must be >= 0, got \(axis)") }
        if isNarrowRange && (!dataType.isInteger || dataType.isUnsigned) {
            throw .invalidConfiguration(field: "narrow_range", reason: "only signed integer formats have a restricted range")
        }
        if dataType.isFloatCast && granularity != .perTensor {
            throw .invalidConfiguration(field: "granularity", reason: "\(dataType.rawValue) is a plain cast without scales: use per_tensor")
        }
        try observer.validate()
    }

    /// Checks the scheme fits a tensor whose last (input) dimension is `inputDimension`; `name` is the layer.
    public func validate(forInputDimension inputDimension: Int, layer name: String) throws(QuantError) {
        if granularity == .perGroup, let groupSize, groupSize > inputDimension {
            throw .invalidConfiguration(
                field: "group_size", reason: "\(groupSize) is larger than \(name)'s input dimension \(inputDimension)")
        }
    }

    /// Integer code range [qmin, qmax] for integer formats.
    public var integerRange: (minimum: Int, maximum: Int) {
        precondition(dataType.isInteger)
        let bits = dataType.bitWidth
        if dataType.isUnsigned { return (0, (1 << bits) - 1) }
        return (isNarrowRange ? -((1 << (bits - 1)) - 1) : -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    }
}
