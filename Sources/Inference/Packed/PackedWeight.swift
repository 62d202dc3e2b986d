import CQuantKernels
import QuantCore

/// Weight codes kept in memory the way the packed kernels read them, with their per-group parameters.
///
/// Rows are output features; each row's `inFeatures` columns are cut in groups of `groupSize` (the last group may be
/// shorter: ragged), each group with its own scale (and offset for `uint4`). Per channel is `groupSize == inFeatures`.
///
/// Layout (what `CQuantKernels` reads): rows are gathered in panels of `panelWidth` (16) output features (the last
/// panel padded with zero codes and zero scales); inside a panel, columns go in steps of `columnStep` (4 for one-byte
/// codes, 8 for `uint4`), and one step is 64 bytes: for each of the 16 rows, 4 bytes. A one-byte code of row `l`,
/// column `4s + j` sits at byte `64s + 4l + j`; a `uint4` code of column `8s + j` sits in the low nibble of byte
/// `64s + 4l + j` for j < 4 and in the high nibble of byte `64s + 4l + j − 4` otherwise. So one 512-bit load holds 4
/// (or 8) columns of 16 rows, which VNNI's `vpdpbusd` multiplies by 4 broadcast activation bytes into 16 outputs
/// without horizontal sums, and a float kernel converts in registers. Columns past `inFeatures` hold code 0.
public struct PackedWeight: Sendable {
    /// Element format of the codes.
    public enum Format: String, Sendable, Equatable {
        /// Signed codes q in [-128, 127]; x = scale[g] · q.
        case int8
        /// Codes q in 0...15, two per byte; x = scale[g] · q + offset[g] (symmetric int4 has offset = −8 · scale,
        /// asymmetric offset = −scale · zeroPoint, GGUF Q4_0 offset = −8d, Q4_1 offset = m).
        case uint4
        /// One byte per code (OCP FP8 E4M3FN: bias 7, no infinities, S.1111.111 is NaN); x = scale[g] · fp8(q).
        case fp8e4m3

        /// The C side's number for the format.
        var kernelCode: Int32 {
            switch self {
            case .int8: Int32(QK_FORMAT_INT8)
            case .uint4: Int32(QK_FORMAT_UINT4)
            case .fp8e4m3: Int32(QK_FORMAT_FP8E4M3)
            }
        }
    }

    /// Output features per panel of the layout (`QK_PANEL` in C).
    public static let panelWidth = 16

    public let format: Format
    public let outFeatures: Int
    public let inFeatures: Int
    /// Columns per group (`inFeatures` or less; the last group holds the remainder).
    public let groupSize: Int
    /// Groups per row: ⌈inFeatures / groupSize⌉.
    public let groupCount: Int
    /// Columns per layout step: 4 for one-byte codes, 8 for `uint4`.
    public let columnStep: Int
    /// `inFeatures` rounded up to `columnStep`.
    public let paddedInFeatures: Int
    /// ⌈outFeatures / panelWidth⌉.
    public let panelCount: Int
    /// Codes in the panel layout described above.
    let codes: [UInt8]
    /// `[panelCount, groupCount, panelWidth]`, or empty when every scale is exactly a half and `halfScales` holds them.
    let scales: [Float]
    /// The scales as IEEE half bits (GGUF blocks, `scale_type: float16` schemes): the same values in half the bytes
    /// the kernels stream per token; else empty.
    let halfScales: [UInt16]
    /// `[panelCount, groupCount, panelWidth]` for `uint4` with stored offsets (float, or half bits in `halfOffsets`
    /// when the scales are halves); both empty for `int8`, `fp8e4m3`, and for `uint4` whose every offset is −8 ·
    /// scale (symmetric int4, Q4_0), which the kernels compute from the scale.
    let offsets: [Float]
    let halfOffsets: [UInt16]
    /// Sum of the integer codes of each row's group, `[panelCount, groupCount, panelWidth]` (int8: signed codes,
    /// uint4: 0...15); the integer kernels subtract the activation zero point times it. Empty for fp8.
    let codeSums: [Int32]

