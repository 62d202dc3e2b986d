import Export
import FuzzSupport

/// ONNX files as `quanta export --format onnx` writes them, read back by `ONNXReadBack.read` (protobuf decoding,
/// initializers, DequantizeLinear weights, the configuration in the metadata). Data is inline; an external-data
/// reference names a file that does not exist in the scratch folder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzScratch.directory("onnx") + "/model.onnx"
    FuzzScratch.write(UnsafeBufferPointer(start: data, count: size), to: path)
    _ = try? ONNXReadBack.read(path)
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_onnx_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzONNX)
}
