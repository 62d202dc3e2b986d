import JSONCore
import Testing

@Suite("JSONValue access and writing")
struct JSONValueTests {
    @Test func integersRejectFractionsExponentsAndOverflow() {
        #expect(JSONValue.number("42").integerValue == 42)
        #expect(JSONValue.number("-0").integerValue == 0)
        #expect(JSONValue.number("9223372036854775807").integerValue == Int.max)
        #expect(JSONValue.number("-9223372036854775808").integerValue == Int.min)
        for text in ["9223372036854775808", "-9223372036854775809", "1.0", "1e3", "1E3", "0.5"] {
            #expect(JSONValue.number(text).integerValue == nil, "\(text)")
        }
        #expect(JSONValue.string("1").integerValue == nil)
        #expect(JSONValue.bool(true).integerValue == nil)
        #expect(JSONValue.integer(-7) == .number("-7"))
    }

    @Test func typedAccessorsMatchOnlyTheirKind() {
        #expect(JSONValue.number("1.5e3").doubleValue == 1500)
        #expect(JSONValue.number("1e400").doubleValue == .infinity)
        #expect(JSONValue.string("1").doubleValue == nil)
        #expect(JSONValue.string("x").stringValue == "x")
        #expect(JSONValue.null.stringValue == nil)
        #expect(JSONValue.bool(false).boolValue == false)
        #expect(JSONValue.number("0").boolValue == nil)
        #expect(JSONValue.array([.null]).arrayValue == [.null])
        #expect(JSONValue.object([]).arrayValue == nil)
        #expect(JSONValue.object([.init(key: "k", value: .null)]).members == [.init(key: "k", value: .null)])
        #expect(JSONValue.array([]).members == nil)
        #expect(JSONValue.array([]).lastValueByKey == nil)
    }

    @Test func kindsNameTheValueForMessages() {
        let values: [JSONValue] = [.object([]), .array([]), .string("s"), .number("1.5"), .bool(true), .null]
        #expect(values.map(\.kindName) == ["an object", "an array", "a string", "a number", "a boolean", "null"])
        #expect(values.map(\.kindDescription) == ["an object", "an array", "a string", "the number 1.5", "true", "null"])
    }

    @Test func quotingEscapesAsSerdeJSON() {
        #expect(JSONValue.quoted("a\"b\\c/d") == #""a\"b\\c/d""#)
        #expect(JSONValue.quoted("\u{08}\u{0C}\n\r\t") == #""\b\f\n\r\t""#)
        #expect(JSONValue.quoted("\u{00}\u{01}\u{1F}\u{7F}") == "\"\\u0000\\u0001\\u001f\u{7F}\"")
        #expect(JSONValue.quoted("é€🍕") == "\"é€🍕\"")
    }

    @Test func prettyPrintingHasAStableLayout() {
        let value = JSONValue.sortedObject([
            "z": .array([.integer(1), .string("two"), .null]),
            "a": .object([.init(key: "y", value: .bool(true)), .init(key: "x", value: .array([]))]),
            "m": .object([]),
        ])
        let expected = """
            {
              "a": {
                "y": true,
                "x": []
              },
              "m": {},
              "z": [1, "two", null]
            }

            """
        #expect(String(decoding: value.prettyPrinted(), as: UTF8.self) == expected)
        let long = JSONValue.array((0...JSONValue.inlineLimit).map { .integer($0) })
        #expect(String(decoding: long.prettyPrinted(), as: UTF8.self).split(separator: "\n").count == JSONValue.inlineLimit + 3)
    }

    /// Every scalar class the writer treats differently (quotes, escapes, controls, non-ASCII), nested.
    @Test func writtenDocumentsParseBackToTheSameValue() throws {
        var text = ""
        for scalar in (0x00...0x7F).compactMap(Unicode.Scalar.init) { text.unicodeScalars.append(scalar) }
        text += "é€🍕\u{2028}"
        let value = JSONValue.object([
            .init(key: text, value: .array([.string(text), .number("-1.25e-7"), .integer(Int.min), .bool(false)])),
            .init(key: "dup", value: .null), .init(key: "dup", value: .object([.init(key: "", value: .string(""))])),
            .init(key: "list", value: .array((0..<20).map { .integer($0 * 7919) })),
        ])
        #expect(try JSONParser.parse(value.prettyPrinted()) == value)
        #expect(try JSONParser.parse(Array(JSONValue.quoted(text).utf8)) == .string(text))
    }
}
