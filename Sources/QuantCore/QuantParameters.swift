/// Scales and zero points of an affine (or scaled-float) quantization, with the layout that says which elements
/// each pair covers.
///
/// Element `x` maps to code `q = clamp(round(x / scale) + zeroPoint, qmin, qmax)` and back to
/// `(q − zeroPoint) · scale` (PyTorch's `fake_quantize_per_*_affine`). Layouts, for a row-major tensor of `shape`:
/// - `.perTensor`: one pair for every element (`scales.count == 1`); applies to any shape.
/// - `.perChannel`: one pair per index along `axis` (`scales.count == shape[axis]`).
/// - `.perGroup`: one pair per `groupSize` consecutive elements of each row along the last dimension, stored row by
///   row (`scales.count == rows · ⌈columns / groupSize⌉`). When `columns` is not a multiple of `groupSize` the last
///   group of each row is shorter and gets its own parameters from its own elements (no padding).
/// - `.perToken`: one pair per row, where rows are all dimensions but the last flattened (`[tokens, features]`).
public struct QuantParameters: Codable, Sendable, Equatable {
    /// Which elements share one scale and zero point.
    public var granularity: QuantScheme.Granularity
    /// Channel axis for `.perChannel`; 0 otherwise.
    public var axis: Int
    /// Elements per group along the last dimension for `.perGroup`; nil otherwise.
    public var groupSize: Int?
    /// Shape of the tensor the parameters were computed for.
    public var shape: [Int]
    /// Step between adjacent codes, one per parameter slot (see the layouts above). Always > 0 and finite.
    public var scales: [Float]
    /// Code that represents 0.0 exactly, one per parameter slot; 0 for symmetric signed and float formats.
    public var zeroPoints: [Int32]

    /// Smallest scale produced: `torch.finfo(torch.float32).eps` (2⁻²³), PyTorch observers' default `eps`. It keeps
    /// an all-zero tensor's scale positive so `1 / scale` stays finite.
    public static let scaleEpsilon: Float = .ulpOfOne

    enum CodingKeys: String, CodingKey {
        case granularity, axis, shape, scales
        case groupSize = "group_size"
        case zeroPoints = "zero_points"
    }

