import FuzzSupport
import Pipeline

/// A compressed-tensors folder (what `quanta export --format compressed-tensors` writes) through `ModelLoader.load`:
/// `config.json` with its `quantization_config` and `model.safetensors` from the input (a `FuzzContainer`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCompressedTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let directory = FuzzScratch.directory("compressed-tensors")
    let parts = FuzzContainer.unpack(UnsafeRawBufferPointer(start: data, count: size), fileCount: 2)
    FuzzScratch.write(parts[0], to: directory + "/config.json")
    FuzzScratch.write(parts[1], to: directory + "/model.safetensors")
    _ = try? ModelLoader.load(directory)
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_compressed_tensors_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzCompressedTensors)
}
