/// Float32 bit patterns `MiniFloatFormat.encode` works with, computed once per format.
///
/// Encoding a magnitude `a` (float32 bits, sign cleared) takes one of two paths, both round-to-nearest-even:
/// - normal (a ≥ minNormal): round the 23-bit mantissa to m bits with integer arithmetic (add 2^(s−1) − 1 plus
///   the lowest kept bit, shift right by s = 23 − m), then subtract the exponent rebias; a carry out of the
///   mantissa bumps the exponent, as it should;
/// - subnormal (a < minNormal): add `magic` = minSubnormal · 2^23 in float32. Its ulp is minSubnormal and the sum
///   stays in its binade, so the FPU's round-to-nearest-even snaps `a` to the subnormal grid; the sum's low bits are
///   the code (2^m means the smallest normal, whose code is also 2^m).
/// Both paths are computed and one is selected, so the loops have no data-dependent branches and vectorize.
struct MiniFloatEncodeConstants: Sendable {
    /// 23 − mantissaBitCount.
    let shift: UInt32
    /// 2^(shift − 1) − 1.
    let roundingBias: UInt32
    /// (127 − bias) << mantissaBitCount: float32 exponent bias minus the format's, in code units.
    let rebias: UInt32
    let minNormalBits: UInt32
    let magic: Float
    let magicBits: UInt32
    let maxFiniteBits: UInt32
    /// 2^(maxExponent + 2): inputs above it overflow in non-saturating mode whatever the rounding.
    let overflowBoundBits: UInt32

    init(
        exponentBitCount: Int, mantissaBitCount m: Int, exponentBias bias: Int,
        specialValues: MiniFloatFormat.SpecialValues, maxFinite: Float
    ) {
        shift = UInt32(23 - m)
        roundingBias = (1 << (shift - 1)) - 1
        rebias = UInt32(127 - bias) << UInt32(m)
        minNormalBits = Float(sign: .plus, exponent: 1 - bias, significand: 1).bitPattern
        magic = Float(sign: .plus, exponent: 1 - bias - m + 23, significand: 1)
        magicBits = magic.bitPattern
        maxFiniteBits = maxFinite.bitPattern
        overflowBoundBits = Float(sign: .plus, exponent: maxFinite.exponent + 2, significand: 1).bitPattern
    }

    /// Code of a finite magnitude (float32 bits, sign cleared, at most `overflowBoundBits`), rounded to nearest even.
    @inline(__always)
    func magnitudeCode(_ a: UInt32) -> UInt32 {
        let normal = ((a &+ roundingBias &+ ((a &>> shift) & 1)) &>> shift) &- rebias
        let subnormal = (Float(bitPattern: a) + magic).bitPattern &- magicBits
        return a < minNormalBits ? subnormal : normal
    }
}

extension MiniFloatFormat {
    /// Encodes `values` into `codes` (one code per byte), exactly as `encode(_:saturating:)` does element by element.
    ///
    /// Runs 16 lanes at a time without data-dependent branches.
    /// - Precondition: `codes.count == values.count`.
    public func encode(
        _ values: UnsafeBufferPointer<Float>, into codes: UnsafeMutableBufferPointer<UInt8>, saturating: Bool = true
    ) {
        precondition(codes.count == values.count, "\(name) encode: \(values.count) values but \(codes.count) codes")
        guard let source = values.baseAddress, let destination = codes.baseAddress else { return }
        let count = values.count
        var index = 0
        if saturating || specialValues == .none {
            let lanes = MiniFloatLanes(self)
            while index + 16 <= count {
                let bits = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<UInt32>.self)
                let code = lanes.saturatingCodes(bits)
                UnsafeMutableRawPointer(destination + index).storeBytes(of: narrow(code), as: SIMD16<UInt8>.self)
                index += 16
            }
        }
        while index < count {
            destination[index] = encode(source[index], saturating: saturating)
            index += 1
        }
    }

    /// Encodes `values` into `codes` after checking that every value is finite.
    /// - Throws: `QuantError.nonFiniteInput` naming the first NaN or ±∞ and its index; `codes` is then untouched.
    public func encodeChecked(
        _ values: UnsafeBufferPointer<Float>, into codes: UnsafeMutableBufferPointer<UInt8>, saturating: Bool = true
    ) throws(QuantError) {
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteInput("\(name) encode: element \(index) of \(values.count) is \(values[index])")
        }
        encode(values, into: codes, saturating: saturating)
    }

    /// Decodes `codes` into `values` through a 256-entry table.
    /// - Precondition: `values.count == codes.count` and every code is below `codeCount`.
    public func decode(_ codes: UnsafeBufferPointer<UInt8>, into values: UnsafeMutableBufferPointer<Float>) {
        precondition(values.count == codes.count, "\(name) decode: \(codes.count) codes but \(values.count) values")
        var unused: UInt8 = 0
        for code in codes { unused |= code }
        precondition(Int(unused) < codeCount, "\(name) decode: a code has bits above the format's \(bitWidth)")
        decodeTable.withUnsafeBufferPointer { table in
            for index in codes.indices { values[index] = table[Int(codes[index])] }
        }
    }
}

