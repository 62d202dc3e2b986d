/// GPT-2's reversible map between the 256 byte values and 256 printable Unicode scalars (`bytes_to_unicode` in
/// OpenAI's `encoder.py`, `bytes_char` in Hugging Face tokenizers' `byte_level.rs`).
///
/// Printable Latin-1 bytes (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) map to themselves; the other 68 bytes map, in
/// increasing byte order, to U+0100, U+0101, ... . So the space 0x20 becomes `Ġ` (U+0120) and `\n` becomes `Ċ`.
public enum ByteLevelAlphabet {
    /// `scalar(for: b)`'s value for every byte `b`, indexed by byte.
    public static let scalarValues: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each alphabet scalar stands for, indexed by scalar value (0..<324); -1 where a scalar is not in the
    /// alphabet.
    static let byteForScalarValue: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, value) in scalarValues.enumerated() { table[Int(value)] = Int16(byte) }
        return table
    }()

    /// The scalar that stands for `byte`.
    public static func scalar(for byte: UInt8) -> Unicode.Scalar {
        // Every table entry is below 0x144, a valid scalar.
        Unicode.Scalar(scalarValues[Int(byte)]).unsafelyUnwrapped
    }

    /// The byte that `scalar` stands for, or nil when it is not one of the 256 alphabet scalars.
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < byteForScalarValue.count, byteForScalarValue[value] >= 0 else { return nil }
        return UInt8(byteForScalarValue[value])
    }

    /// The byte-level spelling of `bytes`: one alphabet scalar per byte, as vocabularies store their tokens.
    public static func spell(_ bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(scalar(for: byte)) }
        return String(scalars)
    }

    /// The bytes a token string stands for, following Hugging Face's `ByteLevel` decoder: each scalar is mapped back
    /// through the alphabet, and a token with any scalar outside the alphabet contributes its own UTF-8 bytes.
    public static func bytes(ofToken token: String) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return Array(token.utf8) }
            result.append(byte)
        }
        return result
    }

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}
