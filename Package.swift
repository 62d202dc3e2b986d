// swift-tools-version: 6.1
import PackageDescription

// Hot loops need the host's vector ISA: without it SIMD code falls back to scalar libm calls (see PERFORMANCE.md).
let native: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=native"])]

let package = Package(
    name: "Quanta",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "quanta", targets: ["quanta"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(name: "TensorCore", dependencies: ["COpenBLAS"], exclude: ["README.md"], swiftSettings: native),
        .target(name: "QuantCore", dependencies: ["TensorCore"], exclude: ["README.md"], swiftSettings: native),
        .target(name: "JSONCore", dependencies: [], exclude: ["README.md"], swiftSettings: native),
        .target(name: "ModelFormats", dependencies: ["TensorCore", "JSONCore"], exclude: ["README.md"], swiftSettings: native),
        .target(name: "Tokenization", dependencies: ["JSONCore"], exclude: ["README.md"], swiftSettings: native),
        .target(name: "Inference", dependencies: ["TensorCore", "QuantCore"], exclude: ["README.md"], swiftSettings: native),
        .target(name: "QuantAlgorithms", dependencies: ["TensorCore", "QuantCore", "Inference"], exclude: ["README.md"],
                swiftSettings: native),
        .target(name: "Quantization", dependencies: ["TensorCore", "QuantCore", "ModelFormats", "Tokenization", "Inference",
                                                  "QuantAlgorithms"], exclude: ["README.md"], swiftSettings: native),
        .target(name: "Analysis", dependencies: ["TensorCore", "Inference", "Tokenization"], exclude: ["README.md"], swiftSettings: native),
        .target(name: "Export", dependencies: ["TensorCore", "QuantCore", "ModelFormats", "Tokenization", "Inference",
                                            "Quantization"], exclude: ["README.md"], swiftSettings: native),
        .target(name: "Pipeline", dependencies: ["TensorCore", "QuantCore", "ModelFormats", "Tokenization", "Inference",
                                              "Quantization", "QuantAlgorithms", "Analysis", .product(name: "Yams", package: "Yams")],
                exclude: ["README.md"], swiftSettings: native),
        .executableTarget(name: "quanta", dependencies: [
            "Pipeline", "Export", "Quantization", "QuantAlgorithms", "QuantCore", "Inference", "TensorCore", "Tokenization", "Analysis",
            "ModelFormats",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: native),
        .target(name: "TestSupport", dependencies: ["TensorCore", "ModelFormats", "Inference", "Tokenization"], swiftSettings: native),
        .testTarget(name: "JSONCoreTests", dependencies: ["JSONCore"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "QuantCoreTests", dependencies: ["QuantCore", "TensorCore", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats", "TensorCore", "TestSupport"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization"], resources: [.copy("Fixtures")]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "TensorCore", "TestSupport"]),
        .testTarget(name: "QuantAlgorithmsTests", dependencies: ["QuantAlgorithms", "TestSupport", "QuantCore", "Inference", "TensorCore"]),
        .testTarget(name: "QuantizationTests", dependencies: ["Quantization", "QuantAlgorithms", "QuantCore", "Inference", "TestSupport"]),
        .testTarget(name: "ExportTests", dependencies: ["Export", "ModelFormats", "QuantCore", "Quantization", "Inference",
                                                  "TensorCore", "Tokenization", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "Inference", "TensorCore", "Tokenization", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Quantization", "QuantAlgorithms", "TestSupport", "ModelFormats",
                                                    "Inference", "QuantCore", "TensorCore", "Analysis"],
                    resources: [.copy("Fixtures")]),
    ]
)
