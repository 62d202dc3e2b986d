import Foundation
import TestSupport
import Testing

@testable import Export

/// `quanta export --format onnx` through the built binary: a saved W8A8 folder becomes an ONNX model whose JSON report
/// counts its quantization nodes, an existing output needs --overwrite, GGUF-only flags are refused.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"), .serialized)
struct ONNXCommandLineTests {
    @Test func aSavedW8A8FolderBecomesAnONNXModel() throws {
        let (folder, directory) = try ExportCommandLineTests.quantizedFolder(
            recipe: #"{"name": "w8a8", "weight": {"dtype": "int8", "granularity": "per_channel"}, "#
                + #""input": {"dtype": "int8", "granularity": "per_tensor"}}"#)
        let out = directory + "/m.onnx"
        let outcome = try ExportCommandLineTests.run(["export", folder, "--format", "onnx", "--out", out, "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(report["layers_from_codes"] as? Int == 14)
        #expect(report["static_activation_quantizers"] as? Int == 14)
        #expect(report["weight_kinds"] as? [String: Int] == ["int8 per output channel": 14, "float32": 1])
        #expect(report["opset"] as? Int == 21 && report["output"] as? String == out)
        #expect(try ONNXReadBack.read(out).tensors.count == 21)
        try ExportCommandLineTests.expectOneErrorLine(
            ["export", folder, "--format", "onnx", "--out", out], mentioning: ["already exists", "--overwrite"])
        let again = try ExportCommandLineTests.run([
            "export", folder, "--format", "onnx", "--out", out, "--overwrite", "--external-data",
        ])
        #expect(again.status == 0 && again.stdout.contains("m.onnx.data"), "\(again.stdout)\(again.stderr)")
        try ExportCommandLineTests.expectValidationError(
            ["export", folder, "--format", "onnx", "--out", out, "--requantize", "q4_1"],
            mentioning: ["--requantize", "gguf"])
        try ExportCommandLineTests.expectValidationError(
            ["export", folder, "--format", "gguf", "--out", out, "--external-data"],
            mentioning: ["--external-data", "onnx"])
    }
}
