import Export
import Foundation
import ModelFormats
import Pipeline
import QuantCore
import Quantization
import TestSupport

/// GGUF seeds: one file per dequantizable ggml type (a 256-element tensor of seeded bytes, so each block decoder has
/// a way in), metadata of every value type, the tiny model exported by `GGUFExport`, and a real header prefix.
enum GGUFSeeds {
    static func write(_ seeds: SeedWriter, realGGUF: String?) throws {
        for type in GGMLType.allCases where type.isDequantizable {
            var writer = GGUFWriter()
            writer.set("general.architecture", .string("llama"))
            let byteCount = type.byteCount(elementCount: 256)!
            try writer.addTensor(name: "t", shape: [256], type: type, bytes: seededBytes(byteCount, seed: UInt64(type.rawValue)))
            try seeds.write("gguf", "type-\(type.name.lowercased()).gguf", writer.serialized())
        }
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("u8", .uint8(7)); writer.set("i8", .int8(-7)); writer.set("u16", .uint16(700)); writer.set("i16", .int16(-700))
        writer.set("u32", .uint32(70_000)); writer.set("i32", .int32(-70_000)); writer.set("u64", .uint64(1 << 40))
        writer.set("i64", .int64(-(1 << 40))); writer.set("f32", .float32(0.5)); writer.set("f64", .float64(-0.25))
        writer.set("bool", .bool(true)); writer.set("general.alignment", .uint32(64))
        writer.set("strings", .array([.string("a"), .string("bc")]))
        writer.set("nested", .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])]))
        try writer.addTensor(name: "a", shape: [2, 3], float32: [1, 2, 3, 4, 5, 6])
        try writer.addTensor(name: "b", shape: [4], float32: [-1, 0, 1, 2])
        try seeds.write("gguf", "metadata-types.gguf", writer.serialized())

        let directory = NSTemporaryDirectory() + "/quanta-fuzz-seeds-gguf-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for preset in ["w8a16", "w4a16-g32"] {
            let quantized = try ModelQuantization.run(try SeedModel.loaded(withTokenizer: true), recipe: try SeedModel.recipe(preset))
            try QuantizedModelFolder.save(quantized, to: directory + "/\(preset)")
            let path = directory + "/\(preset).gguf"
            _ = try GGUFExport.export(try ModelLoader.load(directory + "/\(preset)"), to: path)
            try seeds.write("gguf", "export-\(preset).gguf", [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        if let realGGUF, let handle = FileHandle(forReadingAtPath: realGGUF) {
            let prefix = try handle.read(upToCount: 4096) ?? Data()
            try seeds.write("gguf", "smollm2-header-4k.gguf", [UInt8](prefix))
        }
    }
}
