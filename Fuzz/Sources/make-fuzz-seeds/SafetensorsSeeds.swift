import Foundation
import FuzzSupport
import ModelFormats
import TensorCore

/// Safetensors seeds: every element type with metadata, a scalar and an empty tensor; and the same tensors split
/// into two shards with an index, packed as the `FuzzContainer` that fuzz-safetensors-index reads.
enum SafetensorsSeeds {
    static func writer() -> SafetensorsWriter {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        writer.add("f32", Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, 1e-3, -7]))
        writer.add("f16", Tensor(shape: [4], scalars: [1, 2, 3, 4]), as: .float16)
        writer.add("bf16", Tensor(shape: [2, 2], scalars: [1, -1, 0.5, 8]), as: .bfloat16)
        writer.add("scalar", Tensor(shape: [], scalars: [3]))
        writer.add("empty", Tensor(shape: [0, 4], scalars: []))
        for type in [ElementType.float64, .int64, .int32, .int16, .int8, .uint64, .uint32, .uint16, .uint8, .bool,
                     .float8E4M3, .float8E5M2] {
            writer.add("\(type.rawValue.lowercased())", bytes: seededBytes(3 * type.bytesPerElement, seed: 3),
                       elementType: type, shape: [3])
        }
        return writer
    }

    static func write(_ seeds: SeedWriter) throws {
        let single = writer()
        try seeds.write("safetensors", "types.safetensors", try single.serialized())
        var tiny = SafetensorsWriter()
        tiny.add("w", Tensor(shape: [1], scalars: [1]))
        try seeds.write("safetensors", "one.safetensors", try tiny.serialized())

        let directory = NSTemporaryDirectory() + "/quanta-fuzz-seeds-index-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shards = try ShardedSafetensors.write(single, toDirectory: directory, maxShardByteCount: 40)
        guard shards.count >= 2 else { throw FormatError.writeFailed(file: directory, reason: "expected 2+ shards") }
        // The fuzz target names its shards model-00001-of-00002 and model-00002-of-00002: rewrite the index to them,
        // the first shard as it is and the rest merged into the second.
        var merged = SafetensorsWriter()
        var weightMap: [String: String] = [:]
        let first = try SafetensorsFile(path: directory + "/" + shards[0])
        for name in first.names { weightMap[name] = "model-00001-of-00002.safetensors" }
        for shard in shards.dropFirst() {
            let file = try SafetensorsFile(path: directory + "/" + shard)
            for name in file.names {
                let info = try file.info(name)
                merged.add(name, bytes: Array(try file.rawBytes(name)), elementType: info.elementType, shape: info.shape)
                weightMap[name] = "model-00002-of-00002.safetensors"
            }
        }
        let index: [String: Any] = ["metadata": ["total_size": 0], "weight_map": weightMap]
        let indexBytes = [UInt8](try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys]))
        let firstBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + shards[0])))
        try seeds.write("safetensors-index", "two-shards.bin", FuzzContainer.pack([indexBytes, firstBytes, try merged.serialized()]))
    }
}
