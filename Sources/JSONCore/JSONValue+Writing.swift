extension JSONValue {
    /// Containers of at most this many scalars are written on one line by `prettyPrinted()` (`{"type": "Digits",
    /// ...}`, a merge pair); larger or nested ones put one element per line, so a vocabulary or merges list reads one
    /// entry per line.
    public static let inlineLimit = 8

    /// `string` as a JSON string literal, escaped as serde_json (the reference of safetensors and tokenizers) escapes
    /// it: `"` and `\`, the short escapes `\b \f \n \r \t`, other control characters as `\u00XX` (lowercase hex),
    /// everything else (`/` and non-ASCII included) as raw UTF-8.
    public static func quoted(_ string: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(string.utf8.count + 2)
        writeString(string, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// The value as UTF-8 text (RFC 8259) in a stable, readable layout: two-space indentation, `": "` after keys,
    /// members in the order held (see `sortedObject(_:)`), strings escaped as `quoted(_:)` does, numbers as their
    /// text, and a final newline. The same value always gives the same bytes.
    public func prettyPrinted() -> [UInt8] {
        var output: [UInt8] = []
        write(to: &output, depth: 0)
        output.append(UInt8(ascii: "\n"))
        return output
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    private func write(to output: inout [UInt8], depth: Int) {
        switch self {
        case .null: output += "null".utf8
        case let .bool(flag): output += (flag ? "true" : "false").utf8
        case let .number(text): output += text.utf8
        case let .string(text): Self.writeString(text, to: &output)
        case let .array(elements):
            let inline = elements.count <= Self.inlineLimit && elements.allSatisfy(\.isScalar)
            Self.writeContainer(open: "[", close: "]", count: elements.count, inline: inline, depth: depth, to: &output) {
                index, output in
                elements[index].write(to: &output, depth: depth + 1)
            }
        case let .object(members):
            let inline = members.count <= Self.inlineLimit && members.allSatisfy(\.value.isScalar)
            Self.writeContainer(open: "{", close: "}", count: members.count, inline: inline, depth: depth, to: &output) {
                index, output in
                Self.writeString(members[index].key, to: &output)
                output += [UInt8(ascii: ":"), UInt8(ascii: " ")]
                members[index].value.write(to: &output, depth: depth + 1)
            }
        }
    }

    private static func writeContainer(
        open: Unicode.Scalar, close: Unicode.Scalar, count: Int, inline: Bool, depth: Int, to output: inout [UInt8],
        element: (Int, inout [UInt8]) -> Void
    ) {
        output.append(UInt8(ascii: open))
        for index in 0..<count {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            if inline {
                if index > 0 { output.append(UInt8(ascii: " ")) }
            } else {
                output.append(UInt8(ascii: "\n"))
                output += repeatElement(UInt8(ascii: " "), count: 2 * (depth + 1))
            }
            element(index, &output)
        }
        if !inline && count > 0 {
            output.append(UInt8(ascii: "\n"))
            output += repeatElement(UInt8(ascii: " "), count: 2 * depth)
        }
        output.append(UInt8(ascii: close))
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: output += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: output += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                output += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
                output += [hex.utf8Start[Int(byte >> 4)], hex.utf8Start[Int(byte & 0x0F)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
