/// compressed-tensors' `pack-quantized` bit layout (`compressors/pack_quantized/helpers.py`, `pack_to_int32` and
/// `unpack_from_int32`, release 0.20.1).
///
/// Codes are signed b-bit integers in [−2^(b−1), 2^(b−1) − 1] (the package's integer range for every b, symmetric or
/// not). Each is stored offset to unsigned, `u = q + 2^(b−1)`, and the b-bit values of one row are packed densely
/// into int32 words: element i of the row occupies bits [i·b, (i+1)·b) of the row's little-endian bit stream, so a
/// row of n codes takes ⌈n·b / 32⌉ words (the last one zero-padded). For b = 2, 4 and 8 no value crosses a word
/// (16, 8 and 4 per word, element i at shift b·(i mod 32/b)), which is also how releases before 0.17 packed them;
/// other widths cross word boundaries since 0.17. Weights pack along their rows (`packed_dim=1`); asymmetric zero
/// points `[outFeatures, groups]` pack along columns (`packed_dim=0`): the same layout applied to the transpose.
public enum CompressedTensorsPacking {
    /// Words one row of `count` codes of `bitWidth` bits takes.
    public static func wordCount(count: Int, bitWidth: Int) -> Int { (count * bitWidth + 31) / 32 }

    /// Packs a row-major `[rows, columns]` matrix of signed codes along its rows.
    /// - Returns: `[rows, wordCount(columns)]` words, row-major.
    public static func pack(_ codes: [Int32], rows: Int, columns: Int, bitWidth: Int) -> [Int32] {
        precondition((1...8).contains(bitWidth) && codes.count == rows * columns)
        let words = wordCount(count: columns, bitWidth: bitWidth)
        let offset = Int32(1) << (bitWidth - 1)
        let mask = UInt64((1 << bitWidth) - 1)
        var packed = [UInt32](repeating: 0, count: rows * words)
        for row in 0..<rows {
            for column in 0..<columns {
                let value = UInt64(UInt32(bitPattern: codes[row * columns + column] + offset)) & mask
                let bit = column * bitWidth
                let word = row * words + bit / 32, shift = bit % 32
                // A value may straddle two words (b not a power of two): the high part goes to the next word.
                let shifted = value << UInt64(shift)
                packed[word] |= UInt32(truncatingIfNeeded: shifted)
                if shift + bitWidth > 32 { packed[word + 1] |= UInt32(truncatingIfNeeded: shifted >> 32) }
            }
        }
        return packed.map { Int32(bitPattern: $0) }
    }

    /// Unpacks `[rows, wordCount(columns)]` words to `[rows, columns]` signed codes.
    public static func unpack(_ words: [Int32], rows: Int, columns: Int, bitWidth: Int) -> [Int32] {
        let perRow = wordCount(count: columns, bitWidth: bitWidth)
        precondition((1...8).contains(bitWidth) && words.count == rows * perRow)
        let offset = Int32(1) << (bitWidth - 1)
        let mask = UInt64((1 << bitWidth) - 1)
        var codes = [Int32](repeating: 0, count: rows * columns)
        for row in 0..<rows {
            for column in 0..<columns {
                let bit = column * bitWidth
                let word = row * perRow + bit / 32, shift = bit % 32
                var value = UInt64(UInt32(bitPattern: words[word]))
                if shift + bitWidth > 32 { value |= UInt64(UInt32(bitPattern: words[word + 1])) << 32 }
                codes[row * columns + column] = Int32((value >> UInt64(shift)) & mask) - offset
            }
        }
        return codes
    }

    /// Packs a `[rows, columns]` matrix along its columns (`packed_dim=0`, zero points).
    /// - Returns: `[wordCount(rows), columns]` words, row-major.
    public static func packColumns(_ codes: [Int32], rows: Int, columns: Int, bitWidth: Int) -> [Int32] {
        let packed = pack(
            transpose(codes, rows: rows, columns: columns), rows: columns, columns: rows, bitWidth: bitWidth)
        return transpose(packed, rows: columns, columns: wordCount(count: rows, bitWidth: bitWidth))
    }

    /// Unpacks `[wordCount(rows), columns]` words packed along columns to `[rows, columns]` codes.
    public static func unpackColumns(_ words: [Int32], rows: Int, columns: Int, bitWidth: Int) -> [Int32] {
        let wordRows = wordCount(count: rows, bitWidth: bitWidth)
        let codes = unpack(
            transpose(words, rows: wordRows, columns: columns), rows: columns, columns: rows, bitWidth: bitWidth)
        return transpose(codes, rows: columns, columns: rows)
    }

    static func transpose(_ values: [Int32], rows: Int, columns: Int) -> [Int32] {
        var result = [Int32](repeating: 0, count: values.count)
        for r in 0..<rows { for c in 0..<columns { result[c * rows + r] = values[r * columns + c] } }
        return result
    }
}