    /// Wraps parameters computed elsewhere, checking that the counts fit the layout.
    /// - Parameters: `shape` is the tensor's shape; `axis` is read for `.perChannel`, `groupSize` for `.perGroup`.
    /// - Throws: `QuantError.invalidConfiguration` for a missing group size, a `.perBlock` layout or a bad axis;
    ///   `QuantError.shapeMismatch` when `scales`/`zeroPoints` do not hold one entry per slot; `nonFiniteInput` for a
    ///   scale that is not finite and positive.
    public init(
        granularity: QuantScheme.Granularity, axis: Int = 0, groupSize: Int? = nil, shape: [Int],
        scales: [Float], zeroPoints: [Int32]
    ) throws(QuantError) {
        self.granularity = granularity
        self.axis = granularity == .perChannel ? axis : 0
        self.groupSize = granularity == .perGroup ? groupSize : nil
        self.shape = shape
        self.scales = scales
        self.zeroPoints = zeroPoints
        let expected = try ParameterLayout(self, shape: shape).parameterCount
        guard scales.count == expected, zeroPoints.count == expected else {
            throw .shapeMismatch(
                "\(granularity.rawValue) parameters for shape \(shape) need \(expected) scales and zero points, "
                    + "got \(scales.count) and \(zeroPoints.count)")
        }
        if let bad = scales.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
            throw .nonFiniteInput("scale \(scales[bad]) at parameter index \(bad) is not finite and positive")
        }
    }

    /// Computes scales and zero points from observed ranges, following PyTorch's `_calculate_qparams`.
    ///
    /// Each range is first widened to include 0 (`min ← min(min, 0)`, `max ← max(max, 0)`) so that 0.0 (padding,
    /// ReLU zeros) is exact. With `[qmin, qmax]` = `scheme.integerRange`:
    /// - symmetric: `scale = max(|min|, |max|) / ((qmax − qmin) / 2)` and zero point 0 for signed formats, so int8
    ///   uses 127.5 steps per side (the +max value rounds to 128 and clamps to 127, an error of at most scale/2) and
    ///   narrow-range int8 uses 127. Unsigned symmetric formats put zero at the middle code 2^(b−1) (128 for uint8,
    ///   PyTorch's default for quint8; PyTorch's custom-range path uses ⌊(qmin + qmax) / 2⌋ = 7 for uint4, ONNX
    ///   Runtime uses 8 like here).
    /// - asymmetric: `scale = (max − min) / (qmax − qmin)`, `zeroPoint = clamp(qmin − roundHalfEven(min / scale),
    ///   qmin, qmax)`.
    /// - scaled float formats (`fp8_e4m3`, `fp8_e5m2`): `scale = max(|min|, |max|) / formatMaximum` (448, 57344),
    ///   zero point 0.
    ///
    /// Every scale is then clamped below by `scaleEpsilon` and stored as `scheme.scaleType` says: `.float16` rounds
    /// to the nearest float16 (as a runtime holding fp16 scales sees it; values at the very edge of the range may then
    /// clip by a fraction of a step), `.powerOfTwo` rounds *up* to the next power of two so the grid only grows and
    /// nothing that fitted before clips. The asymmetric zero point is computed from the stored scale.
    /// - Parameters:
    ///   - minimum: Smallest observed value per parameter slot (see the layouts in the type's comment).
    ///   - maximum: Largest observed value per slot; `maximum[i] >= minimum[i]`.
    ///   - scheme: Data type, symmetry, range, scale type and granularity (with `groupSize`/`axis`).
    ///   - shape: Shape of the tensor the parameters are for; `[]` (or any shape) for `.perTensor`.
    ///   - formatMaximum: Largest finite value of a scaled float format (required for fp8, rejected for integers), so
    ///     this type does not depend on the float codecs.
    /// - Throws: `QuantError.nonFiniteInput` for a NaN or infinite bound, `.invalidConfiguration` for `min > max`, an
    ///   unsupported data type (MX, plain casts) or a scale that overflows float16; `.shapeMismatch` when the counts do
    ///   not fit the layout.
    public static func compute(
        minimum: [Float], maximum: [Float], scheme: QuantScheme, shape: [Int] = [], formatMaximum: Float? = nil
    ) throws(QuantError) -> QuantParameters {
        guard minimum.count == maximum.count else {
            throw .shapeMismatch("\(minimum.count) minimums but \(maximum.count) maximums")
        }
        for i in minimum.indices {
            guard minimum[i].isFinite, maximum[i].isFinite else {
                throw .nonFiniteInput("range [\(minimum[i]), \(maximum[i])] at parameter index \(i)")
            }
            guard minimum[i] <= maximum[i] else {
                throw .invalidConfiguration(
                    field: "range", reason: "minimum \(minimum[i]) > maximum \(maximum[i]) at parameter index \(i)")
            }
        }
        let grid = try AffineGrid(scheme: scheme, formatMaximum: formatMaximum)
        var scales = [Float](repeating: 0, count: minimum.count)
        var zeroPoints = [Int32](repeating: 0, count: minimum.count)
        for i in minimum.indices {
            (scales[i], zeroPoints[i]) = grid.parameters(minimum: minimum[i], maximum: maximum[i])
        }
        try grid.checkScales(scales)
        return try QuantParameters(
            granularity: scheme.granularity, axis: scheme.axis, groupSize: scheme.groupSize, shape: shape,
            scales: scales, zeroPoints: zeroPoints)
    }

    /// Largest scale (for error bounds: the dequantization error of in-range values is at most `maxScale / 2`).
    public var maxScale: Float { scales.max() ?? 0 }

    /// The range `[(qmin − zp) · scale, (qmax − zp) · scale]` that slot `index` represents without clipping.
    public func representableRange(at index: Int, scheme: QuantScheme) -> ClosedRange<Float> {
        let (qmin, qmax) = scheme.integerRange
        let zp = Int(zeroPoints[index])
        return (Float(qmin - zp) * scales[index])...(Float(qmax - zp) * scales[index])
    }

    /// Checks these parameters can be applied to a tensor of `shape` quantized with `scheme`.
    ///
    /// Per-tensor parameters fit any shape and per-channel ones any shape with the same extent along `axis` (static
    /// activation parameters are computed once and applied to batches of any length); per-group and per-token ones
    /// must match rows and columns exactly.
    /// - Throws: `QuantError.invalidConfiguration` when the scheme's layout differs from the parameters',
    ///   `.shapeMismatch` when `shape` does not fit.
    func layout(for shape: [Int], scheme: QuantScheme?) throws(QuantError) -> ParameterLayout {
        if let scheme {
            guard scheme.granularity == granularity,
                granularity != .perChannel || scheme.axis == axis,
                granularity != .perGroup || scheme.groupSize == groupSize
            else {
                throw .invalidConfiguration(
                    field: "granularity",
                    reason: "parameters are \(layoutDescription) but the scheme asks for "
                        + QuantParameters.describe(scheme.granularity, axis: scheme.axis, groupSize: scheme.groupSize))
            }
        }
        let layout = try ParameterLayout(self, shape: shape)
        guard layout.parameterCount == scales.count else {
            throw .shapeMismatch(
                "\(layoutDescription) parameters hold \(scales.count) scales (computed for shape \(self.shape)) but "
                    + "shape \(shape) needs \(layout.parameterCount)")
        }
        return layout
    }

    var layoutDescription: String { Self.describe(granularity, axis: axis, groupSize: groupSize) }

    static func describe(_ granularity: QuantScheme.Granularity, axis: Int, groupSize: Int?) -> String {
        switch granularity {
        case .perChannel: "per_channel(axis: \(axis))"
        case .perGroup: "per_group(group_size: \(groupSize.map(String.init) ?? "none"))"
        default: granularity.rawValue
        }
    }
}
