import Foundation

/// OCP Microscaling (MX v1.0) block quantization: each block of 32 consecutive elements along a row shares one E8M0
/// power-of-two scale X, and each element is stored as P = x / X in the element type.
///
/// Conversion follows MX v1.0 §6.3 (Algorithm "convert vector of scalar floats to an MX block"):
/// 1. shared_exp = floor(log2(max |x|)) − emax_elem, with emax_elem the exponent of the element type's largest
///    normal (E4M3 8, E5M2 15, E3M2 4, E2M3 2, E2M1 2, INT8 0), clamped to E8M0's [−127, 127] (`scaleMode`
///    `.floor`; `.even` and `.search` may take shared_exp + 1 instead, see `MXScaleMode`);
/// 2. X = 2^shared_exp;
/// 3. P_i = x_i / X rounded to nearest, ties to even, to the element type, values beyond its max saturating to ±max.
///
/// Choices where the spec leaves room, and where the code departs from the reference emulation (microsoft/microxcaling
/// `mx/mx_ops.py`, `_quantize_mx`):
/// - floor(log2) is the exact binary exponent of max |x| (float32 subnormals included), as microxcaling's C++ path
///   computes it; its PyTorch path takes a float32 `log2`, which rounds up for values just below a power of two.
/// - Elements round ties to even (the spec's and REFERENCE.md's rule); microxcaling's default `round="nearest"`
///   rounds ties away from zero.
/// - MXINT8 elements are two's complement with 6 fraction bits (MX v1.0 Table 6: −2 … 1 63/64). Encoding clamps to
///   the symmetric [−127, 127]/64, as microxcaling does (its `max_norm` for int8 is 127/64), so code 0x80 (−2) is
///   never produced; it still decodes to −2.
/// - A row whose length is not a multiple of 32 ends with a shorter block. That is what microxcaling's zero padding
///   computes (padding zeros change no block maximum), without storing the padding.
/// - An all-zero block gets scale code 0x00 (2^-127), as the C++ path of microxcaling does (its PyTorch path gives
///   2^-126 for MXINT8); its elements are all +0 or −0.
/// - A block holding NaN or ±∞ gets the NaN scale 0xFF and all-zero element codes; every element of such a block
///   decodes to NaN (microxcaling also makes the whole block NaN). Callers that want an error instead call
///   `quantizeChecked`.
public struct MXBlockCodec: Sendable {
    /// Elements per block (MX v1.0 Table 1: k = 32 for every concrete format).
    public static let blockSize = 32

    /// One of the microscaling types (`dataType.isMicroscaling`).
    public let dataType: QuantDataType
    /// The element's float format, or nil for MXINT8.
    public let elementFormat: MiniFloatFormat?
    /// emax_elem of MX v1.0 §6.3.
    public let elementMaxExponent: Int
    /// How each block's shared exponent is chosen.
    public let scaleMode: MXScaleMode
    /// Mantissa bits amax is rounded to under `.even`.
    let roundingBits: Int

    /// Creates the codec of one MX type.
    /// - Throws: `QuantError.invalidConfiguration` when `dataType` is not a microscaling type.
    public init(dataType: QuantDataType, scaleMode: MXScaleMode = .floor) throws(QuantError) {
        guard dataType.isMicroscaling else {
            throw .invalidConfiguration(
                field: "dtype",
                reason: "MXBlockCodec needs a microscaling type (mxfp8_e4m3 … mxint8), got \(dataType.rawValue)")
        }
        let format = dataType == .mxint8 ? nil : try MiniFloatFormat(dataType: dataType)
        self.dataType = dataType
        elementFormat = format
        elementMaxExponent = format?.maxExponent ?? 0
        self.scaleMode = scaleMode
        roundingBits = MXScaleMode.roundingBits(for: dataType)
    }

    /// Bits per element stored, not counting the scale (8, 6 or 4).
    public var elementBitWidth: Int { dataType.bitWidth }
    /// Bits per element with the block's 8-bit scale spread over its 32 elements (MXFP4: 4 + 8/32 = 4.25).
    public var bitsPerElementIncludingScale: Double { Double(elementBitWidth) + 8 / Double(Self.blockSize) }

    /// Number of blocks (and scales) of a row of `rowLength` elements: ⌈rowLength / 32⌉.
    public static func blockCount(rowLength: Int) -> Int { (rowLength + blockSize - 1) / blockSize }

