import FuzzSupport
import Pipeline

/// A saved Quanta folder through `ModelLoader.load`: `quantization.json` and `model.safetensors` from the input (a
/// `FuzzContainer`: quantization.json, model.safetensors), `config.json` fixed to the tiny model the seeds were
/// quantized from, so inputs reach the checks of layers, codes, scales and activation points.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSavedFolder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let directory = FuzzScratch.directory("saved-folder")
    let parts = FuzzContainer.unpack(UnsafeRawBufferPointer(start: data, count: size), fileCount: 2)
    FuzzScratch.write(Array(TinyConfig.json.utf8), to: directory + "/config.json")
    FuzzScratch.write(parts[0], to: directory + "/quantization.json")
    FuzzScratch.write(parts[1], to: directory + "/model.safetensors")
    _ = try? ModelLoader.load(directory)
    _ = try? ModelLoader.load(directory, options: .packed)
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_saved_folder_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzSavedFolder)
}
