/// The constants of one scheme's code grid, computed once so the per-group parameter math in hot loops is a few
/// flops: integer range, symmetry, scale storage and rounding (see `QuantParameters.compute` for the formulas).
struct AffineGrid: Sendable {
    /// Integer formats have a code range; scaled float formats only a largest finite value.
    let isInteger: Bool
    let isSymmetric: Bool
    let qmin: Int32
    let qmax: Int32
    /// Zero point of symmetric schemes: 0 for signed, the middle code 2^(b−1) for unsigned.
    let symmetricZeroPoint: Int32
    /// `(qmax − qmin) / 2` for symmetric integers, the format's largest value for floats.
    let symmetricDivisor: Float
    let span: Float
    let scaleType: QuantScheme.ScaleType
    let rounding: QuantScheme.Rounding

    /// - Throws: `QuantError.invalidConfiguration` for formats without an affine grid (MX, plain casts), for fp8
    ///   without `formatMaximum`, or for an integer format with one.
    init(scheme: QuantScheme, formatMaximum: Float? = nil) throws(QuantError) {
        let type = scheme.dataType
        scaleType = scheme.scaleType
        rounding = scheme.rounding
        isSymmetric = scheme.isSymmetric
        if type.isInteger {
            if let formatMaximum {
                throw .invalidConfiguration(
                    field: "format_maximum", reason: "\(formatMaximum) given for integer type \(type.rawValue)")
            }
            isInteger = true
            let (low, high) = scheme.integerRange
            qmin = Int32(low)
            qmax = Int32(high)
            symmetricZeroPoint = type.isUnsigned ? Int32((low + high + 1) / 2) : 0
            symmetricDivisor = Float(high - low) / 2
            span = Float(high - low)
        } else if type == .fp8_e4m3 || type == .fp8_e5m2 {
            guard let formatMaximum, formatMaximum > 0, formatMaximum.isFinite else {
                throw .invalidConfiguration(
                    field: "format_maximum",
                    reason: "\(type.rawValue) scales need the format's largest finite value (448 for fp8_e4m3, "
                        + "57344 for fp8_e5m2), got \(formatMaximum.map { "\($0)" } ?? "none")")
            }
            isInteger = false
            qmin = 0
            qmax = 0
            symmetricZeroPoint = 0
            symmetricDivisor = formatMaximum
            span = 2 * formatMaximum
        } else {
            throw .invalidConfiguration(
                field: "dtype",
                reason: type.isMicroscaling
                    ? "\(type.rawValue) uses per_block E8M0 scales from the microscaling codec, not affine parameters"
                    : "\(type.rawValue) is a plain cast without scales")
        }
    }

    /// Scale and zero point for one observed range (`minimum <= maximum`, both finite).
    @inline(__always)
    func parameters(minimum: Float, maximum: Float) -> (scale: Float, zeroPoint: Int32) {
        // Widen to include 0 so that 0.0 maps to a code exactly (PyTorch's min_val_neg / max_val_pos).
        let low = Swift.min(minimum, 0)
        let high = Swift.max(maximum, 0)
        if isSymmetric {
            let scale = store(Swift.max(Swift.max(-low, high) / symmetricDivisor, QuantParameters.scaleEpsilon))
            return (scale, symmetricZeroPoint)
        }
        let scale = store(Swift.max((high - low) / span, QuantParameters.scaleEpsilon))
        let shift = (low / scale).rounded(.toNearestOrEven)  // torch.round: half to even
        let zeroPoint = Swift.min(Swift.max(Float(qmin) - shift, Float(qmin)), Float(qmax))
        return (scale, Int32(zeroPoint))
    }

    /// Rounds a positive, finite scale to its storage type.
    @inline(__always)
    func store(_ scale: Float) -> Float {
        switch scaleType {
        case .float32: return scale
        case .float16: return Float(Float16(scale))
        case .powerOfTwo:
            // Round up (never down): a larger step only widens the grid, so values that fitted still fit.
            let bits = scale.bitPattern
            return bits & 0x007F_FFFF == 0 ? scale : Float(bitPattern: (bits & 0x7F80_0000) &+ 0x0080_0000)
        }
    }

    /// - Throws: `QuantError.invalidConfiguration` when a stored scale overflowed (float16 above 65504).
    func checkScales(_ scales: [Float]) throws(QuantError) {
        for (i, scale) in scales.enumerated() { try checkScale(scale, at: i) }
    }

    /// - Throws: `QuantError.invalidConfiguration` when `scale` (of parameter slot `index`) overflowed.
    @inline(__always)
    func checkScale(_ scale: Float, at index: Int) throws(QuantError) {
        guard !scale.isFinite else { return }
        throw .invalidConfiguration(
            field: "scale_type",
            reason: "scale at parameter index \(index) overflows \(scaleType.rawValue) (range too large to store)")
    }

    /// The clamp bounds in code units relative to the zero point and the reciprocal used by the kernels.
    @inline(__always)
    func run(scale: Float, zeroPoint: Int32) -> RunParameters {
        RunParameters(
            scale: scale, inverseScale: 1 / scale, lower: Float(qmin - zeroPoint), upper: Float(qmax - zeroPoint),
            zeroPoint: zeroPoint)
    }
}

/// Everything a kernel needs for one run of elements sharing a scale.
struct RunParameters: Sendable {
    var scale: Float
    /// `1 / scale` in float32: PyTorch multiplies by it (`x * inv_scale`) instead of dividing, which decides ties.
    var inverseScale: Float
    /// `qmin − zeroPoint` and `qmax − zeroPoint`: clamping before rounding equals clamping after, because both
    /// bounds are integers and rounding is monotone.
    var lower: Float
    var upper: Float
    var zeroPoint: Int32
}
