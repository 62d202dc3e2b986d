import Foundation
import Testing

/// `Fixtures/number_formats.json`, written by `scripts/reference/number_formats_reference.py` from ml_dtypes (see
/// `Fixtures/README.md`). Every float is a float32 bit pattern.
struct NumberFormatFixtures: Decodable {
    struct Format: Decodable {
        /// Value of every code.
        let decode: [UInt32]
        /// [input, code] with |input| ≤ max finite (and NaN where the format has it).
        let cases: [[UInt32]]
        /// [input, saturating code, plain (non-saturating) cast code].
        let overflow: [[UInt32]]
    }

    struct E8M0Table: Decodable {
        let decode: [UInt32]
    }

    let formats: [String: Format]
    let e8m0: E8M0Table
    /// [input, float16 bits].
    let float16: [[UInt32]]
    /// [input, bfloat16 bits].
    let bfloat16: [[UInt32]]

    static func load() throws -> NumberFormatFixtures {
        let url = try #require(
            Bundle.module.url(forResource: "number_formats", withExtension: "json", subdirectory: "Fixtures"),
            "Fixtures/number_formats.json is missing from the test bundle")
        return try JSONDecoder().decode(NumberFormatFixtures.self, from: Data(contentsOf: url))
    }
}

/// Hex spelling of a float's bits for failure messages.
func hexBits(_ value: Float) -> String { "0x" + String(value.bitPattern, radix: 16) + " (\(value))" }
