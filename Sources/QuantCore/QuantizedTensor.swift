import TensorCore

/// A tensor in its stored quantized form: packed element codes plus the parameters that turn them back into floats.
///
/// Layout of `codes` by format: integer codes packed LSB-first at `dataType.bitWidth` bits (`BitPacking`; signed as
/// two's complement); FP8 one byte per element; MX elements packed at their bit width with one E8M0 byte per block
/// of 32 in `blockScales`; float16/bfloat16 as little-endian 16-bit patterns. `parameters` holds the scales (and
/// integer zero points) of integer and FP8 schemes.
public struct QuantizedTensor: Sendable, Equatable {
    public let scheme: QuantScheme
    /// Shape of the original tensor.
    public let shape: [Int]
    /// Packed element codes.
    public let codes: [UInt8]
    /// Scales and zero points (integer and FP8 formats).
    public let parameters: QuantParameters?
    /// E8M0 shared scales, one per block of 32 along each row (MX formats).
    public let blockScales: [UInt8]

    public init(scheme: QuantScheme, shape: [Int], codes: [UInt8], parameters: QuantParameters?, blockScales: [UInt8]) {
        self.scheme = scheme
        self.shape = shape
        self.codes = codes
        self.parameters = parameters
        self.blockScales = blockScales
    }

    /// Element count of the original tensor.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Stored bits per element, scales and zero points included.
    public var bitsPerElement: Double {
        let parameterBytes = (parameters.map { $0.scales.count * 4 + ($0.zeroPoints.contains { $0 != 0 } ? $0.zeroPoints.count * 4 : 0) } ?? 0)
        return Double((codes.count + parameterBytes + blockScales.count) * 8) / Double(max(elementCount, 1))
    }

    /// The float tensor the codes stand for.
    /// - Throws: `QuantError.shapeMismatch` when codes and shape disagree (a corrupted file).
    public func dequantized() throws(QuantError) -> Tensor {
        let count = elementCount
        let type = scheme.dataType
        if type.isInteger {
            guard let parameters, codes.count >= BitPacking.byteCount(count: count, bitWidth: type.bitWidth) else {
                throw .shapeMismatch("\(codes.count) code bytes cannot hold \(count) \(type.rawValue) elements")
            }
            let unpacked = BitPacking.unpack(codes, count: count, bitWidth: type.bitWidth, isSigned: !type.isUnsigned)
            return try AffineQuantizer.dequantize(unpacked, shape: shape, parameters: parameters)
        }
        if type.isFloatCast {
            guard codes.count == count * 2 else { throw .shapeMismatch("\(codes.count) bytes for \(count) \(type.rawValue) values") }
            let values = (0..<count).map { index -> Float in
                let bits = UInt16(codes[2 * index]) | UInt16(codes[2 * index + 1]) << 8
                return type == .bfloat16 ? BFloat16(bitPattern: bits).floatValue : Float(Float16(bitPattern: bits))
            }
            return Tensor(shape: shape, scalars: values)
        }
        if type.isMicroscaling {
            let codec = try MXBlockCodec(dataType: type)
            let rowLength = shape.last ?? 1
            let rows = count / max(rowLength, 1)
            let blocksPerRow = MXBlockCodec.blockCount(rowLength: rowLength)
            guard blockScales.count == rows * blocksPerRow,
                  codes.count == BitPacking.byteCount(count: count, bitWidth: type.bitWidth) else {
                throw .shapeMismatch("\(type.rawValue) tensor \(shape): \(codes.count) code bytes, \(blockScales.count) scales")
            }
            let elements = BitPacking.unpack(codes, count: count, bitWidth: type.bitWidth, isSigned: false).map { UInt8(truncatingIfNeeded: $0) }
            var values = [Float]()
            values.reserveCapacity(count)
            for row in 0..<rows {
                values += codec.dequantize(
                    scales: Array(blockScales[(row * blocksPerRow)..<((row + 1) * blocksPerRow)]),
                    codes: Array(elements[(row * rowLength)..<((row + 1) * rowLength)]), count: rowLength)
            }
            return Tensor(shape: shape, scalars: values)
        }
        // FP8 with a scale per tensor/channel/group.
        guard let parameters, codes.count == count else { throw .shapeMismatch("\(codes.count) FP8 codes for \(count) elements") }
        let format = try MiniFloatFormat(dataType: type)
        let layout = try parameters.layout(for: shape, scheme: scheme)
        var values = [Float](repeating: 0, count: count)
        for index in 0..<count {
            values[index] = format.decode(codes[index]) * parameters.scales[layout.parameterIndex(ofElement: index)]
        }
        return Tensor(shape: shape, scalars: values)
    }
}