    /// Packs signed int8 codes: x = scales[row · groupCount + g] · q.
    /// - Parameters: `codes`: `[outFeatures, inFeatures]` row-major; `scales`: `[outFeatures, groupCount]`.
    /// - Throws: `QuantError.shapeMismatch` for a code or scale count that does not fit the shape,
    ///   `.invalidConfiguration` for a non-positive dimension or group size, `.nonFiniteInput` for a NaN/infinite scale.
    public init(int8 codes: [Int8], scales: [Float], outFeatures: Int, inFeatures: Int, groupSize: Int)
        throws(QuantError)
    {
        try self.init(
            format: .int8, codeCount: codes.count, scales: scales, offsets: nil, outFeatures: outFeatures,
            inFeatures: inFeatures, groupSize: groupSize
        ) { body in codes.withUnsafeBytes { body($0) } }
    }

    /// Packs 4-bit codes (one code 0...15 per element): x = scales[i] · q + offsets[i], i = row · groupCount + g.
    /// - Parameters: `codes`: `[outFeatures, inFeatures]` row-major, one code per byte; `scales`, `offsets`:
    ///   `[outFeatures, groupCount]`.
    /// - Throws: as the int8 initializer, and `.invalidConfiguration` naming the first code above 15.
    public init(
        uint4 codes: [UInt8], scales: [Float], offsets: [Float], outFeatures: Int, inFeatures: Int, groupSize: Int
    ) throws(QuantError) {
        if let index = codes.firstIndex(where: { $0 > 15 }) {
            throw .invalidConfiguration(
                field: "codes",
                reason:
                    "PackedWeight(uint4): code \(codes[index]) at element \(index) (row \(index / max(inFeatures, 1)), "
                    + "column \(index % max(inFeatures, 1))) is outside 0...15")
        }
        try self.init(
            format: .uint4, codeCount: codes.count, scales: scales, offsets: offsets, outFeatures: outFeatures,
            inFeatures: inFeatures, groupSize: groupSize
        ) { body in codes.withUnsafeBytes { body($0) } }
    }

    /// Packs FP8 E4M3FN codes: x = scales[row · groupCount + g] · fp8(q).
    /// - Throws: as the int8 initializer, and `.nonFiniteInput` naming the first NaN code (0x7F or 0xFF).
    public init(fp8e4m3 codes: [UInt8], scales: [Float], outFeatures: Int, inFeatures: Int, groupSize: Int)
        throws(QuantError)
    {
        if let index = codes.firstIndex(where: { $0 & 0x7F == 0x7F }) {
            throw .nonFiniteInput(
                "PackedWeight(fp8e4m3): code 0x\(String(codes[index], radix: 16)) at element \(index) is NaN")
        }
        try self.init(
            format: .fp8e4m3, codeCount: codes.count, scales: scales, offsets: nil, outFeatures: outFeatures,
            inFeatures: inFeatures, groupSize: groupSize
        ) { body in codes.withUnsafeBytes { body($0) } }
    }

