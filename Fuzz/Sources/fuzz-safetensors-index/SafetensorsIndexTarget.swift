import FuzzSupport
import ModelFormats

/// The sharded safetensors reader: `model.safetensors.index.json` and two shards, carried in one input as a
/// `FuzzContainer` (index, shard 1, shard 2), then every tensor through `ShardedSafetensors`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensorsIndex(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let directory = FuzzScratch.directory("safetensors-index")
    let names = [
        "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
    ]
    let parts = FuzzContainer.unpack(UnsafeRawBufferPointer(start: data, count: size), fileCount: names.count)
    for (name, bytes) in zip(names, parts) { FuzzScratch.write(bytes, to: directory + "/" + name) }
    guard let weights = try? ShardedSafetensors(directory: directory) else { return 0 }
    _ = try? weights.tensors()
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_safetensors_index_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzSafetensorsIndex)
}
