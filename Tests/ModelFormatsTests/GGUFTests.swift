import Foundation
import ModelFormats
import TensorCore
import Testing
import TestSupport

/// Builds GGUF bytes in memory and reads them back through a temporary file.
enum GGUFFixture {
    static func write(_ bytes: [UInt8]) -> String {
        let path = Fixtures.temporaryDirectory() + "/model.gguf"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// A small valid file: every metadata type, three tensors.
    static func sample() throws -> (writer: GGUFWriter, bytes: [UInt8]) {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("u8", .uint8(200)); writer.set("i8", .int8(-5)); writer.set("u16", .uint16(60000))
        writer.set("i16", .int16(-300)); writer.set("u32", .uint32(4_000_000_000)); writer.set("i32", .int32(-7))
        writer.set("u64", .uint64(1 << 40)); writer.set("i64", .int64(-(1 << 40))); writer.set("f32", .float32(1.5))
        writer.set("f64", .float64(-2.25)); writer.set("yes", .bool(true))
        writer.set("names", .array([.string("a"), .string("béta"), .string("")]))
        writer.set("numbers", .array([.int32(1), .int32(-2)]))
        try writer.addTensor(name: "a", shape: [2, 3], float32: [1, 2, 3, 4, 5, 6])
        try writer.addTensor(name: "b", shape: [5], float32: [0.5, -1, 2, 0, 7])
        try writer.addTensor(name: "c", shape: [1, 32], type: .q8_0, bytes: q8Block(scale: 0.5, codes: (0..<32).map { Int8($0 - 16) }))
        return (writer, writer.serialized())
    }

    static func q8Block(scale: Float, codes: [Int8]) -> [UInt8] {
        let d = Float16(scale).bitPattern
        return [UInt8(d & 0xFF), UInt8(d >> 8)] + codes.map { UInt8(bitPattern: $0) }
    }

    /// Byte offset just after the header's fixed 24 bytes.
    static let headerByteCount = 24
}

@Suite struct GGUFReaderTests {
    @Test func readsEveryMetadataTypeAndTensor() throws {
        let (_, bytes) = try GGUFFixture.sample()
        let file = try GGUFFile(path: GGUFFixture.write(bytes))
        #expect(file.version == 3)
        #expect(file.metadata["u8"] == .uint8(200))
        #expect(file.metadata["i16"] == .int16(-300))
        #expect(file.metadata["u64"] == .uint64(1 << 40))
        #expect(file.metadata["f64"] == .float64(-2.25))
        #expect(file.metadata["yes"] == .bool(true))
        #expect(try file.strings("names") == ["a", "béta", ""])
        #expect(try file.integers("numbers") == [1, -2])
        #expect(try file.tensor("a") == Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
        #expect(try file.info("a").dimensions == [3, 2])
        #expect(try file.tensor("b").scalars == [0.5, -1, 2, 0, 7])
        #expect(try file.tensor("c").scalars == (0..<32).map { Float($0 - 16) * 0.5 })
        #expect(file.tensors.allSatisfy { $0.offset % 32 == 0 })
    }

    @Test func writingTheSameContentIsByteIdentical() throws {
        let (writer, bytes) = try GGUFFixture.sample()
        #expect(writer.serialized() == bytes)
    }

