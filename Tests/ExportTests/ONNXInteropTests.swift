import Foundation
import Inference
import QuantCore
import TensorCore
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
    /// Static scales: onnxruntime's integer products (MatMulIntegerToFloat) see the same codes; measured 2e-7 to 3e-7.
    /// A value within an ulp of a rounding tie would move one code, one step of its scale.
    static let staticActivationTolerance: Float = 5e-3
    /// Dynamic per-token scales put the row's largest-magnitude element on a rounding tie by construction:
    /// x · (1 / scale) = −(qmax − qmin) / 2 = −127.5 for a negative extreme, up to the last bit. Inputs that differ in
    /// the last bit (summation order upstream) then round it to −128 in one runtime and −127 in the other, one step in
    /// about half the rows, and the tiny model's random weights carry that to 1% of the largest logit (measured
    /// 1.0e-2; the KV-cache variant 7e-4 prefill, 4e-3 decode). `quantizerNodesComputeQuantasFakeQuantization` shows
    /// the nodes themselves are bit-exact on identical input.
    static let dynamicActivationTolerance: Float = 5e-2

    static let tokens = [5, 87, 256, 104, 33, 257, 12, 99, 200, 3]
    static let next = 65

    @Test(arguments: ONNXFixtures.Variant.allCases)
    func onnxruntimeComputesQuantasLogitsWithAKVCache(_ variant: ONNXFixtures.Variant) throws {
        try #require(ONNXInterop.hasRuntime, "python3 cannot import onnx and onnxruntime: run scripts/install-deps.sh")
        let model = try ONNXFixtures.model(variant)
        let path = Fixtures.temporaryDirectory() + "/m.onnx"
        let exported = try ONNXExport.export(try ExportFixtures.loaded(model), to: path)
        // The session options the export's report names.
        var options = ["--decode", "\(Self.next)"]
        if exported.runtimeNotes.contains(ONNXExport.Report.accuracyLevelNote) { options += ["--accuracy-level", "0"] }
        if exported.runtimeNotes.contains(ONNXExport.Report.float8ActivationNote) {
            options.append("--disable-qdq-fusion")
        }
        #expect(
            exported.runtimeNotes.isEmpty == ![.w4a16g32, .w4a16g32Symmetric, .w4a16g128, .kvCacheInt8, .fp8Static]
                .contains(variant))
        let report = try ONNXInterop.run(path, Self.tokens, arguments: options)
        let (prefill, decode) = try ONNXFixtures.logits(model, Self.tokens, next: Self.next)
        let theirs = try #require(report.logits).flatMap { $0 }
        let theirDecode = try #require(report.decodeLogits)
        #expect(theirs.count == prefill.count && theirDecode.count == decode.count)
        let quantizers = model.linearLayers.compactMap(\.inputQuantizer) + model.blocks.compactMap(\.keyQuantizer)
        let tolerance =
            quantizers.contains { $0.parameters == nil }
            ? Self.dynamicActivationTolerance
            : quantizers.isEmpty ? Self.floatActivationTolerance : Self.staticActivationTolerance
        let prefillDifference = ONNXInterop.relativeDifference(theirs, prefill)
        let decodeDifference = ONNXInterop.relativeDifference(theirDecode, decode)
        print(
            "ONNX \(variant): onnxruntime vs Quanta, prefill \(prefillDifference), decode \(decodeDifference) of the largest logit; ops \(report.ops.filter { $0.contains("Mat") || $0.contains("Quantize") })"
        )
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
        print(
            "ONNX w4a16g32: onnxruntime default accuracy level \(defaultDifference), graph as written \(unoptimizedDifference)"
        )
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
        #expect(
            ONNXInterop.relativeDifference(report.leftPadded.flatMap { $0 }, prefill) < Self.floatActivationTolerance)
    }

    /// The quantizer nodes alone, on identical input: onnxruntime's output against `TensorQuantizer.fakeQuantizeRows`.
    /// The dynamic formula is bit-exact (same float32 operations in the same order). QuantizeLinear divides by the
    /// scale where Quanta multiplies by its reciprocal, which may move a value sitting within an ulp of a rounding
    /// tie by one step.
    @Test(arguments: [
        (QuantDataType.int8, true, true), (.uint8, false, true), (.int4, true, true), (.uint4, false, true),
        (.int8, true, false), (.uint8, false, false), (.int4, true, false), (.fp8_e4m3, true, false),
        (.fp8_e5m2, true, false),
    ])
    func quantizerNodesComputeQuantasFakeQuantization(type: QuantDataType, symmetric: Bool, dynamic: Bool) throws {
        try #require(ONNXInterop.hasRuntime, "python3 cannot import onnx and onnxruntime: run scripts/install-deps.sh")
        let (rows, columns) = (7, 33)
        var x = Fixtures.uniform(count: rows * columns, seed: 11, scale: 3)
        for r in 0..<rows { for c in 0..<columns { x[r * columns + c] *= Float(r + 1) * 0.5 + (r == 2 ? 10 : 0) } }
        x[5 * columns + 4] = 0
        let quantizer: ActivationQuantizer
        if dynamic {
            let scheme = try QuantScheme(
                dataType: type, granularity: .perToken, isSymmetric: symmetric,
                scaleType: symmetric ? .float32 : .float16,
                isDynamic: true)
            quantizer = ActivationQuantizer(scheme: scheme)
        } else {
            // Calibrated on the first rows only, so later rows clip.
            let scheme = try QuantScheme(dataType: type, isSymmetric: symmetric)
            let seen = Array(x.prefix(3 * columns))
            quantizer = ActivationQuantizer(
                scheme: scheme,
                parameters: try QuantParameters.compute(
                    minimum: [seen.min()!], maximum: [seen.max()!], scheme: scheme,
                    formatMaximum: ONNXFixtures.formatMaximum(type)))
        }
        var builder = ONNXGraphBuilder()
        _ = builder.op(
            "Identity", [ONNXActivationQuantization.apply(quantizer, to: "x", name: "q", graph: &builder)],
            scope: "out", output: "y")
        let shape: [ONNXDecoderGraph.Dimension] = [.value(1), .value(rows), .value(columns)]
        let proto = ONNXExport.modelProto(
            name: "quantizer", builder, inputs: [ONNXDecoderGraph.valueInfo("x", .float, shape)],
            outputs: [ONNXDecoderGraph.valueInfo("y", .float, shape)])
        let directory = Fixtures.temporaryDirectory()
        let modelBytes: Data = try proto.serializedBytes()
        try modelBytes.write(to: URL(fileURLWithPath: directory + "/q.onnx"))
        try x.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: directory + "/x.f32"))
        try GGUFInterop.python([
            ONNXInterop.scriptPath, "apply", directory + "/q.onnx", directory + "/x.f32", "\(rows)", "\(columns)",
            directory + "/y.f32",
        ])
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/y.f32"))
        let theirs = data.withUnsafeBytes { bytes in
            (0..<(rows * columns)).map {
                Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
        var ours = x
        try ours.withUnsafeMutableBufferPointer {
            try TensorQuantizer.fakeQuantizeRows(
                $0.baseAddress!, rows: rows, columns: columns, scheme: quantizer.scheme,
                parameters: quantizer.parameters)
        }
        if dynamic {
            #expect(theirs == ours, "largest difference \(Tolerance.maxAbsDifference(theirs, ours))")
        } else {
            // One step: the scale for integers; for FP8 a quarter of the value (E5M2's 2 mantissa bits) at most.
            let scale = quantizer.parameters!.scales[0]
            let moved = zip(theirs, ours).filter { $0 != $1 }
            for (a, b) in moved {
                #expect(abs(a - b) <= (type.isInteger ? scale : 0.25 * max(abs(a), abs(b))) * 1.0001, "\(a) vs \(b)")
            }
            #expect(moved.count <= 2, "\(moved.count) values moved")
            #expect(Set(ours).count > 5)
        }
    }

    @Test func anOnlineRotationRunsAsAMatMul() throws {
        try #require(ONNXInterop.hasRuntime, "python3 cannot import onnx and onnxruntime: run scripts/install-deps.sh")
        var model = try ONNXFixtures.model(.w4a16g32)
        let transform = try HadamardTransform(dimension: 128, seed: 3)
        model.updateLinear("model.layers.1.mlp.down_proj") { $0.inputTransform = transform }
        let path = Fixtures.temporaryDirectory() + "/m.onnx"
        let report = try ONNXExport.export(try ExportFixtures.loaded(model), to: path)
        #expect(report.onlineRotations == 1)
        let (prefill, decode) = try ONNXFixtures.logits(model, Self.tokens, next: Self.next)
        let run = try ONNXInterop.run(
            path, Self.tokens, arguments: ["--decode", "\(Self.next)", "--accuracy-level", "0"])
        #expect(
            ONNXInterop.relativeDifference(try #require(run.logits).flatMap { $0 }, prefill)
                < Self.floatActivationTolerance)
        #expect(ONNXInterop.relativeDifference(try #require(run.decodeLogits), decode) < Self.floatActivationTolerance)
    }
}
