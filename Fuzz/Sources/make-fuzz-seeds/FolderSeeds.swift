import Export
import Foundation
import FuzzSupport
import Pipeline
import Quantization

/// Seeds made by quantizing the tiny model: saved folders (quantization.json + model.safetensors), their
/// compressed-tensors export (config.json + model.safetensors) and their ONNX export (inline data).
enum FolderSeeds {
    static func write(_ seeds: SeedWriter) throws {
        let directory = NSTemporaryDirectory() + "/quanta-fuzz-seeds-folders-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
        for preset in SeedModel.presets {
            let saved = directory + "/\(preset)"
            let quantized = try ModelQuantization.run(try SeedModel.loaded(), recipe: try SeedModel.recipe(preset))
            try QuantizedModelFolder.save(quantized, to: saved)
            try seeds.write("saved-folder", "\(preset).bin", FuzzContainer.pack([
                try bytes(saved + "/quantization.json"), try bytes(saved + "/model.safetensors"),
            ]))
            let loaded = try ModelLoader.load(saved)
            let compressed = directory + "/\(preset)-ct"
            do {
                _ = try CompressedTensorsExport.export(loaded, to: compressed)
                try seeds.write("compressed-tensors", "\(preset).bin", FuzzContainer.pack([
                    try bytes(compressed + "/config.json"), try bytes(compressed + "/model.safetensors"),
                ]))
            } catch {
                print("compressed-tensors: \(preset) not exported: \(error)")
            }
            let onnx = directory + "/\(preset).onnx"
            do {
                _ = try ONNXExport.export(loaded, to: onnx, configuration: .init(externalDataThreshold: Int.max))
                try seeds.write("onnx", "\(preset).onnx", try bytes(onnx))
            } catch {
                print("onnx: \(preset) not exported: \(error)")
            }
        }
        let config = String(decoding: try bytes(directory + "/\(SeedModel.presets[0])/config.json"), as: UTF8.self)
        print("saved-folder config.json: \(config)")
    }
}
