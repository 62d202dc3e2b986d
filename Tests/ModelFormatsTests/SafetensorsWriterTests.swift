import Foundation
import ModelFormats
import TensorCore
import Testing

/// The writer's exact byte layout (compared with the reference writer's output) and its input validation.
@Suite struct SafetensorsWriterTests {
    typealias Fixtures = SafetensorsFixtures

    /// The JSON header of `bytes` (after the 8-byte length) as text, padding included.
    private func headerText(_ bytes: [UInt8]) -> String {
        let length = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        return String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
    }

    @Test func headerMatchesTheReferenceWriter() throws {
        // safetensors 0.8.0: save({"b": np.zeros((2, 3), np.float32)}) gives this 64-byte header.
        var writer = SafetensorsWriter()
        writer.add("b", Tensor(shape: [2, 3], repeating: 0))
        let bytes = try writer.serialized()
        #expect(bytes.count == 8 + 64 + 24)
        #expect(Array(bytes[0..<8]) == [64, 0, 0, 0, 0, 0, 0, 0])
        #expect(headerText(bytes) == #"{"b":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"# + "       ")
        #expect(bytes[72...].allSatisfy { $0 == 0 })
    }

    @Test func tensorsAreSortedByNameWithContiguousOffsets() throws {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        writer.add("z", bytes: [1, 2, 3], elementType: .uint8, shape: [3])
        writer.add("a", Tensor(shape: [1], scalars: [1]))
        writer.add("m", Tensor(shape: [2], scalars: [1, 2]), as: .float16)
        let bytes = try writer.serialized()
        let expected = """
            {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},\
            "m":{"dtype":"F16","shape":[2],"data_offsets":[4,8]},"z":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}
            """
        let header = headerText(bytes)
        #expect(header.trimmingCharacters(in: .whitespaces) == expected)
        #expect(Array(bytes[(8 + header.utf8.count)...]) == [0, 0, 0x80, 0x3F, 0x00, 0x3C, 0x00, 0x40, 1, 2, 3])
        #expect(writer.dataByteCount == 11)
    }

    @Test func metadataIsSortedAndEscapedLikeSerdeJSON() throws {
        let writer = SafetensorsWriter(metadata: ["b": "x\"y\n\u{01}\u{1F}é/\\", "a": "1"])
        let header = headerText(try writer.serialized())
        #expect(header.trimmingCharacters(in: .whitespaces) == #"{"__metadata__":{"a":"1","b":"x\"y\n\u0001\u001fé/\\"}}"#)
    }

    @Test(arguments: 1...16)
    func headerIsPaddedWithSpacesToAMultipleOfEight(nameLength: Int) throws {
        var writer = SafetensorsWriter()
        writer.add(String(repeating: "n", count: nameLength), Tensor(shape: [1], scalars: [0]))
        let bytes = try writer.serialized()
        let header = headerText(bytes)
        let unpadded = header.utf8.count - header.utf8.reversed().prefix { $0 == UInt8(ascii: " ") }.count
        #expect(header.utf8.count % 8 == 0)
        #expect(header.utf8.count - unpadded < 8)
        #expect(header.utf8.last == UInt8(ascii: " ") || unpadded % 8 == 0)
    }

    // MARK: - Errors

    @Test func duplicateNameIsRejected() throws {
        var writer = SafetensorsWriter()
        writer.add("a", Tensor(shape: [1], scalars: [0]))
        writer.add("a", bytes: [1], elementType: .uint8, shape: [1])
        #expect(throws: FormatError.duplicateTensor(file: "out.safetensors", tensor: "a")) {
            try writer.serialized(file: "out.safetensors")
        }
    }

    @Test func reservedMetadataNameIsRejected() throws {
        var writer = SafetensorsWriter()
        writer.add("__metadata__", Tensor(shape: [1], scalars: [0]))
        #expect(throws: FormatError.writeFailed(
            file: "<memory>", reason: "the tensor name \"__metadata__\" is reserved for metadata")
        ) { try writer.serialized() }
    }

    @Test func rawBytesDisagreeingWithShapeAreAMismatch() throws {
        var writer = SafetensorsWriter()
        writer.add("codes", bytes: .init(repeating: 0, count: 10), elementType: .int32, shape: [3])
        #expect(throws: FormatError.byteCountMismatch(file: "<memory>", tensor: "codes", expected: 12, found: 10)) {
            try writer.serialized()
        }
    }

    @Test(arguments: [[-1], [Int.max, 2], [1 << 32, 1 << 32]])
    func absurdRawShapeIsRejected(shape: [Int]) throws {
        var writer = SafetensorsWriter()
        writer.add("codes", bytes: [0], elementType: .uint8, shape: shape)
        #expect(throws: FormatError.absurdShape(file: "<memory>", tensor: "codes", shape: shape)) {
            try writer.serialized()
        }
    }

    @Test(arguments: ElementType.allCases.filter { ![.float32, .float16, .bfloat16].contains($0) })
    func floatTensorAsANonFloatDtypeIsUnsupported(elementType: ElementType) throws {
        var writer = SafetensorsWriter()
        writer.add("w", Tensor(shape: [2], scalars: [1, 2]), as: elementType)
        let type = "\(elementType.safetensorsName) (a float32 tensor is written as F32, F16 or BF16)"
        #expect(throws: FormatError.unsupportedType(file: "<memory>", tensor: "w", type: type)) {
            try writer.serialized()
        }
    }

    @Test func failedWriteLeavesTheOldFileAndNoTemporaryFile() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let path = directory + "/model.safetensors"
        var good = SafetensorsWriter()
        good.add("a", Tensor(shape: [2], scalars: [1, 2]))
        try good.write(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        var bad = good
        bad.add("b", bytes: [1, 2, 3], elementType: .float32, shape: [1])
        #expect(throws: FormatError.byteCountMismatch(file: path, tensor: "b", expected: 4, found: 3)) {
            try bad.write(to: path)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try Fixtures.listing(directory) == ["model.safetensors"])

        var replacement = SafetensorsWriter()
        replacement.add("c", bytes: [7], elementType: .int8, shape: [1])
        try replacement.write(to: path)
        #expect(try SafetensorsFile(path: path).names == ["c"])
        #expect(try Fixtures.listing(directory) == ["model.safetensors"])
    }

    @Test func writingIntoAMissingFolderFails() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let path = directory + "/absent/model.safetensors"
        let error = #expect(throws: FormatError.self) { try SafetensorsWriter().write(to: path) }
        guard case let .writeFailed(file, reason)? = error else {
            Issue.record("expected writeFailed, got \(String(describing: error))")
            return
        }
        #expect(file == path)
        #expect(reason.hasPrefix("cannot create temporary file \(directory)/absent/.model.safetensors.quanta-tmp-\(getpid())-"))
        #expect(reason.hasSuffix(": No such file or directory"))
        #expect(try Fixtures.listing(directory).isEmpty)
    }
}
