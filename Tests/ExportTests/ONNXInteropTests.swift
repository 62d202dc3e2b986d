import Foundation
import Inference
import TestSupport
import Testing

@testable import Export

/// Runs scripts/interop/check_onnx.py: `onnx.checker` and onnxruntime's CPU provider on what Quanta exports, through
/// `GGUFInterop.python` (skipped locally without the packages, failed under CI, which installs them).
enum ONNXInterop {
    static let hasRuntime = (try? GGUFInterop.python(["-c", "import onnx, onnxruntime, numpy"])) != nil
    static var scriptPath: String { RealData.repositoryRoot + "/scripts/interop/check_onnx.py" }

    struct RunReport: Decodable {
        var ops: [String]
        var logits: [[Float]]?
        var decodeLogits: [Float]?
        var presentLength: Int?

        enum CodingKeys: String, CodingKey {
            case ops, logits
            case decodeLogits = "decode_logits"
            case presentLength = "present_length"
        }
    }

    struct PaddedReport: Decodable {
        var unpadded: [[Float]]
        var leftPadded: [[Float]]
        enum CodingKeys: String, CodingKey {
            case unpadded
            case leftPadded = "left_padded"
        }
    }

    static func run(_ path: String, _ tokens: [Int], arguments: [String] = []) throws -> RunReport {
        let data = try GGUFInterop.python(
            [scriptPath, "run", path, tokens.map(String.init).joined(separator: ",")] + arguments)
        return try JSONDecoder().decode(RunReport.self, from: data)
    }

    /// Largest difference over the largest magnitude of `expected`.
    static func relativeDifference(_ values: [Float], _ expected: [Float]) -> Float {
        Tolerance.maxAbsDifference(values, expected) / expected.map { abs($0) }.max()!
    }
}

@Suite(
    .enabled(
        if: ONNXInterop.hasRuntime || GGUFInterop.isRequired,
        "python3 with onnx and onnxruntime not found (scripts/install-deps.sh)"),
    .serialized)
struct ONNXInteropTests {
    /// With float activations both runtimes compute the same float32 function in a different order (BLAS vs MLAS
    /// products, polynomial vs libm exp, FMA contraction): 2e-6 to 3e-5 of the largest logit on these models
    /// (measured). A wrong layout (head order, rotary half, a transposed block) moves logits by O(1).
    static let floatActivationTolerance: Float = 2e-4
    /// With quantized activations a value landing on the other side of a rounding boundary in one runtime moves one
    /// code, one step of that activation's scale; through two blocks that is up to 1e-3 of the largest logit
    /// (measured: 2e-5 to 4e-4).
    static let quantizedActivationTolerance: Float = 5e-3

    static let tokens = [5, 87, 256, 104, 33, 257, 12, 99, 200, 3]
    static let next = 65

    @Test(arguments: ONNXFixtures.Variant.allCases)
    func onnxruntimeComputesQuantasLogitsWithAKVCache(_ variant: ONNXFixtures.Variant) throws {
        try #require(ONNXInterop.hasRuntime, "python3 cannot import onnx and onnxruntime: run scripts/install-deps.sh")
        let model = try ONNXFixtures.model(variant)
        let path = Fixtures.temporaryDirectory() + "/m.onnx"
        _ = try ONNXExport.export(try ExportFixtures.loaded(model), to: path)
        let report = try ONNXInterop.run(path, Self.tokens, arguments: ["--decode", "\(Self.next)", "--accuracy-level", "0"])
        let (prefill, decode) = try ONNXFixtures.logits(model, Self.tokens, next: Self.next)
        let theirs = try #require(report.logits).flatMap { $0 }
        let theirDecode = try #require(report.decodeLogits)
        #expect(theirs.count == prefill.count && theirDecode.count == decode.count)
        let quantizesActivations =
            model.linearLayers.contains { $0.quantizesActivations } || model.blocks.contains { $0.keyQuantizer != nil }
        let tolerance = quantizesActivations ? Self.quantizedActivationTolerance : Self.floatActivationTolerance
        let prefillDifference = ONNXInterop.relativeDifference(theirs, prefill)
        let decodeDifference = ONNXInterop.relativeDifference(theirDecode, decode)
        print("ONNX \(variant): onnxruntime vs Quanta, prefill \(prefillDifference), decode \(decodeDifference) of the largest logit; ops \(report.ops.filter { $0.contains("Mat") || $0.contains("Quantize") })")
        #expect(prefillDifference < tolerance, "prefill: \(prefillDifference) of the largest logit")
        #expect(decodeDifference < tolerance, "decode: \(decodeDifference) of the largest logit")
        #expect(report.presentLength == Self.tokens.count + 1)
        // The same next token at every position.
        let vocabulary = model.configuration.vocabularySize
        for position in 0..<Self.tokens.count {
            let a = Array(theirs[(position * vocabulary)..<((position + 1) * vocabulary)])
            let b = Array(prefill[(position * vocabulary)..<((position + 1) * vocabulary)])
            #expect(a.firstIndex(of: a.max()!) == b.firstIndex(of: b.max()!), "position \(position)")
        }
        if variant == .w4a16g32 || variant == .w4a16g128 {
            // onnxruntime fused the 4-bit DequantizeLinear + MatMul pairs into its MatMulNBits kernel.
            #expect(report.ops.contains("MatMulNBits") && !report.ops.contains("DequantizeLinear"), "\(report.ops)")
        }
    }