    /// The shared scale of a block whose largest magnitude is `amax` (MX v1.0 §6.3 steps 1-2) under `scaleMode`;
    /// for `.search` the smaller of its two candidates (the block's elements decide between it and twice it).
    /// - Returns: 2^clamp(floor(log2 amax) − emax_elem, −127, 127) for `.floor` and `.search`, the exponent of amax
    ///   rounded to the element's mantissa width for `.even`; 2^-127 when `amax` is 0; NaN for NaN or ∞.
    public func sharedScale(amax: Float) -> E8M0 {
        let magnitude = amax.magnitude
        guard magnitude.isFinite else { return .nan }
        guard magnitude > 0 else { return E8M0(exponent: E8M0.exponentRange.lowerBound) }
        return E8M0(
            exponent: MXScaleMode.amaxExponent(magnitude, mode: scaleMode, roundingBits: roundingBits)
                - elementMaxExponent)
    }

    /// The element value of `code` before scaling (exact).
    public func elementValue(_ code: UInt8) -> Float {
        if let elementFormat { return elementFormat.decode(code) }
        return Float(Int8(bitPattern: code)) / 64
    }

    /// Quantizes one row.
    /// - Returns: one scale per block (⌈row.count / 32⌉) and one element code per element, in the low bits of a
    ///   byte.
    public func quantize(row: UnsafeBufferPointer<Float>) -> (scales: [UInt8], codes: [UInt8]) {
        var scales = [UInt8](repeating: 0, count: Self.blockCount(rowLength: row.count))
        var codes = [UInt8](repeating: 0, count: row.count)
        scales.withUnsafeMutableBufferPointer { scaleBuffer in
            codes.withUnsafeMutableBufferPointer { codeBuffer in
                quantize(row: row, scales: scaleBuffer, codes: codeBuffer)
            }
        }
        return (scales, codes)
    }

