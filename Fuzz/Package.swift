// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for Quanta's parsers. Separate from the root package so that its `swift build` and `swift test`
// never build them. Build with the sanitizer flags (scripts/fuzz.sh does):
//   swift build -c release --scratch-path .build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
//     -Xswiftc -use-ld=lld
// Each `fuzz-*` executable defines `LLVMFuzzerTestOneInput` and a `<module>_main` that starts libFuzzer (FuzzDriver).

/// The fuzz targets: executable name and the Quanta products its file imports.
let fuzzTargets: [(name: String, products: [String])] = [
    ("fuzz-gguf", ["ModelFormats"]),
    ("fuzz-safetensors", ["ModelFormats"]),
    ("fuzz-safetensors-index", ["ModelFormats"]),
    ("fuzz-tokenizer-json", ["Tokenization"]),
    ("fuzz-tokenizer-encode", ["Tokenization"]),
    ("fuzz-chat-template", ["Tokenization"]),
    ("fuzz-recipe", ["Pipeline"]),
    ("fuzz-saved-folder", ["Pipeline"]),
    ("fuzz-compressed-tensors", ["Pipeline"]),
    ("fuzz-onnx", ["Export"]),
]

let package = Package(
    name: "QuantaFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Quanta", path: "..")],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        // Writes the synthetic seed files of Corpus/ with Quanta's own writers (`scripts/fuzz.sh --seeds`).
        .executableTarget(
            name: "make-fuzz-seeds",
            dependencies: [
                "FuzzSupport",
                .product(name: "ModelFormats", package: "Quanta"), .product(name: "Tokenization", package: "Quanta"),
                .product(name: "Inference", package: "Quanta"), .product(name: "QuantCore", package: "Quanta"),
                .product(name: "Quantization", package: "Quanta"), .product(name: "Export", package: "Quanta"),
                .product(name: "Pipeline", package: "Quanta"), .product(name: "TestSupport", package: "Quanta"),
            ],
            path: "Sources/make-fuzz-seeds"),
    ]
        + fuzzTargets.map { target in
            .executableTarget(
                name: target.name,
                dependencies: ["FuzzSupport"] + target.products.map { .product(name: $0, package: "Quanta") },
                path: "Sources/\(target.name)")
        }
)
