/// A JSON value to write whose objects keep their keys in the order given, so that a written document is the same
/// bytes on every run (`Dictionary` order changes from one process to the next, and `JSONSerialization` can only sort
/// every object, which would put a vocabulary in string order rather than id order).
indirect enum OrderedJSON: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([OrderedJSON])
    case object([Field])

    /// One key and its value.
    struct Field: Equatable {
        var key: String
        var value: OrderedJSON
    }

    /// An object whose key order carries no meaning: its keys are sorted.
    static func sortedObject(_ fields: [String: OrderedJSON]) -> OrderedJSON {
        .object(fields.sorted { $0.key < $1.key }.map { Field(key: $0.key, value: $0.value) })
    }

    /// Containers of at most this many scalars are written on one line (`{"type": "Digits", ...}`, a merge pair);
    /// larger or nested ones put one element per line, so a vocabulary or merges list reads one entry per line.
    static let inlineLimit = 8

    /// The UTF-8 text (RFC 8259): two-space indentation, `": "` after keys, non-ASCII characters written as they are,
    /// and only `"`, `\` and U+0000...U+001F escaped (as serde_json and Python's `json` with `ensure_ascii=False` do).
    func serialized() -> [UInt8] {
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
        case .null: output += Array("null".utf8)
        case .bool(let flag): output += Array((flag ? "true" : "false").utf8)
        case .int(let value): output += Array(String(value).utf8)
        case .string(let text): Self.writeString(text, to: &output)
        case .array(let items):
            let inline = items.count <= Self.inlineLimit && items.allSatisfy(\.isScalar)
            Self.writeContainer(open: "[", close: "]", count: items.count, inline: inline, depth: depth, to: &output) {
                index, output in
                items[index].write(to: &output, depth: depth + 1)
            }
        case .object(let fields):
            let inline = fields.count <= Self.inlineLimit && fields.allSatisfy(\.value.isScalar)
            Self.writeContainer(open: "{", close: "}", count: fields.count, inline: inline, depth: depth, to: &output) {
                index, output in
                Self.writeString(fields[index].key, to: &output)
                output += [UInt8(ascii: ":"), UInt8(ascii: " ")]
                fields[index].value.write(to: &output, depth: depth + 1)
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
                output += [UInt8](repeating: UInt8(ascii: " "), count: 2 * (depth + 1))
            }
            element(index, &output)
        }
        if !inline && count > 0 {
            output.append(UInt8(ascii: "\n"))
            output += [UInt8](repeating: UInt8(ascii: " "), count: 2 * depth)
        }
        output.append(UInt8(ascii: close))
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output += Array("\\u00".utf8)
                output += [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
