import Foundation

/// Just enough of a GGUF v2/v3 reader (header and metadata key/values; GGUF spec, "File Structure") to get the
/// `tokenizer.*` keys out of a model file, so these tests can build the tokenizer the way the GGUF bridge does without
/// depending on the ModelFormats module. Tensor infos and data are never read.
struct GGUFTokenizerMetadata {
    enum Value {
        case integer(Int)
        case bool(Bool)
        case string(String)
        case strings([String])
        case integers([Int])
        case other
    }

    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    let values: [String: Value]

    /// Reads every metadata key of the file at `url`, keeping the values of keys that start with `tokenizer.`.
    init(url: URL) throws {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        var reader = Reader(data: data)
        guard try reader.bytes(4) == Array("GGUF".utf8) else { throw ReadError(description: "\(url.path): not GGUF") }
        let version = try reader.integer(UInt32.self)
        guard version == 2 || version == 3 else { throw ReadError(description: "GGUF version \(version)") }
        _ = try reader.integer(UInt64.self)  // tensor count
        let keyCount = try reader.integer(UInt64.self)
        var values: [String: Value] = [:]
        for _ in 0..<keyCount {
            let key = try reader.string()
            let type = try reader.integer(UInt32.self)
            let value = try reader.value(type: type, keep: key.hasPrefix("tokenizer."))
            if key.hasPrefix("tokenizer.") { values[key] = value }
        }
        self.values = values
    }

    func strings(_ key: String) throws -> [String] {
        guard case .strings(let list) = values[key] else { throw ReadError(description: "\(key): not a string array") }
        return list
    }

    func integers(_ key: String) throws -> [Int] {
        guard case .integers(let list) = values[key] else {
            throw ReadError(description: "\(key): not an integer array")
        }
        return list
    }

    func integer(_ key: String) throws -> Int {
        guard case .integer(let value) = values[key] else { throw ReadError(description: "\(key): not an integer") }
        return value
    }

    func bool(_ key: String) throws -> Bool {
        guard case .bool(let value) = values[key] else { throw ReadError(description: "\(key): not a boolean") }
        return value
    }

    func string(_ key: String) throws -> String {
        guard case .string(let value) = values[key] else { throw ReadError(description: "\(key): not a string") }
        return value
    }

    private struct Reader {
        let data: Data
        var offset = 0

        mutating func bytes(_ count: Int) throws -> [UInt8] {
            guard count >= 0, offset + count <= data.count else {
                throw ReadError(description: "truncated at byte \(offset): needed \(count)")
            }
            defer { offset += count }
            return [UInt8](data[data.startIndex + offset..<data.startIndex + offset + count])
        }

        mutating func skip(_ count: Int) throws {
            guard count >= 0, offset + count <= data.count else {
                throw ReadError(description: "truncated at byte \(offset): needed \(count)")
            }
            offset += count
        }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let raw = try bytes(MemoryLayout<T>.size)
            var value: T = 0
            for (index, byte) in raw.enumerated() { value |= T(truncatingIfNeeded: byte) << (8 * index) }
            return value
        }

        mutating func string() throws -> String {
            let count = try integer(UInt64.self)
            guard count < UInt64(data.count) else {
                throw ReadError(description: "string length \(count) at \(offset)")
            }
            return String(decoding: try bytes(Int(count)), as: UTF8.self)
        }

        /// Width in bytes of the fixed-size GGUF value types (0 u8 ... 12 f64); nil for string (8) and array (9).
        static func width(of type: UInt32) -> Int? {
            switch type {
            case 0, 1, 7: 1
            case 2, 3: 2
            case 4, 5, 6: 4
            case 10, 11, 12: 8
            default: nil
            }
        }

        mutating func scalarInteger(type: UInt32) throws -> Int? {
            switch type {
            case 0: Int(try integer(UInt8.self))
            case 1: Int(try integer(Int8.self))
            case 2: Int(try integer(UInt16.self))
            case 3: Int(try integer(Int16.self))
            case 4: Int(try integer(UInt32.self))
            case 5: Int(try integer(Int32.self))
            case 10: Int(try integer(UInt64.self))
            case 11: Int(try integer(Int64.self))
            default: nil
            }
        }

        mutating func value(type: UInt32, keep: Bool) throws -> Value {
            switch type {
            case 8:
                return .string(try string())
            case 7:
                return .bool(try integer(UInt8.self) != 0)
            case 9:
                let elementType = try integer(UInt32.self)
                let count = try integer(UInt64.self)
                guard count < UInt64(data.count) else { throw ReadError(description: "array count \(count)") }
                if elementType == 8 {
                    var list: [String] = []
                    if keep { list.reserveCapacity(Int(count)) }
                    for _ in 0..<count {
                        let text = try string()
                        if keep { list.append(text) }
                    }
                    return keep ? .strings(list) : .other
                }
                guard let width = Self.width(of: elementType) else {
                    throw ReadError(description: "unsupported array element type \(elementType)")
                }
                if !keep || elementType == 6 || elementType == 12 || elementType == 7 {
                    try skip(width * Int(count))
                    return .other
                }
                var list: [Int] = []
                list.reserveCapacity(Int(count))
                for _ in 0..<count { list.append(try scalarInteger(type: elementType)!) }
                return .integers(list)
            default:
                guard let width = Self.width(of: type) else {
                    throw ReadError(description: "unknown value type \(type)")
                }
                if let value = try scalarInteger(type: type) { return .integer(value) }
                try skip(width)
                return .other
            }
        }
    }
}
