import Foundation
import ModelFormats
import TensorCore
import Testing

/// write → read gives the same values, and read → write gives the same bytes, for every dtype.
@Suite struct SafetensorsRoundTripTests {
    typealias Fixtures = SafetensorsFixtures

    @Test(arguments: Fixtures.elementCounts)
    func floatTensorsRoundTrip(count: Int) throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let vector = Tensor(shape: [count], scalars: Fixtures.values(count: count))
        let matrix = Tensor(shape: [3, count], scalars: Fixtures.values(count: 3 * count, seed: 1))
        var writer = SafetensorsWriter()
        writer.add("w.f32", matrix)
        writer.add("w.f16", vector, as: .float16)
        writer.add("w.bf16", matrix, as: .bfloat16)
        let path = directory + "/model.safetensors"
        try writer.write(to: path)

        let file = try SafetensorsFile(path: path)
        #expect(file.names == ["w.bf16", "w.f16", "w.f32"])
        #expect(file.metadata.isEmpty)
        let f32 = try file.tensor("w.f32")
        #expect(f32.shape == [3, count] && Fixtures.sameBits(f32.scalars, matrix.scalars))
        let f16 = try file.tensor("w.f16")
        #expect(f16.shape == [count] && f16.scalars == vector.scalars.map { Float(Float16($0)) })
        #expect(Array(try file.rawBytes("w.f16")) == Fixtures.littleEndianBytes(vector.scalars.map { Float16($0).bitPattern }))
        let bf16 = try file.tensor("w.bf16")
        #expect(bf16.shape == [3, count] && bf16.scalars == matrix.scalars.map { BFloat16($0).floatValue })
        #expect(Array(try file.rawBytes("w.bf16")) == Fixtures.littleEndianBytes(matrix.scalars.map { BFloat16($0).bitPattern }))
        let info = try file.info("w.f16")
        #expect(info.name == "w.f16" && info.elementType == .float16 && info.shape == [count])
        #expect(info.byteCount == 2 * count && info.elementCount == count)
        #expect(try file.tensors() == ["w.f32": f32, "w.f16": f16, "w.bf16": bf16])
    }

    @Test func specialFloatValuesSurvive() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let special: [Float] = [
            0, -0, .infinity, -.infinity, .nan, Float(bitPattern: 0x7FA0_0001), .leastNonzeroMagnitude,
            .greatestFiniteMagnitude, 65_504, 70_000, 6e-8, -1e-9,
        ]
        var writer = SafetensorsWriter()
        let tensor = Tensor(shape: [special.count], scalars: special)
        writer.add("f32", tensor)
        writer.add("f16", tensor, as: .float16)
        writer.add("bf16", tensor, as: .bfloat16)
        let path = directory + "/special.safetensors"
        try writer.write(to: path)
        let file = try SafetensorsFile(path: path)
        // F32 keeps every bit, NaN payloads and the sign of zero included.
        #expect(Fixtures.sameBits(try file.tensor("f32").scalars, special))
        #expect(Fixtures.sameBits(try file.tensor("f16").scalars, special.map { Float(Float16($0)) }))
        #expect(Fixtures.sameBits(try file.tensor("bf16").scalars, special.map { BFloat16($0).floatValue }))
    }

    @Test(arguments: Fixtures.elementCounts)
    func integerCodesRoundTrip(count: Int) throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let int8 = (0..<count).map { Int8(truncatingIfNeeded: $0 * 97 - 128) }
        let uint8 = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 89 + 255) }
        let int32 = (0..<count).map { $0 == 0 ? Int32.min : Int32(truncatingIfNeeded: $0 * 1_000_003 - 7) }
        let int64 = (0..<count).map { $0 == 0 ? Int64.max : Int64($0) << 40 - 3 }
        var writer = SafetensorsWriter()
        writer.add("i8", bytes: int8.map { UInt8(bitPattern: $0) }, elementType: .int8, shape: [count])
        writer.add("u8", bytes: uint8, elementType: .uint8, shape: [1, count])
        writer.add("i32", bytes: Fixtures.littleEndianBytes(int32), elementType: .int32, shape: [count, 1])
        writer.add("i64", bytes: Fixtures.littleEndianBytes(int64), elementType: .int64, shape: [count])
        let path = directory + "/codes.safetensors"
        try writer.write(to: path)

        let file = try SafetensorsFile(path: path)
        #expect(try file.tensor("i8") == Tensor(shape: [count], scalars: int8.map(Float.init)))
        #expect(try file.tensor("u8") == Tensor(shape: [1, count], scalars: uint8.map(Float.init)))
        #expect(try file.tensor("i32") == Tensor(shape: [count, 1], scalars: int32.map(Float.init)))
        #expect(try file.tensor("i64") == Tensor(shape: [count], scalars: int64.map(Float.init)))
        #expect(Array(try file.rawBytes("i32")) == Fixtures.littleEndianBytes(int32))
        #expect(try file.info("u8").elementType == .uint8)
    }

    @Test(arguments: ElementType.allCases, [1, 31])
    func everyDtypeRoundTripsItsBytes(elementType: ElementType, count: Int) throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let bytes = (0..<(count * elementType.bytesPerElement)).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 3) }
        var writer = SafetensorsWriter(metadata: ["dtype": elementType.safetensorsName])
        writer.add("t", bytes: bytes, elementType: elementType, shape: [count])
        let path = directory + "/t.safetensors"
        try writer.write(to: path)
        let file = try SafetensorsFile(path: path)
        #expect(Array(try file.rawBytes("t")) == bytes)
        #expect(try file.info("t").elementType == elementType)
        #expect(file.metadata == ["dtype": elementType.safetensorsName])
    }

    @Test func scalarsAndEmptyTensorsRoundTrip() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        var writer = SafetensorsWriter()
        writer.add("scalar", Tensor(shape: [], scalars: [2.5]))
        writer.add("empty", Tensor(shape: [0, 4], scalars: []), as: .bfloat16)
        writer.add("empty.codes", bytes: [], elementType: .uint8, shape: [3, 0])
        let path = directory + "/edge.safetensors"
        try writer.write(to: path)
        let file = try SafetensorsFile(path: path)
        #expect(try file.tensor("scalar") == Tensor(shape: [], scalars: [2.5]))
        #expect(try file.tensor("empty") == Tensor(shape: [0, 4], scalars: []))
        #expect(try file.tensor("empty.codes") == Tensor(shape: [3, 0], scalars: []))
        #expect(try file.rawBytes("empty").isEmpty)
    }

    @Test func emptyFileRoundTrips() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let path = directory + "/nothing.safetensors"
        try SafetensorsWriter().write(to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes == Fixtures.file(header: "{}      "))
        let file = try SafetensorsFile(path: path)
        #expect(file.names.isEmpty && file.metadata.isEmpty)
    }

    @Test func metadataRoundTrips() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let metadata = [
            "format": "pt", "quoted \"key\"": "back\\slash", "lines": "a\nb\tc\u{01}", "unicode": "é ✓ 😀", "": "",
        ]
        var writer = SafetensorsWriter(metadata: metadata)
        writer.add("x", Tensor(shape: [2], scalars: [1, 2]))
        let path = directory + "/meta.safetensors"
        try writer.write(to: path)
        #expect(try SafetensorsFile(path: path).metadata == metadata)
    }

    @Test func rewritingWhatWasReadIsByteIdentical() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        var writer = SafetensorsWriter(metadata: ["format": "pt", "quanta.scheme": "int4 g32"])
        writer.add("model.layers.0.weight", Tensor(shape: [7, 3], scalars: Fixtures.values(count: 21)), as: .bfloat16)
        writer.add("model.norm", Tensor(shape: [3], scalars: Fixtures.values(count: 3, seed: 2)))
        writer.add("h", Tensor(shape: [5], scalars: Fixtures.values(count: 5, seed: 3)), as: .float16)
        writer.add("codes", bytes: (0..<13).map { UInt8($0 * 19 % 256) }, elementType: .uint8, shape: [13])
        writer.add("scales", bytes: Fixtures.littleEndianBytes([Int32(-5), 9]), elementType: .int32, shape: [2])
        let original = directory + "/original.safetensors"
        try writer.write(to: original)
        let originalBytes = try Data(contentsOf: URL(fileURLWithPath: original))
        #expect([UInt8](originalBytes) == (try writer.serialized()))

        let file = try SafetensorsFile(path: original)
        var copy = SafetensorsWriter(metadata: file.metadata)
        for name in file.names.reversed() {
            let info = try file.info(name)
            copy.add(name, bytes: try file.rawBytes(name), elementType: info.elementType, shape: info.shape)
        }
        let rewritten = directory + "/rewritten.safetensors"
        try copy.write(to: rewritten)
        #expect(try Data(contentsOf: URL(fileURLWithPath: rewritten)) == originalBytes)

        // Decoding to float32 and re-encoding to the stored float type is lossless too.
        var decoded = SafetensorsWriter(metadata: file.metadata)
        for name in file.names {
            let info = try file.info(name)
            if [.float32, .float16, .bfloat16].contains(info.elementType) {
                decoded.add(name, try file.tensor(name), as: info.elementType)
            } else {
                decoded.add(name, bytes: try file.rawBytes(name), elementType: info.elementType, shape: info.shape)
            }
        }
        #expect(Data(try decoded.serialized()) == originalBytes)
    }

    @Test func readingLeavesTheFileUntouched() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        var writer = SafetensorsWriter(metadata: ["k": "v"])
        writer.add("a", Tensor(shape: [31], scalars: Fixtures.values(count: 31)), as: .float16)
        writer.add("b", bytes: [1, 2, 3], elementType: .int8, shape: [3])
        let path = directory + "/input.safetensors"
        try writer.write(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let statusBefore = try Fixtures.fileStatus(path)

        do {
            let file = try SafetensorsFile(path: path)
            _ = try file.tensors()
            _ = try file.rawBytes("b")
        }

        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try Fixtures.fileStatus(path) == statusBefore)
        #expect(try Fixtures.listing(directory) == ["input.safetensors"])
    }
}
