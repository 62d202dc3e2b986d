import Foundation

extension MXBlockCodec {
    /// Plain reference for `quantize(row:)`: MX v1.0 §6.3 written out in Double with `log2`, `pow` and the element
    /// format's search-based `encodeReference`, with the shared exponent chosen as `scaleMode` says (`MXScaleMode`):
    /// `.even` rounds amax's significand in Double, `.search` encodes the block at both candidate exponents and keeps
    /// the one with the smaller squared error (floor on a tie). Slow; tests check the fast path against it.
    func quantizeRowReference(_ row: [Float]) -> (scales: [UInt8], codes: [UInt8]) {
        var scales: [UInt8] = []
        var codes: [UInt8] = []
        for start in stride(from: 0, to: row.count, by: Self.blockSize) {
            let block = Array(row[start..<min(start + Self.blockSize, row.count)])
            guard block.allSatisfy(\.isFinite) else {
                scales.append(0xFF)
                codes += Array(repeating: 0, count: block.count)
                continue
            }
            let amax = Double(block.map(\.magnitude).max() ?? 0)
            guard amax > 0 else {
                scales.append(0)
                codes += block.map { referenceCode($0, scale: pow(2.0, -127)) }
                continue
            }
            var amaxExponent = Int(log2(amax).rounded(.down))
            if scaleMode == .even {
                let significand = amax / pow(2.0, Double(amaxExponent))
                let step = pow(2.0, -Double(roundingBits))
                // Half up to a multiple of 2^-bits, as Quark adds half a unit and truncates.
                if ((significand / step) + 0.5).rounded(.down) * step >= 2 { amaxExponent += 1 }
            }
            let floorExponent = min(max(amaxExponent - elementMaxExponent, -127), 127)
            var chosen = (exponent: floorExponent, codes: block.map { referenceCode($0, scale: pow(2.0, Double(floorExponent))) })
            if scaleMode == .search && floorExponent < 127 {
                let raised = block.map { referenceCode($0, scale: pow(2.0, Double(floorExponent + 1))) }
                if referenceError(block, raised, floorExponent + 1) < referenceError(block, chosen.codes, floorExponent) {
                    chosen = (floorExponent + 1, raised)
                }
            }
            scales.append(UInt8(chosen.exponent + 127))
            codes += chosen.codes
        }
        return (scales, codes)
    }

    /// The element code of `value / scale`, by the element format's reference encoder (MXINT8: 6 fraction bits,
    /// ties to even, clamped to ±127).
    func referenceCode(_ value: Float, scale: Double) -> UInt8 {
        let scaled = Double(value) / scale
        if let elementFormat { return elementFormat.encodeReference(Float(scaled)) }
        let fixedPoint = min(max((scaled * 64).rounded(.toNearestOrEven), -127), 127)
        return UInt8(bitPattern: Int8(fixedPoint))
    }

    /// Σ (x − element(code) · 2^exponent)² in Double.
    func referenceError(_ block: [Float], _ codes: [UInt8], _ exponent: Int) -> Double {
        zip(block, codes).reduce(0) { sum, pair in
            let difference = Double(pair.0) - Double(elementValue(pair.1)) * pow(2.0, Double(exponent))
            return sum + difference * difference
        }
    }
}
