extension MiniFloatFormat {
    /// Plain reference for `encode(_:saturating:)`: searches every code for the nearest value, in Double, and breaks
    /// ties towards the even code (mantissa LSB 0). Slow; tests check the bit-arithmetic encoder against it.
    func encodeReference(_ x: Float, saturating: Bool = true) -> UInt8 {
        let sign = x.sign == .minus ? signBit : 0
        let saturates = saturating || specialValues == .none
        let overflowCode = infinityCode ?? nanCode ?? maxFiniteCode
        if x.isNaN { return sign | (nanCode ?? maxFiniteCode) }
        if x.isInfinite { return sign | (saturates ? maxFiniteCode : overflowCode) }
        let magnitude = Double(x.magnitude)
        if saturates && magnitude > Double(maxFinite) { return sign | maxFiniteCode }
        // Without saturation the grid goes on one step past maxFinite (the value the format would have there if its
        // top codes were finite); landing on that step is an overflow (IEEE 754 §7.4).
        let lastCode = Int(maxFiniteCode) + (saturates ? 0 : 1)
        if Double(continuedValue(code: lastCode)) <= magnitude {
            return sign | (saturates ? maxFiniteCode : overflowCode)
        }
        // Every candidate and the magnitude are now below 2^(maxExponent + 2), so the distances are exact.
        var best = (code: 0, distance: magnitude)
        for code in 1...lastCode {
            let distance = abs(magnitude - Double(continuedValue(code: code)))
            if distance < best.distance || (distance == best.distance && code & 1 == 0) { best = (code, distance) }
        }
        return sign | (best.code > Int(maxFiniteCode) ? overflowCode : UInt8(best.code))
    }

    /// The value of a non-negative code as if the format had no special values.
    private func continuedValue(code: Int) -> Float {
        Self.exactValue(
            code: code, exponentBitCount: exponentBitCount, mantissaBitCount: mantissaBitCount,
            exponentBias: exponentBias, specialValues: .none)
    }
}