    /// Quantizes one row into caller-owned buffers.
    /// - Precondition: `scales.count == blockCount(rowLength: row.count)` and `codes.count == row.count`.
    public func quantize(
        row: UnsafeBufferPointer<Float>, scales: UnsafeMutableBufferPointer<UInt8>,
        codes: UnsafeMutableBufferPointer<UInt8>
    ) {
        precondition(
            scales.count == Self.blockCount(rowLength: row.count) && codes.count == row.count,
            "\(dataType.rawValue): a row of \(row.count) needs \(Self.blockCount(rowLength: row.count)) scales and "
                + "\(row.count) codes, got \(scales.count) and \(codes.count)")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.chunkLength) { scaled in
            for start in stride(from: 0, to: row.count, by: Self.chunkLength) {
                let end = min(start + Self.chunkLength, row.count)
                quantizeChunk(
                    UnsafeBufferPointer(rebasing: row[start..<end]), scaled: scaled,
                    scales: UnsafeMutableBufferPointer(
                        rebasing: scales[start / Self.blockSize..<Self.blockCount(rowLength: end)]),
                    codes: UnsafeMutableBufferPointer(rebasing: codes[start..<end]))
            }
        }
    }

    /// `quantize(row:)` for callers that treat non-finite input as an error.
    /// - Throws: `QuantError.nonFiniteInput` naming the first NaN or ±∞ and its index.
    public func quantizeChecked(
        row: UnsafeBufferPointer<Float>
    ) throws(QuantError) -> (scales: [UInt8], codes: [UInt8]) {
        if let index = row.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteInput("\(dataType.rawValue): element \(index) of a row of \(row.count) is \(row[index])")
        }
        return quantize(row: row)
    }

    /// Dequantizes one row: element value × block scale in float32; every element of a NaN-scale block is NaN.
    /// Exact for every block `quantize` makes (the smallest product, E5M2's 2^-16 · 2^-127, is a float32
    /// subnormal; the largest stays below 2^128); arbitrary scale bytes can overflow to ±∞.
    /// - Precondition: `codes.count == count` and `scales.count == ⌈count / 32⌉`; codes fit the element width.
    public func dequantize(scales: [UInt8], codes: [UInt8], count: Int) -> [Float] {
        precondition(codes.count == count, "\(dataType.rawValue): \(codes.count) codes for \(count) elements")
        var values = [Float](repeating: 0, count: count)
        scales.withUnsafeBufferPointer { scaleBuffer in
            codes.withUnsafeBufferPointer { codeBuffer in
                values.withUnsafeMutableBufferPointer { dequantize(scales: scaleBuffer, codes: codeBuffer, into: $0) }
            }
        }
        return values
    }

    /// Dequantizes one row into a caller-owned buffer.
    /// - Precondition: `codes.count == values.count` and `scales.count == blockCount(rowLength: values.count)`.
    public func dequantize(
        scales: UnsafeBufferPointer<UInt8>, codes: UnsafeBufferPointer<UInt8>,
        into values: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(
            codes.count == values.count && scales.count == Self.blockCount(rowLength: values.count),
            "\(dataType.rawValue): \(values.count) elements need as many codes and "
                + "\(Self.blockCount(rowLength: values.count)) scales, got \(codes.count) and \(scales.count)")
        if let elementFormat {
            elementFormat.decode(codes, into: values)
        } else {
            for index in codes.indices { values[index] = Float(Int8(bitPattern: codes[index])) / 64 }
        }
        for block in scales.indices {
            let factor = E8M0(bitPattern: scales[block]).floatValue
            for index in block * Self.blockSize..<min((block + 1) * Self.blockSize, values.count) {
                values[index] *= factor
            }
        }
    }

    /// Replaces every value by its MX quantize-dequantize result (fake quantization), row by row.
    /// - Parameters: values `[rows, rowLength]`, row-major; blocks run along each row.
    /// - Precondition: `rowLength > 0` and `values.count` is a multiple of it.
    public func quantizeDequantize(_ values: inout [Float], rowLength: Int) {
        precondition(rowLength > 0 && values.count % rowLength == 0,
                     "\(dataType.rawValue): \(values.count) values do not form rows of \(rowLength)")
        // Scratch for one chunk, allocated once per call.
        let scaled = UnsafeMutableBufferPointer<Float>.allocate(capacity: Self.chunkLength)
        let codes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Self.chunkLength)
        let scales = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Self.chunkLength / Self.blockSize)
        scaled.initialize(repeating: 0)
        codes.initialize(repeating: 0)
        scales.initialize(repeating: 0)
        defer {
            scaled.deallocate()
            codes.deallocate()
            scales.deallocate()
        }
        values.withUnsafeMutableBufferPointer { buffer in
            for rowStart in stride(from: 0, to: buffer.count, by: rowLength) {
                let rowEnd = rowStart + rowLength
                for start in stride(from: rowStart, to: rowEnd, by: Self.chunkLength) {
                    let chunkEnd = min(start + Self.chunkLength, rowEnd)
                    let chunk = UnsafeMutableBufferPointer(rebasing: buffer[start..<chunkEnd])
                    let chunkCodes = UnsafeMutableBufferPointer(rebasing: codes[0..<chunk.count])
                    let chunkScales = UnsafeMutableBufferPointer(
                        rebasing: scales[0..<Self.blockCount(rowLength: chunk.count)])
                    quantizeChunk(UnsafeBufferPointer(chunk), scaled: scaled, scales: chunkScales, codes: chunkCodes)
                    dequantize(
                        scales: UnsafeBufferPointer(chunkScales), codes: UnsafeBufferPointer(chunkCodes), into: chunk)
                }
            }
        }
    }

    /// Elements per call of the element encoder: 32 blocks, so per-call costs are spread and scratch stays small.
    static let chunkLength = 32 * blockSize

    /// Quantizes up to `chunkLength` elements that start a block: first each block's scale and x / X into
    /// `scaled` (scratch of `chunkLength` floats), then one encoder call over the whole chunk.
    func quantizeChunk(
        _ chunk: UnsafeBufferPointer<Float>, scaled: UnsafeMutableBufferPointer<Float>,
        scales: UnsafeMutableBufferPointer<UInt8>, codes: UnsafeMutableBufferPointer<UInt8>
    ) {
        for block in scales.indices {
            let blockRange = block * Self.blockSize..<min((block + 1) * Self.blockSize, chunk.count)
            // Largest magnitude as an integer maximum of bit patterns: ∞ and NaN patterns exceed every finite one.
            var amaxBits: UInt32 = 0
            for index in blockRange { amaxBits = max(amaxBits, chunk[index].bitPattern & 0x7FFF_FFFF) }
            let scale = sharedScale(amax: Float(bitPattern: min(amaxBits, 0x7F80_0000)))
            scales[block] = scale.bitPattern
            // Dividing by X is multiplying by 1/X, both exact powers of two (E8M0.reciprocal), so x / X is exact
            // unless it falls below float32's normal range, where it rounds to element code 0 either way. A NaN
            // block is encoded from zeros, so its codes are 0 (its values decode to NaN through the scale).
            let reciprocal: Float = scale.isNaN ? 0 : scale.reciprocal
            for index in blockRange { scaled[index] = scale.isNaN ? 0 : chunk[index] * reciprocal }
        }
        encodeElements(UnsafeBufferPointer(rebasing: scaled[0..<chunk.count]), into: codes)
        if scaleMode == .search { searchNextScale(chunk, scaled: scaled, scales: scales, codes: codes) }
    }

    /// `.search`: encodes every block again at twice its scale, and keeps that scale and those codes where the
    /// block's sum of squared errors is smaller (strictly: floor wins ties). Zero and NaN blocks, and blocks already
    /// at the largest scale, keep the floor candidate. `scaled` is reused as scratch.
    func searchNextScale(
        _ chunk: UnsafeBufferPointer<Float>, scaled: UnsafeMutableBufferPointer<Float>,
        scales: UnsafeMutableBufferPointer<UInt8>, codes: UnsafeMutableBufferPointer<UInt8>
    ) {
        // A block is a candidate when its floor scale is a real, non-zero-block scale below the largest code.
        func isCandidate(_ block: Int, _ range: Range<Int>) -> Bool {
            scales[block] < 254 && range.contains { chunk[$0] != 0 }
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk.count) { raisedCodes in
            for block in scales.indices {
                let blockRange = block * Self.blockSize..<min((block + 1) * Self.blockSize, chunk.count)
                let reciprocal: Float = isCandidate(block, blockRange)
                    ? E8M0(bitPattern: scales[block] + 1).reciprocal : 0
                for index in blockRange { scaled[index] = chunk[index] * reciprocal }
            }
            encodeElements(UnsafeBufferPointer(rebasing: scaled[0..<chunk.count]), into: raisedCodes)
            for block in scales.indices {
                let blockRange = block * Self.blockSize..<min((block + 1) * Self.blockSize, chunk.count)
                guard isCandidate(block, blockRange) else { continue }
                let floorError = blockSquaredError(
                    chunk, codes: UnsafeBufferPointer(codes), scale: E8M0(bitPattern: scales[block]), blockRange)
                let raisedError = blockSquaredError(
                    chunk, codes: UnsafeBufferPointer(raisedCodes), scale: E8M0(bitPattern: scales[block] + 1),
                    blockRange)
                if raisedError < floorError {
                    scales[block] += 1
                    for index in blockRange { codes[index] = raisedCodes[index] }
                }
            }
        }
    }

    /// Σ (x − element(code) · scale)² over `range`, accumulated in Double (each product is exact in float32).
    func blockSquaredError(
        _ values: UnsafeBufferPointer<Float>, codes: UnsafeBufferPointer<UInt8>, scale: E8M0, _ range: Range<Int>
    ) -> Double {
        let factor = scale.floatValue
        var sum = 0.0
        for index in range {
            let difference = Double(values[index]) - Double(elementValue(codes[index]) * factor)
            sum += difference * difference
        }
        return sum
    }

    /// Encodes already-scaled elements x / X to element codes (round to nearest even, saturating).
    func encodeElements(_ scaledChunk: UnsafeBufferPointer<Float>, into codes: UnsafeMutableBufferPointer<UInt8>) {
        if let elementFormat {
            elementFormat.encode(scaledChunk, into: codes)
        } else {
            // |x / X| < 2, so x / X · 64 is below 2^7 in magnitude: adding 1.5 · 2^23 rounds it to an integer (ties to
            // even, in the FPU) held in the sum's low mantissa bits, without a trapping float-to-int conversion.
            let magic: Float = 0x1.8p23
            for index in scaledChunk.indices {
                let integer = Int32(bitPattern: (scaledChunk[index] * 64 + magic).bitPattern &- magic.bitPattern)
                codes[index] = UInt8(truncatingIfNeeded: min(max(integer, -127), 127))
            }
        }
    }
}
