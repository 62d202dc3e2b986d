/// The character classes the pre-tokenizer regexes test, as bit flags over one Unicode scalar.
///
/// Hugging Face tokenizers run these regexes with Oniguruma in its default (Ruby) syntax on UTF-8, where `\p{L}` is
/// general category L (Lu, Ll, Lt, Lm, Lo), `\p{N}` is N (Nd, Nl, No) and `\s` is the White_Space property
/// (U+0009...U+000D, U+0020, U+0085, U+00A0, Zs, U+2028, U+2029). Rust's `char::is_numeric` (used by the `Digits`
/// pre-tokenizer) is the same N category. Categories come from the Swift standard library's Unicode tables, which may
/// be a newer Unicode version than Oniguruma's: only scalars assigned in between can classify differently.
enum ScalarClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    /// Neither letter, number nor whitespace: what `[^\s\p{L}\p{N}]` matches.
    static let other: UInt8 = 0

    private static let ascii: [UInt8] = (0..<128).map { value in
        let scalar = Unicode.Scalar(UInt8(value))
        return classify(slow: scalar)
    }

    /// The class of the scalar with value `value`, which must be a valid scalar value.
    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        if value < 128 { return ascii[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return other }
        return classify(slow: scalar)
    }

    private static func classify(slow scalar: Unicode.Scalar) -> UInt8 {
        let properties = scalar.properties
        if properties.isWhitespace { return whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return other
        }
    }
}