    /// onnxruntime's default for the fused 4-bit product (accuracy level 4) quantizes activations to int8 per block:
    /// measured here, it moves the w4a16 logits by about 1% of the largest one, while level 0 matches Quanta. The
    /// export's report and README say to set the level.
    @Test func onnxruntimesDefaultFusedProductQuantizesActivations() throws {
        try #require(ONNXInterop.hasRuntime, "python3 cannot import onnx and onnxruntime: run scripts/install-deps.sh")
        let model = try ONNXFixtures.model(.w4a16g32)
        let path = Fixtures.temporaryDirectory() + "/m.onnx"
        _ = try ONNXExport.export(try ExportFixtures.loaded(model), to: path)
        let (prefill, _) = try ONNXFixtures.logits(model, Self.tokens, next: Self.next)
        let byDefault = try #require(try ONNXInterop.run(path, Self.tokens).logits).flatMap { $0 }
        let unoptimized = try #require(try ONNXInterop.run(path, Self.tokens, arguments: ["--no-optimization"]).logits)
        let defaultDifference = ONNXInterop.relativeDifference(byDefault, prefill)
        let unoptimizedDifference = ONNXInterop.relativeDifference(unoptimized.flatMap { $0 }, prefill)
        print("ONNX w4a16g32: onnxruntime default accuracy level \(defaultDifference), graph as written \(unoptimizedDifference)")
        #expect(unoptimizedDifference < Self.floatActivationTolerance)
        #expect(defaultDifference > unoptimizedDifference && defaultDifference < 0.05)
    }

    @Test func leftPaddingIsMaskedAndPositionsFollowPositionIDs() throws {
        try #require(ONNXInterop.hasRuntime, "python3 cannot import onnx and onnxruntime: run scripts/install-deps.sh")
        let model = try ONNXFixtures.model(.tiedFloat32)
        let path = Fixtures.temporaryDirectory() + "/m.onnx"
        _ = try ONNXExport.export(try ExportFixtures.loaded(model), to: path)
        let data = try GGUFInterop.python([
            ONNXInterop.scriptPath, "padded", path, Self.tokens.map(String.init).joined(separator: ","), "3",
        ])
        let report = try JSONDecoder().decode(ONNXInterop.PaddedReport.self, from: data)
        let (prefill, _) = try ONNXFixtures.logits(model, Self.tokens, next: Self.next)
        #expect(ONNXInterop.relativeDifference(report.unpadded.flatMap { $0 }, prefill) < Self.floatActivationTolerance)
        #expect(ONNXInterop.relativeDifference(report.leftPadded.flatMap { $0 }, prefill) < Self.floatActivationTolerance)
    }

    @Test func anOnlineRotationRunsAsAMatMul() throws {
        try #require(ONNXInterop.hasRuntime, "python3 cannot import onnx and onnxruntime: run scripts/install-deps.sh")
        var model = try ONNXFixtures.model(.w4a16g32)
        model.updateLinear("model.layers.1.mlp.down_proj") { $0.inputTransform = try! HadamardTransform(dimension: 128, seed: 3) }
        let path = Fixtures.temporaryDirectory() + "/m.onnx"
        let report = try ONNXExport.export(try ExportFixtures.loaded(model), to: path)
        #expect(report.onlineRotations == 1)
        let (prefill, decode) = try ONNXFixtures.logits(model, Self.tokens, next: Self.next)
        let run = try ONNXInterop.run(path, Self.tokens, arguments: ["--decode", "\(Self.next)", "--accuracy-level", "0"])
        #expect(ONNXInterop.relativeDifference(try #require(run.logits).flatMap { $0 }, prefill) < Self.floatActivationTolerance)
        #expect(ONNXInterop.relativeDifference(try #require(run.decodeLogits), decode) < Self.floatActivationTolerance)
    }
}