    @Test func dequantizesQ4BlocksAsLlamaCpp() throws {
        // Byte j holds element j (low nibble) and element j + 16 (high nibble).
        let nibbles: [UInt8] = (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
        let d = Float16(0.25).bitPattern, m = Float16(-1).bitPattern
        var writer = GGUFWriter()
        try writer.addTensor(name: "q40", shape: [32], type: .q4_0, bytes: [UInt8(d & 0xFF), UInt8(d >> 8)] + nibbles)
        try writer.addTensor(name: "q41", shape: [32], type: .q4_1,
                             bytes: [UInt8(d & 0xFF), UInt8(d >> 8), UInt8(m & 0xFF), UInt8(m >> 8)] + nibbles)
        let file = try GGUFFile(path: GGUFFixture.write(writer.serialized()))
        let codes = (0..<16).map { Float($0) } + (0..<16).map { Float(15 - $0) }
        #expect(try file.tensor("q40").scalars == codes.map { 0.25 * ($0 - 8) })
        #expect(try file.tensor("q41").scalars == codes.map { 0.25 * $0 - 1 })
    }

    @Test func truncatedFilesAreRejectedAtEveryCut() throws {
        let (_, bytes) = try GGUFFixture.sample()
        // Every cut inside the header or directory must fail cleanly; cuts inside the data are out-of-bounds tensors.
        // The last tensor (34 bytes of Q8_0) is followed by 30 bytes of alignment padding that nothing needs.
        for cut in stride(from: 0, to: bytes.count - 30, by: 7) {
            let path = GGUFFixture.write(Array(bytes[..<cut]))
            #expect(throws: FormatError.self, "cut at \(cut)") { try GGUFFile(path: path) }
        }
        let path = GGUFFixture.write(Array(bytes[..<10]))
        #expect(throws: FormatError.truncated(file: path, at: 8, needed: 8, available: 2)) { try GGUFFile(path: path) }
    }

    @Test func badMagicAndVersionAreNamed() throws {
        var (_, bytes) = try GGUFFixture.sample()
        bytes[0] = UInt8(ascii: "X")
        var path = GGUFFixture.write(bytes)
        #expect(throws: FormatError.invalidHeader(file: path, reason: "bad magic 46554758, expected 'GGUF'")) { try GGUFFile(path: path) }
        (_, bytes) = try GGUFFixture.sample()
        bytes[4] = 9
        path = GGUFFixture.write(bytes)
        #expect(throws: FormatError.invalidHeader(file: path, reason: "unsupported GGUF version 9, expected 2 or 3")) { try GGUFFile(path: path) }
    }

    @Test func absurdCountsDoNotAllocate() throws {
        var (_, bytes) = try GGUFFixture.sample()
        for i in 8..<16 { bytes[i] = 0xFF }  // tensor count 2^64 − 1
        let path = GGUFFixture.write(bytes)
        #expect(throws: FormatError.self) { try GGUFFile(path: path) }
    }

    /// Writes a one-tensor file whose directory entry is then edited.
    static func singleTensor(dimensions: [UInt64], type: UInt32, offset: UInt64, dataBytes: Int) -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        func u64(_ v: UInt64) { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        u32(0x4655_4747); u32(3); u64(1); u64(0)
        u64(1); out.append(UInt8(ascii: "w"))
        u32(UInt32(dimensions.count)); dimensions.forEach(u64); u32(type); u64(offset)
        while out.count % 32 != 0 { out.append(0) }
        return out + [UInt8](repeating: 0, count: dataBytes)
    }

    @Test func tensorDirectoryErrorsAreNamed() throws {
        var path = GGUFFixture.write(Self.singleTensor(dimensions: [8], type: 0, offset: 0, dataBytes: 16))
        #expect(throws: FormatError.tensorOutOfBounds(file: path, tensor: "w", begin: 0, end: 32, available: 16)) { try GGUFFile(path: path) }
        path = GGUFFixture.write(Self.singleTensor(dimensions: [8], type: 0, offset: 64, dataBytes: 32))
        #expect(throws: FormatError.tensorOutOfBounds(file: path, tensor: "w", begin: 64, end: 96, available: 32)) { try GGUFFile(path: path) }
        path = GGUFFixture.write(Self.singleTensor(dimensions: [8], type: 99, offset: 0, dataBytes: 32))
        #expect(throws: FormatError.unsupportedType(file: path, tensor: "w", type: "ggml type 99")) { try GGUFFile(path: path) }
        path = GGUFFixture.write(Self.singleTensor(dimensions: [1 << 40, 1 << 40], type: 0, offset: 0, dataBytes: 32))
        #expect(throws: FormatError.absurdShape(file: path, tensor: "w", shape: [1 << 40, 1 << 40])) { try GGUFFile(path: path) }
        path = GGUFFixture.write(Self.singleTensor(dimensions: [33], type: 8, offset: 0, dataBytes: 64))
        #expect(throws: FormatError.invalidHeader(file: path, reason: "tensor 'w' has 33 elements per row, not a multiple of Q8_0's block")) {
            try GGUFFile(path: path)
        }
        path = GGUFFixture.write(Self.singleTensor(dimensions: [8], type: 0, offset: 4, dataBytes: 64))
        #expect(throws: FormatError.invalidHeader(file: path, reason: "tensor 'w' offset 4 is not 32-aligned")) { try GGUFFile(path: path) }
        // A type that can be read but not decoded fails when the tensor is asked for, naming the type.
        path = GGUFFixture.write(Self.singleTensor(dimensions: [256], type: 10, offset: 0, dataBytes: 96))
        let file = try GGUFFile(path: path)
        #expect(throws: FormatError.unsupportedType(file: path, tensor: "w", type: "Q2_K")) { try file.tensor("w") }
    }