/// `MiniFloatEncodeConstants` splatted into 16 lanes, plus the format's NaN handling.
private struct MiniFloatLanes {
    let shift: UInt32
    let roundingBias: SIMD16<UInt32>
    let rebias: SIMD16<UInt32>
    let minNormalBits: SIMD16<UInt32>
    let magic: SIMD16<Float>
    let magicBits: SIMD16<UInt32>
    let maxFiniteBits: SIMD16<UInt32>
    let signShift: UInt32
    /// The format's NaN code, or its max-finite code when it has no NaN.
    let nanCode: SIMD16<UInt32>
    let magnitudeMask = SIMD16<UInt32>(repeating: 0x7FFF_FFFF)
    let infinityBits = SIMD16<UInt32>(repeating: 0x7F80_0000)

    init(_ format: MiniFloatFormat) {
        let c = format.constants
        shift = c.shift
        roundingBias = .init(repeating: c.roundingBias)
        rebias = .init(repeating: c.rebias)
        minNormalBits = .init(repeating: c.minNormalBits)
        magic = .init(repeating: c.magic)
        magicBits = .init(repeating: c.magicBits)
        maxFiniteBits = .init(repeating: c.maxFiniteBits)
        signShift = UInt32(format.bitWidth - 1)
        nanCode = .init(repeating: UInt32(format.nanCode ?? format.maxFiniteCode))
    }

    /// Saturating codes of 16 float32 bit patterns (mirrors `MiniFloatEncodeConstants.magnitudeCode`).
    @inline(__always)
    func saturatingCodes(_ bits: SIMD16<UInt32>) -> SIMD16<UInt32> {
        let sign = (bits &>> 31) &<< signShift
        let unclamped = bits & magnitudeMask
        // Integer min also sends ±∞ and NaN (patterns above every finite one) to maxFinite. Written as a select on a
        // vector comparison: `pointwiseMin` and comparisons with a scalar compile to out-of-line calls or lane loops.
        let a = unclamped.replacing(with: maxFiniteBits, where: unclamped .> maxFiniteBits)
        let normal = ((a &+ roundingBias &+ ((a &>> shift) & 1)) &>> shift) &- rebias
        let sum = unsafeBitCast(a, to: SIMD16<Float>.self) + magic
        let subnormal = unsafeBitCast(sum, to: SIMD16<UInt32>.self) &- magicBits
        var code = normal.replacing(with: subnormal, where: a .< minNormalBits)
        // Unconditional: without NaN in the format, nanCode is maxFiniteCode, which the saturation already gave.
        code = code.replacing(with: nanCode, where: unclamped .> infinityBits)
        return code | sign
    }
}

/// Low byte of each lane. A lane loop: the standard library's `SIMD16<UInt8>(truncatingIfNeeded:)` can compile to
/// an out-of-line call (PERFORMANCE.md, "Build flags").
@inline(__always)
private func narrow(_ wide: SIMD16<UInt32>) -> SIMD16<UInt8> {
    var bytes = SIMD16<UInt8>()
    for lane in 0..<16 { bytes[lane] = UInt8(truncatingIfNeeded: wide[lane]) }
    return bytes
}
