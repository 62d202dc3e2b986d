import FuzzSupport
import ModelFormats

/// GGUF reader: header, metadata (every value type, nested arrays), tensor table, then every tensor decoded to
/// float32 by its block type's dequantizer. `GGUFFile` only opens paths, so the input goes to a scratch file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzScratch.directory("gguf") + "/input.gguf"
    FuzzScratch.write(UnsafeBufferPointer(start: data, count: size), to: path)
    guard let file = try? GGUFFile(path: path) else { return 0 }
    for key in file.metadata.keys {
        _ = try? file.string(key)
        _ = try? file.integer(key)
        _ = try? file.float(key)
        _ = try? file.strings(key)
        _ = try? file.integers(key)
    }
    for info in file.tensors {
        _ = try? file.tensor(info.name)
    }
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_gguf_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzGGUF)
}