    @Test func overlappingTensorsAreRejected() throws {
        var writer = GGUFWriter()
        try writer.addTensor(name: "x", shape: [16], float32: [Float](repeating: 1, count: 16))
        try writer.addTensor(name: "y", shape: [16], float32: [Float](repeating: 2, count: 16))
        var bytes = writer.serialized()
        // Point y's offset (the last 8 bytes of its directory entry) at x's data.
        let directoryEnd = bytes.count - 128
        var end = directoryEnd
        while bytes[end - 1] == 0 && end > 0 { end -= 1 }
        let yOffsetPosition = bytes.indices.reversed().first { i in
            i + 8 <= directoryEnd && bytes[i] == 64 && bytes[(i + 1)..<(i + 8)].allSatisfy { $0 == 0 }
        }!
        bytes[yOffsetPosition] = 32
        let path = GGUFFixture.write(bytes)
        #expect(throws: FormatError.overlappingTensors(file: path, first: "x", second: "y")) { try GGUFFile(path: path) }
    }

    @Test func missingFileIsUnreadable() {
        #expect(throws: FormatError.unreadable(file: "/nonexistent/m.gguf", reason: "No such file or directory")) {
            try GGUFFile(path: "/nonexistent/m.gguf")
        }
    }

    @Test func rotaryPermutationRoundTripsAndMatchesTheConverter() {
        let heads = 2, headDim = 4
        let weight = Tensor(shape: [heads * headDim, 3], scalars: (0..<(heads * headDim * 3)).map(Float.init))
        let gguf = RotaryPermutation.huggingFaceToGGUF(weight, headCount: heads)
        // GGUF row 2b + a holds HF row a·(d/2) + b: head 0 rows [0, 2, 1, 3].
        #expect(Array(gguf.row(1)) == Array(weight.row(2)))
        #expect(Array(gguf.row(2)) == Array(weight.row(1)))
        #expect(Array(gguf.row(5)) == Array(weight.row(6)))
        #expect(RotaryPermutation.ggufToHuggingFace(gguf, headCount: heads) == weight)
    }

    @Test func tensorNameTableRoundTrips() {
        for gguf in ["token_embd.weight", "output.weight", "blk.3.attn_q.weight", "blk.29.ffn_down.weight"] {
            let canonical = GGUFTensorNames.canonicalName(forLlama: gguf)
            #expect(canonical != nil)
            #expect(GGUFTensorNames.ggufName(forLlama: canonical!) == gguf)
        }
        #expect(GGUFTensorNames.canonicalName(forLlama: "blk.3.mlp.down_proj.weight") == nil)
        #expect(GGUFTensorNames.canonicalName(forLlama: "blk.3.ffn_down.weight") == "model.layers.3.mlp.down_proj.weight")
    }
}
