import FuzzSupport
import ModelFormats

/// Safetensors reader, one file: the length prefix, the JSON header (every field, `__metadata__`), dtype and shape
/// checks, offsets against the data section, then every tensor converted to float32.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzScratch.directory("safetensors") + "/model.safetensors"
    FuzzScratch.write(UnsafeBufferPointer(start: data, count: size), to: path)
    guard let file = try? SafetensorsFile(path: path) else { return 0 }
    for name in file.names {
        _ = try? file.rawBytes(name)
        _ = try? file.tensor(name)
    }
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_safetensors_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzSafetensors)
}
