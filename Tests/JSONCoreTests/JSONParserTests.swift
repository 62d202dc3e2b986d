import JSONCore
import Testing

@Suite("JSONParser")
struct JSONParserTests {
    static func parse(_ text: String, maxDepth: Int = JSONParser.defaultMaxDepth) throws(JSONParser.Failure) -> JSONValue {
        try JSONParser.parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// Each document breaks RFC 8259 at the given byte, for the given reason.
    static let malformed: [(String, Int, String)] = [
        ("", 0, "unexpected end of JSON"),
        ("   ", 3, "unexpected end of JSON"),
        (#"{"a":"#, 5, "unexpected end of JSON"),
        (#"{"a":1,}"#, 7, "expected a string key"),
        (#"{"a" 1}"#, 5, "expected ':' after key \"a\""),
        (#"{"a":1"#, 6, "expected ',' or '}' in object"),
        (#"{"a":01}"#, 6, "expected ',' or '}' in object"),
        ("[1,]", 3, "unexpected character ']'"),
        ("[1 2]", 3, "expected ',' or ']' in array"),
        (#"{"a":{}} x"#, 9, "unexpected data after the JSON value"),
        (#"{"a":tru}"#, 8, "invalid literal, expected 'true'"),
        ("nul", 3, "invalid literal, expected 'null'"),
        ("NaN", 0, "unexpected character 'N'"),
        ("+1", 0, "unexpected character '+'"),
        ("'a'", 0, "unexpected character '''"),
        ("// c\n1", 0, "unexpected character '/'"),
        ("-", 1, "expected a digit"),
        ("1.", 2, "expected a digit after '.'"),
        ("1e+", 3, "expected a digit in the exponent"),
        ("\"a\u{01}\"", 2, "unescaped control character 0x1 in string"),
        ("\"a\u{01}\\n\"", 2, "unescaped control character 0x1 in string"),
        ("\"a\\n\u{1F}\"", 4, "unescaped control character 0x1f in string"),
        (#""ab"#, 3, "unterminated string"),
        (#""a\"#, 3, "unterminated escape"),
        (#"{"a\x":1}"#, 3, "invalid escape '\\x'"),
        (#""\u12g4""#, 5, "invalid hex digit in \\u escape"),
        (#""\u12"#, 5, "unterminated \\u escape"),
        (#"{"\ud800":1}"#, 8, "lone high surrogate in \\u escape"),
        (#""\ud800\u0041""#, 13, "lone high surrogate in \\u escape"),
        (#""\udc00""#, 7, "lone low surrogate in \\u escape"),
    ]

    @Test(arguments: malformed) func malformedDocumentFailsAtTheByte(text: String, offset: Int, reason: String) {
        #expect(throws: JSONParser.Failure(offset: offset, reason: reason)) { try Self.parse(text) }
    }

    @Test func invalidUTF8IsReportedAtTheOpeningQuote() {
        for (bytes, offset): ([UInt8], Int) in [([0x5B, 0x22, 0xC3, 0x28, 0x22, 0x5D], 1), ([0x22, 0x5C, 0x6E, 0xFF, 0x22], 0)] {
            #expect(throws: JSONParser.Failure(offset: offset, reason: "string is not valid UTF-8")) {
                try JSONParser.parse(bytes)
            }
        }
    }

    @Test func nestingIsLimited() throws {
        // The top-level value is at level 0, so 64 nested arrays (the innermost, empty, at level 63) fit and 65 do not.
        let fits = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try Self.parse(fits) != .null)
        let deeper = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParser.Failure(offset: 64, reason: "nesting deeper than 64 levels")) { try Self.parse(deeper) }
        #expect(try Self.parse(deeper, maxDepth: 65) != .null)
        #expect(throws: JSONParser.Failure(offset: 6, reason: "nesting deeper than 2 levels")) {
            try Self.parse(#"{"a":[1]}"#, maxDepth: 2)
        }
    }

    @Test func valuesKeepOrderDuplicatesAndNumberText() throws {
        let value = try Self.parse(
            " {\"b\": [1, -0, 1.5e+3, 2E-2, 0.25], \"a\": {\"x\": null}, \"b\": true, \"c\": \"\", \"d\": false}\n\t")
        #expect(
            value
                == .object([
                    .init(
                        key: "b",
                        value: .array([.number("1"), .number("-0"), .number("1.5e+3"), .number("2E-2"), .number("0.25")])),
                    .init(key: "a", value: .object([.init(key: "x", value: .null)])),
                    .init(key: "b", value: .bool(true)),
                    .init(key: "c", value: .string("")),
                    .init(key: "d", value: .bool(false)),
                ]))
        #expect(value.firstRepeatedKey == "b")
        #expect(value.lastValueByKey?["b"] == .bool(true))
        #expect(value.lastValueByKey?.count == 4)
        #expect(try Self.parse("{}") == .object([]))
        #expect(try Self.parse("[ ]") == .array([]))
        #expect(try Self.parse(#"{"a":1,"b":2}"#).firstRepeatedKey == nil)
    }

    @Test func escapesDecodeToTheirScalars() throws {
        let text = #""q\" b\\ s\/ \b\f\n\r\t \u00e9\u20AC \ud83c\udf55 é😀""#
        #expect(try Self.parse(text) == .string("q\" b\\ s/ \u{08}\u{0C}\n\r\t é€ 🍕 é😀"))
        #expect(try Self.parse(#""\u0000""#) == .string("\u{00}"))
    }
}