    private init(
        format: Format, codeCount: Int, scales: [Float], offsets: [Float]?, outFeatures: Int, inFeatures: Int,
        groupSize: Int, withCodes: ((UnsafeRawBufferPointer) -> Void) -> Void
    ) throws(QuantError) {
        let place = "PackedWeight(\(format.rawValue))"
        guard outFeatures > 0, inFeatures > 0 else {
            throw .invalidConfiguration(
                field: "shape", reason: "\(place): shape [\(outFeatures), \(inFeatures)] must have positive dimensions")
        }
        guard groupSize > 0 else {
            throw .invalidConfiguration(
                field: "group_size", reason: "\(place): group size must be > 0, got \(groupSize)")
        }
        let (elements, overflow) = outFeatures.multipliedReportingOverflow(by: inFeatures)
        guard !overflow, codeCount == elements else {
            throw .shapeMismatch(
                "\(place): \(codeCount) codes for shape [\(outFeatures), \(inFeatures)] (\(overflow ? "overflow" : "\(elements)") expected)"
            )
        }
        let size = min(groupSize, inFeatures)
        let groups = (inFeatures + size - 1) / size
        guard scales.count == outFeatures * groups else {
            throw .shapeMismatch(
                "\(place): \(scales.count) scales for \(outFeatures) rows × \(groups) groups of \(size) (\(outFeatures * groups) expected)"
            )
        }
        if let offsets, offsets.count != scales.count {
            throw .shapeMismatch(
                "\(place): \(offsets.count) offsets for \(outFeatures) rows × \(groups) groups (\(scales.count) expected)"
            )
        }
        if let index = scales.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteInput(
                "\(place): scale \(index) (row \(index / groups), group \(index % groups)) is \(scales[index])")
        }
        if let offsets, let index = offsets.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteInput(
                "\(place): offset \(index) (row \(index / groups), group \(index % groups)) is \(offsets[index])")
        }
        let width = Self.panelWidth
        let step = format == .uint4 ? 8 : 4
        let padded = (inFeatures + step - 1) / step * step
        let panels = (outFeatures + width - 1) / width
        self.format = format
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.groupSize = size
        self.groupCount = groups
        self.columnStep = step
        self.paddedInFeatures = padded
        self.panelCount = panels
        let panelBytes = format == .uint4 ? padded * width / 2 : padded * width
        var packed = [UInt8](repeating: 0, count: panels * panelBytes)
        var sums = [Int32](repeating: 0, count: format == .fp8e4m3 ? 0 : panels * groups * width)
        withCodes { raw in
            packed.withUnsafeMutableBufferPointer { target in
                sums.withUnsafeMutableBufferPointer { sums in
                    qk_pack(
                        format.kernelCode, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(outFeatures),
                        Int32(inFeatures), Int32(size), Int32(groups), Int32(padded), target.baseAddress,
                        sums.isEmpty ? nil : sums.baseAddress)
                }
            }
        }
        var panelScales = [Float](repeating: 0, count: panels * groups * width)
        var panelOffsets = [Float](repeating: 0, count: offsets == nil ? 0 : panels * groups * width)
        for row in 0..<outFeatures {
            let (panel, lane) = row.quotientAndRemainder(dividingBy: width)
            for group in 0..<groups {
                panelScales[(panel * groups + group) * width + lane] = scales[row * groups + group]
                if let offsets { panelOffsets[(panel * groups + group) * width + lane] = offsets[row * groups + group] }
            }
        }
        self.codes = packed
        self.codeSums = sums
        let storage = ParameterStorage(scales: panelScales, offsets: panelOffsets)
        self.scales = storage.scales
        self.halfScales = storage.halfScales
        self.offsets = storage.offsets
        self.halfOffsets = storage.halfOffsets
    }

    /// The most compact exact storage of per-group parameters: offsets dropped when each is −8 · its scale (the
    /// kernels recompute that product exactly), scales and offsets as halves when every value is one.
    struct ParameterStorage {
        var scales: [Float], halfScales: [UInt16] = [], offsets: [Float], halfOffsets: [UInt16] = []

        init(scales: [Float], offsets: [Float]) {
            self.scales = scales
            let symmetric = !offsets.isEmpty && zip(scales, offsets).allSatisfy { $0.1 == -8 * $0.0 }
            self.offsets = symmetric ? [] : offsets
            guard scales.allSatisfy(Self.isHalf), self.offsets.allSatisfy(Self.isHalf) else { return }
            halfScales = scales.map { Float16($0).bitPattern }
            halfOffsets = self.offsets.map { Float16($0).bitPattern }
            self.scales = []
            self.offsets = []
        }

        /// Whether `value` converts to a half and back unchanged (a signed zero keeps its sign).
        static func isHalf(_ value: Float) -> Bool { Float(Float16(value)).bitPattern == value.bitPattern }
    }

    /// Byte (within a panel) and bit shift of the code of `column` for row `lane` of that panel.
    @inline(__always)
    static func position(format: Format, lane: Int, column: Int) -> (byte: Int, shift: UInt8) {
        if format == .uint4 {
            let (step, j) = column.quotientAndRemainder(dividingBy: 8)
            return (step * 64 + lane * 4 + (j & 3), j < 4 ? 0 : 4)
        }
        let (step, j) = column.quotientAndRemainder(dividingBy: 4)
        return (step * 64 + lane * 4 + j, 0)
    }

    /// Bytes of one panel's codes.
    var panelByteCount: Int {
        format == .uint4 ? paddedInFeatures * Self.panelWidth / 2 : paddedInFeatures * Self.panelWidth
    }

    /// Whether every group boundary but the row's end falls on a layout step, as the fast kernels need; other group
    /// sizes (not a multiple of 4, or of 8 for uint4) run the reference.
    var hasAlignedGroups: Bool { groupSize >= inFeatures || groupSize % columnStep == 0 }

    /// Memory held: codes plus parameters, in bytes.
    public var byteCount: Int {
        codes.count + 4 * (scales.count + offsets.count + codeSums.count) + 2 * (halfScales.count + halfOffsets.count)
    }

    /// Bytes the float-input kernels read per product: codes and per-group parameters (not the integer code sums).
    public var streamedByteCount: Int {
        codes.count + 4 * (scales.count + offsets.count) + 2 * (halfScales.count + halfOffsets.count)
    }

    /// Stored code of one element (int8 as its bit pattern, uint4 as 0...15).
    @inline(__always)
    func code(row: Int, column: Int) -> UInt8 {
        let (panel, lane) = row.quotientAndRemainder(dividingBy: Self.panelWidth)
        let (byte, shift) = Self.position(format: format, lane: lane, column: column)
        let raw = codes[panel * panelByteCount + byte] >> shift
        return format == .uint4 ? raw & 0x0F : raw
    }

    /// Index of a row's group parameters in `scales`, `offsets` and `codeSums`.
    @inline(__always)
    func parameterIndex(row: Int, group: Int) -> Int {
        let (panel, lane) = row.quotientAndRemainder(dividingBy: Self.panelWidth)
        return (panel * groupCount + group) * Self.panelWidth + lane
    }

    /// Scale of a row's group.
    public func scale(row: Int, group: Int) -> Float {
        let index = parameterIndex(row: row, group: group)
        return scales.isEmpty ? Float(Float16(bitPattern: halfScales[index])) : scales[index]
    }

    /// Offset of a row's group (0 unless `uint4`; −8 · scale for a symmetric `uint4` that stores none).
    public func offset(row: Int, group: Int) -> Float {
        guard format == .uint4 else { return 0 }
        let index = parameterIndex(row: row, group: group)
        if !offsets.isEmpty { return offsets[index] }
        if !halfOffsets.isEmpty { return Float(Float16(bitPattern: halfOffsets[index])) }
        return -8 * scale(row: row, group: group)
    }

    /// The element's code as a number (before scale and offset): int8 q, uint4 q, or fp8(q).
    @inline(__always)
    func codeValue(row: Int, column: Int) -> Float {
        let raw = code(row: row, column: column)
        switch format {
        case .int8: return Float(Int8(bitPattern: raw))
        case .uint4: return Float(raw)
        case .fp8e4m3: return MiniFloatFormat.e4m3.decode(raw)
        }
    }

    /// Dequantized weight `[outFeatures, inFeatures]`, row-major (tests and fallbacks).
    public func dequantized() -> [Float] {
        var values = [Float](repeating: 0, count: outFeatures * inFeatures)
        values.withUnsafeMutableBufferPointer { buffer in
            for row in 0..<outFeatures { dequantizeRow(row, into: buffer.baseAddress! + row * inFeatures) }
        }
        return values
    }

    /// Writes row `row`'s `inFeatures` dequantized values (an embedding lookup in a packed tied table).
    public func dequantizeRow(_ row: Int, into target: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < outFeatures, "row \(row) of \(outFeatures)")
        withKernelWeight { kernelWeight in
            var w = kernelWeight
            qk_dequantize_row(&w, Int32(row), target)
        }
    }
}
