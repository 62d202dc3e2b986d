import Foundation
import ModelFormats
import TensorCore
import Testing

/// Reader validation: every malformed input fails with its exact `FormatError`; odd but valid layouts are read.
@Suite struct SafetensorsFileTests {
    typealias Fixtures = SafetensorsFixtures

    /// Writes `bytes` to a temporary file and expects `SafetensorsFile(path:)` to throw `expected(path)`.
    private func expectOpenFails(
        _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation, _ expected: (String) -> FormatError
    ) throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let path = try Fixtures.write(bytes, named: "bad.safetensors", in: directory)
        #expect(throws: expected(path), sourceLocation: sourceLocation) { try SafetensorsFile(path: path) }
    }

    // MARK: - Truncation and header length

    @Test(arguments: [0, 1, 5, 7])
    func fileShorterThanTheLengthFieldIsTruncated(byteCount: Int) throws {
        try expectOpenFails([UInt8](repeating: 0, count: byteCount)) {
            .truncated(file: $0, at: 0, needed: 8, available: byteCount)
        }
    }

    @Test func headerLengthPastTheEndIsTruncated() throws {
        let header = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
        let bytes = Fixtures.file(header: header, data: [7], declaredLength: 100)
        try expectOpenFails(bytes) { .truncated(file: $0, at: 8, needed: 100, available: header.utf8.count + 1) }
    }

    @Test func hugeHeaderLengthIsTruncatedNotATrap() throws {
        try expectOpenFails(Fixtures.file(header: "{}", declaredLength: .max)) {
            .truncated(file: $0, at: 8, needed: Int.max, available: 2)
        }
    }

    @Test func headerOverTheSizeLimitIsInvalid() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        // A sparse file: the declared header fits in the file but exceeds the limit, and no disk space is used.
        let declared = SafetensorsFile.maxHeaderByteCount + 8
        let path = try Fixtures.write(Fixtures.file(header: "{}", declaredLength: UInt64(declared)), named: "big", in: directory)
        #expect(truncate(path, off_t(8 + declared)) == 0)
        #expect(throws: FormatError.invalidHeader(
            file: path, reason: "header length \(declared) exceeds the limit of \(SafetensorsFile.maxHeaderByteCount) bytes")
        ) { try SafetensorsFile(path: path) }
    }

    // MARK: - Header grammar and field types

    static let invalidHeaders: [(header: String, reason: String)] = [
        ("", "JSON syntax error at header byte 0: unexpected end of JSON"),
        (#"{"a":"#, "JSON syntax error at header byte 5: unexpected end of JSON"),
        (#"{"a":1,}"#, "JSON syntax error at header byte 7: expected a string key"),
        (#"{"a":{}} x"#, "JSON syntax error at header byte 9: unexpected data after the JSON value"),
        (#"{"a":01}"#, "JSON syntax error at header byte 6: expected ',' or '}' in object"),
        (#"{"a":tru}"#, "JSON syntax error at header byte 8: invalid literal, expected 'true'"),
        ("{\"a\u{01}\":1}", "JSON syntax error at header byte 3: unescaped control character 0x1 in string"),
        (#"{"a\x":1}"#, "JSON syntax error at header byte 3: invalid escape '\\x'"),
        (#"{"\ud800":1}"#, "JSON syntax error at header byte 8: lone high surrogate in \\u escape"),
        (#"{"a":"# + String(repeating: "[", count: 70), "JSON syntax error at header byte 68: nesting deeper than 64 levels"),
        ("[1,2]", "expected a JSON object, found an array"),
        (#""text""#, "expected a JSON object, found a string"),
        (#"{"a":[]}"#, #"tensor "a": expected an object, found an array"#),
        (#"{"a":{"shape":[1],"data_offsets":[0,1]}}"#, #"tensor "a": missing field "dtype""#),
        (#"{"a":{"dtype":"U8","data_offsets":[0,1]}}"#, #"tensor "a": missing field "shape""#),
        (#"{"a":{"dtype":"U8","shape":[1]}}"#, #"tensor "a": missing field "data_offsets""#),
        (#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"offset":0}}"#, #"tensor "a": unknown field "offset""#),
        (#"{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#,
         #"tensor "a": field "dtype" appears more than once"#),
        (#"{"a":{"dtype":8,"shape":[1],"data_offsets":[0,1]}}"#, #"tensor "a": dtype must be a string, found the number 8"#),
        (#"{"a":{"dtype":"U8","shape":"1","data_offsets":[0,1]}}"#,
         #"tensor "a": shape must be an array of integers, found a string"#),
        (#"{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}"#,
         #"tensor "a": shape must be an array of integers that fit in 64 bits, found the number 1.0"#),
        (#"{"a":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}}"#,
         #"tensor "a": shape must be an array of integers that fit in 64 bits, found true"#),
        (#"{"a":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,1]}}"#,
         #"tensor "a": shape must be an array of integers that fit in 64 bits, found the number 99999999999999999999"#),
        (#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}"#,
         #"tensor "a": data_offsets must be [begin, end] with non-negative integers, found an array"#),
        (#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}"#,
         #"tensor "a": data_offsets must be [begin, end] with non-negative integers, found an array"#),
        (#"{"a":{"dtype":"U8","shape":[1],"data_offsets":{"begin":0}}}"#,
         #"tensor "a": data_offsets must be [begin, end] with non-negative integers, found an object"#),
        (#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}"#, #"tensor "a": data_offsets [1, 0] end before they begin"#),
        (#"{"__metadata__":[]}"#, "__metadata__ must be an object, found an array"),
        (#"{"__metadata__":{"k":1}}"#, #"__metadata__ value of "k" must be a string, found the number 1"#),
        (#"{"__metadata__":{"k":null}}"#, #"__metadata__ value of "k" must be a string, found null"#),
        (#"{"__metadata__":{"k":"a","k":"b"}}"#, #"__metadata__ key "k" appears more than once"#),
        (#"{"__metadata__":{},"__metadata__":{}}"#, "__metadata__ appears more than once"),
    ]

    @Test(arguments: invalidHeaders)
    func malformedHeaderIsInvalid(header: String, reason: String) throws {
        try expectOpenFails(Fixtures.file(header: header, data: [0])) { .invalidHeader(file: $0, reason: reason) }
    }

    @Test func invalidUTF8InAStringIsInvalid() throws {
        let header = Array(#"{"a"#.utf8) + [0xFF] + Array(#"":1}"#.utf8)
        try expectOpenFails(Fixtures.file(headerBytes: header)) {
            .invalidHeader(file: $0, reason: "JSON syntax error at header byte 1: string is not valid UTF-8")
        }
    }

    // MARK: - Types, shapes and extents

    @Test(arguments: ["F4", "float32", "C64", ""])
    func unknownDtypeIsUnsupported(dtype: String) throws {
        let header = #"{"w":{"dtype":"\#(dtype)","shape":[2],"data_offsets":[0,2]}}"#
        try expectOpenFails(Fixtures.file(header: header, data: [1, 2])) {
            .unsupportedType(file: $0, tensor: "w", type: dtype)
        }
    }

    @Test(arguments: [
        [2, -3],
        [4_294_967_296, 4_294_967_296, 4],  // element count overflows
        [1 << 62],  // element count fits, byte count (× 4 for F32) does not
        [Int.max, 2],
    ])
    func absurdShapeIsRejected(shape: [Int]) throws {
        let dims = shape.map(String.init).joined(separator: ",")
        let header = #"{"w":{"dtype":"F32","shape":[\#(dims)],"data_offsets":[0,4]}}"#
        try expectOpenFails(Fixtures.file(header: header, data: [0, 0, 0, 0])) {
            .absurdShape(file: $0, tensor: "w", shape: shape)
        }
    }

    @Test func byteCountDisagreeingWithShapeIsAMismatch() throws {
        let header = #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}"#
        try expectOpenFails(Fixtures.file(header: header, data: .init(repeating: 0, count: 24))) {
            .byteCountMismatch(file: $0, tensor: "w", expected: 24, found: 20)
        }
    }

    @Test func extentPastTheEndIsOutOfBounds() throws {
        let header = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#
        try expectOpenFails(Fixtures.file(header: header, data: .init(repeating: 0, count: 16))) {
            .tensorOutOfBounds(file: $0, tensor: "w", begin: 8, end: 24, available: 16)
        }
    }

    @Test(arguments: [false, true])
    func overlappingTensorsAreRejected(listLaterFirst: Bool) throws {
        let a = #""a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}"#
        let b = #""b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}"#
        let header = listLaterFirst ? "{\(b),\(a)}" : "{\(a),\(b)}"
        try expectOpenFails(Fixtures.file(header: header, data: .init(repeating: 0, count: 24))) {
            .overlappingTensors(file: $0, first: "a", second: "b")
        }
    }

    @Test func duplicateNameIsRejected() throws {
        let header = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#
        try expectOpenFails(Fixtures.file(header: header, data: [1, 2])) { .duplicateTensor(file: $0, tensor: "a") }
    }

    // MARK: - Lookups

    @Test func missingFileAndDirectoryAreUnreadable() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        #expect(throws: FormatError.unreadable(file: directory, reason: "not a regular file")) {
            try SafetensorsFile(path: directory)
        }
        let missing = directory + "/absent.safetensors"
        #expect(throws: FormatError.unreadable(file: missing, reason: "No such file or directory")) {
            try SafetensorsFile(path: missing)
        }
    }

    @Test func unknownNameIsMissing() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let header = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
        let path = try Fixtures.write(Fixtures.file(header: header, data: [9]), named: "m.safetensors", in: directory)
        let file = try SafetensorsFile(path: path)
        #expect(file.contains("a") && !file.contains("b"))
        #expect(throws: FormatError.missingTensor(file: path, tensor: "b")) { try file.info("b") }
        #expect(throws: FormatError.missingTensor(file: path, tensor: "b")) { try file.rawBytes("b") }
        #expect(throws: FormatError.missingTensor(file: path, tensor: "b")) { try file.tensor("b") }
    }

    // MARK: - Valid but unusual layouts

    @Test func unalignedUnpaddedGappedLayoutIsRead() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        // An odd-length unpadded header, a 1-byte tensor, then F32/F16/I64 at odd offsets with a gap: every load is
        // unaligned. Empty tensors may sit anywhere, even inside another tensor's bytes.
        let header = """
            {"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]},\
            "h":{"dtype":"F16","shape":[1],"data_offsets":[12,14]},"i":{"dtype":"I64","shape":[1],"data_offsets":[14,22]},\
            "e":{"dtype":"F32","shape":[0,5],"data_offsets":[3,3]},"s":{"dtype":"BF16","shape":[],"data_offsets":[22,24]}}
            """
        var data: [UInt8] = [200]
        data += Fixtures.littleEndianBytes([Float(1.5).bitPattern, Float(-2.25).bitPattern])
        data += [0xEE, 0xEE, 0xEE]  // gap
        data += Fixtures.littleEndianBytes([Float16(-0.5).bitPattern])
        data += Fixtures.littleEndianBytes([Int64(-(1 << 40))])
        data += Fixtures.littleEndianBytes([BFloat16(3.0).bitPattern])
        data += [0xFF]  // trailing byte after the last tensor
        let path = try Fixtures.write(Fixtures.file(header: header, data: data), named: "odd.safetensors", in: directory)
        let file = try SafetensorsFile(path: path)
        #expect(file.headerByteCount == header.utf8.count)
        #expect(file.names == ["b", "e", "f", "h", "i", "s"])
        #expect(try file.tensor("b") == Tensor(shape: [1], scalars: [200]))
        #expect(try file.tensor("f") == Tensor(shape: [2], scalars: [1.5, -2.25]))
        #expect(try file.tensor("h") == Tensor(shape: [1], scalars: [-0.5]))
        #expect(try file.tensor("i") == Tensor(shape: [1], scalars: [-1_099_511_627_776]))
        #expect(try file.tensor("e") == Tensor(shape: [0, 5], scalars: []))
        #expect(try file.tensor("s") == Tensor(shape: [], scalars: [3]))
        let info = try file.info("h")
        #expect(info.dataOffsets == 12..<14)
        #expect(info.fileRange == (8 + header.utf8.count + 12)..<(8 + header.utf8.count + 14))
        #expect(info.elementType == .float16 && info.shape == [1] && info.elementCount == 1 && info.byteCount == 2)
    }

    @Test func headerWhitespaceAndEscapesAreAccepted() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let header = """
             { "__metadata__" : { "note" : "a\\"b\\u00e9\\ud83d\\ude00\\/" } ,
              "w\\u0041" : { "data_offsets" : [ 0 , 1 ] , "shape" : [ ] , "dtype" : "I8" } }\t\r\n
            """
        let path = try Fixtures.write(Fixtures.file(header: header, data: [0xFF]), named: "ws.safetensors", in: directory)
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == ["note": "a\"bé😀/"])
        #expect(try file.tensor("wA") == Tensor(shape: [], scalars: [-1]))
    }

    // MARK: - Decoding

    @Test(arguments: ElementType.allCases.filter { !$0.isConvertibleToFloat32 })
    func decodingAnUnsupportedDtypeNamesIt(elementType: ElementType) throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let byteCount = 3 * elementType.bytesPerElement
        let header = #"{"t":{"dtype":"\#(elementType.safetensorsName)","shape":[3],"data_offsets":[0,\#(byteCount)]}}"#
        let data = (0..<byteCount).map { UInt8($0) }
        let path = try Fixtures.write(Fixtures.file(header: header, data: data), named: "t.safetensors", in: directory)
        let file = try SafetensorsFile(path: path)
        #expect(Array(try file.rawBytes("t")) == data)
        #expect(throws: FormatError.unsupportedType(file: path, tensor: "t", type: elementType.safetensorsName)) {
            try file.tensor("t")
        }
    }
}
