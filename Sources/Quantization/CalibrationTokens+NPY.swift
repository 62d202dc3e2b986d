import Foundation

/// The part of the NumPy `.npy` format (format versions 1.0, 2.0 and 3.0; numpy/lib/format.py) a token array needs:
/// magic `\x93NUMPY`, major and minor version bytes, a little-endian header length (2 bytes in 1.0, 4 after), a header
/// that is a Python dict literal `{'descr': '<i4', 'fortran_order': False, 'shape': (N, T), }`, then the data.
///
/// Accepted: dtypes `<i4`, `<i8`, `<u4` (explicitly little-endian int32, int64, uint32), C order, a 2-D shape, and
/// exactly N · T · itemsize data bytes. Everything else is an error that names the field.
enum NPYArray {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// The rows of a 2-D integer array.
    /// - Throws: `QuantizationError.invalidCalibrationTokens` for a truncated file, an unknown version, a malformed
    ///   header, a dtype other than `<i4`/`<i8`/`<u4`, Fortran order, a shape that is not 2-D, or a data length that
    ///   is not N · T · itemsize.
    static func windows(from bytes: [UInt8], path: String) throws(QuantizationError) -> [[Int]] {
        func fail(_ reason: String) -> QuantizationError { .invalidCalibrationTokens(path: path, reason: "npy: " + reason) }
        guard bytes.count >= 10 else { throw fail("truncated: \(bytes.count) bytes, shorter than the 10-byte preamble") }
        let major = bytes[6]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated: \(bytes.count) bytes, shorter than the 12-byte preamble") }
            headerStart = 12
            headerLength = (8..<12).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }
        default:
            throw fail("format version \(major).\(bytes[7]) is not 1.0, 2.0 or 3.0")
        }
        guard headerLength <= bytes.count - headerStart else {
            throw fail("truncated header: \(headerLength) bytes announced, \(bytes.count - headerStart) present")
        }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1)
        else { throw fail("header is not text") }
        var parser = HeaderParser(text: header, fail: fail)
        let fields = try parser.dictionary()
        guard Set(fields.keys) == ["descr", "fortran_order", "shape"] else {
            throw fail("header keys \(fields.keys.sorted()) are not descr, fortran_order, shape")
        }
        guard case .string(let descr) = fields["descr"] else { throw fail("descr is not a string") }
        let itemSize: Int
        switch descr {
        case "<i4", "<u4": itemSize = 4
        case "<i8": itemSize = 8
        default:
            throw fail("dtype '\(descr)' is not a little-endian int32, int64 or uint32 ('<i4', '<i8', '<u4')")
        }
        guard case .bool(let fortranOrder) = fields["fortran_order"] else { throw fail("fortran_order is not True or False") }
        guard !fortranOrder else { throw fail("Fortran (column-major) order; write the array in C order") }
        guard case .tuple(let shape) = fields["shape"] else { throw fail("shape is not a tuple") }
        guard shape.count == 2 else { throw fail("shape \(shape) is not 2-D [windows, tokens]") }
        let (rows, columns) = (shape[0], shape[1])
        let (elements, overflow) = rows.multipliedReportingOverflow(by: columns)
        let (byteCount, overflow2) = elements.multipliedReportingOverflow(by: itemSize)
        guard !overflow, !overflow2 else { throw fail("shape \(shape) is too large") }
        let dataStart = headerStart + headerLength
        let present = bytes.count - dataStart
        guard present == byteCount else {
            throw fail(present < byteCount
                ? "truncated data: shape \(shape) of \(descr) needs \(byteCount) bytes, \(present) present"
                : "\(present - byteCount) bytes after the \(byteCount) the shape \(shape) of \(descr) needs")
        }
        var windows: [[Int]] = []
        windows.reserveCapacity(rows)
        for row in 0..<rows {
            var window = [Int](repeating: 0, count: columns)
            for column in 0..<columns {
                let offset = dataStart + (row * columns + column) * itemSize
                var raw: UInt64 = 0
                for byte in 0..<itemSize { raw |= UInt64(bytes[offset + byte]) << (8 * byte) }
                window[column] = switch descr {
                case "<i4": Int(Int32(truncatingIfNeeded: raw))
                case "<u4": Int(UInt32(truncatingIfNeeded: raw))
                default: Int(Int64(bitPattern: raw))
                }
            }
            windows.append(window)
        }
        return windows
    }

    /// A value of the header dict.
    enum HeaderValue: Equatable {
        case string(String)
        case bool(Bool)
        case tuple([Int])
    }

    /// Parses the header's Python dict literal strictly: quoted keys, string, True/False and integer-tuple values,
    /// optional trailing commas, then only spaces and a newline.
    struct HeaderParser {
        let scalars: [Unicode.Scalar]
        var index = 0
        let fail: (String) -> QuantizationError

        init(text: String, fail: @escaping (String) -> QuantizationError) {
            scalars = Array(text.unicodeScalars)
            self.fail = fail
        }

        mutating func dictionary() throws(QuantizationError) -> [String: HeaderValue] {
            var result: [String: HeaderValue] = [:]
            skipSpaces()
            try expect("{")
            while true {
                skipSpaces()
                if peek == "}" { index += 1; break }
                let key = try quoted()
                skipSpaces()
                try expect(":")
                skipSpaces()
                guard result[key] == nil else { throw fail("header repeats key '\(key)'") }
                result[key] = try value()
                skipSpaces()
                if peek == "," { index += 1 } else if peek != "}" { throw fail("header: expected ',' or '}' at \(index)") }
            }
            while index < scalars.count {
                guard scalars[index] == " " || scalars[index] == "\n" else {
                    throw fail("header: unexpected '\(scalars[index])' after the dict")
                }
                index += 1
            }
            return result
        }

        var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        mutating func skipSpaces() { while peek == " " { index += 1 } }

        mutating func expect(_ scalar: Unicode.Scalar) throws(QuantizationError) {
            guard peek == scalar else { throw fail("header: expected '\(scalar)' at \(index)") }
            index += 1
        }

        mutating func quoted() throws(QuantizationError) -> String {
            guard let quote = peek, quote == "'" || quote == "\"" else { throw fail("header: expected a quoted key at \(index)") }
            index += 1
            var text = ""
            while let scalar = peek, scalar != quote {
                text.unicodeScalars.append(scalar)
                index += 1
            }
            try expect(quote)
            return text
        }

        mutating func value() throws(QuantizationError) -> HeaderValue {
            if peek == "'" || peek == "\"" { return .string(try quoted()) }
            if peek == "(" {
                index += 1
                var items: [Int] = []
                while true {
                    skipSpaces()
                    if peek == ")" { index += 1; break }
                    var digits = ""
                    while let scalar = peek, ("0"..."9").contains(scalar) {
                        digits.unicodeScalars.append(scalar)
                        index += 1
                    }
                    guard let item = Int(digits) else { throw fail("header: shape holds a non-integer at \(index)") }
                    items.append(item)
                    skipSpaces()
                    if peek == "," { index += 1 } else if peek != ")" { throw fail("header: expected ',' or ')' at \(index)") }
                }
                return .tuple(items)
            }
            for (word, flag) in [("True", true), ("False", false)]
            where scalars[index...].starts(with: word.unicodeScalars) {
                index += word.unicodeScalars.count
                return .bool(flag)
            }
            throw fail("header: unexpected value at \(index)")
        }
    }
}
