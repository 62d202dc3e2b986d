import Foundation
import Inference
import Quantization
import TensorCore
import TestSupport
import Testing
import Tokenization

/// SmolLM2 quantized to w4a16-g32 by `quanta quantize`, exported by `quanta export --format onnx`, run by onnxruntime
/// on the first 128-token window of wiki.test.raw and compared with Quanta's forward pass over the same folder:
/// largest logit difference, KL(P_Quanta ‖ P_onnxruntime) per token and top-1 agreement, printed for the README.
@Suite(
    .enabled(
        if: RealData.exists(RealData.smolLM2, RealData.wikiTest) && RealData.quantaExecutable != nil,
        "SmolLM2, wikitext-2 or the quanta executable not found"),
    .enabled(
        if: ONNXInterop.hasRuntime || GGUFInterop.isRequired,
        "python3 with onnx and onnxruntime not found (scripts/install-deps.sh)"),
    .serialized)
struct ONNXSmolLM2Tests {
    static let windowLength = 128
    /// Float activations in both runtimes (accuracy level 0): only summation order differs. Measured on this window:
    /// mean KL 1.7e-11 nats, largest logit difference 1.1e-4, top-1 agreement 100%; the bounds leave two orders of
    /// magnitude for other CPUs' kernels.
    static let floatActivationKL = 1e-6
    static let floatActivationMaxDifference: Float = 0.02
    /// onnxruntime's default fused 4-bit product quantizes activations to int8 per block: measured mean KL 2.9e-3,
    /// largest logit difference 1.8, top-1 agreement 92%. The bound only says it stays that kind of change.
    static let defaultAccuracyLevelKL = 2e-2

    struct Comparison {
        var maxAbsDifference: Float = 0
        var meanKL = 0.0
        var top1Agreement = 0.0
    }

    static func compare(_ ours: [Float], _ theirs: [Float], vocabulary: Int) -> Comparison {
        var result = Comparison()
        result.maxAbsDifference = Tolerance.maxAbsDifference(ours, theirs)
        let positions = ours.count / vocabulary
        var agree = 0
        for position in 0..<positions {
            let p = Array(ours[(position * vocabulary)..<((position + 1) * vocabulary)]).map(Double.init)
            let q = Array(theirs[(position * vocabulary)..<((position + 1) * vocabulary)]).map(Double.init)
            func logSoftmax(_ x: [Double]) -> [Double] {
                let m = x.max()!
                let logSum = log(x.reduce(0) { $0 + exp($1 - m) }) + m
                return x.map { $0 - logSum }
            }
            let (lp, lq) = (logSoftmax(p), logSoftmax(q))
            result.meanKL += zip(lp, lq).reduce(0) { $0 + exp($1.0) * ($1.0 - $1.1) }
            if p.firstIndex(of: p.max()!) == q.firstIndex(of: q.max()!) { agree += 1 }
        }
        result.meanKL /= Double(positions)
        result.top1Agreement = Double(agree) / Double(positions)
        return result
    }

    @Test func onnxruntimeMatchesQuantaOnAWikitextWindow() throws {
        try #require(ONNXInterop.hasRuntime, "python3 cannot import onnx and onnxruntime: run scripts/install-deps.sh")
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let folder = directory + "/w4a16-g32"
        let quantize = try ExportCommandLineTests.run([
            "quantize", RealData.smolLM2, "--recipe", "w4a16-g32", "--out", folder, "--allow-requantize",
        ])
        try #require(quantize.status == 0, "\(quantize.stderr)")
        let onnx = directory + "/smollm2.onnx"
        let export = try ExportCommandLineTests.run(["export", folder, "--format", "onnx", "--out", onnx])
        try #require(export.status == 0, "\(export.stderr)")
        print(export.stdout)

        // Quanta's own reading of the folder, as `quanta eval` loads it.
        let configuration = try JSONDecoder().decode(
            LlamaConfiguration.self, from: try Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")))
        let contents = try QuantizedModelFolder.load(directory: folder)
        var model = try LlamaModel(configuration: configuration, tensors: contents.tensors)
        try contents.install(into: &model)
        let tokenizer = try ByteLevelBPETokenizer(
            tokenizerJSON: try Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer.json")))
        let text = String(try String(contentsOfFile: RealData.wikiTest, encoding: .utf8).prefix(4000))
        let tokens = Array(tokenizer.encode(text, addSpecialTokens: false).prefix(Self.windowLength))
        try #require(tokens.count == Self.windowLength)
        var cache = model.makeCache(capacity: tokens.count)
        let ours = try model.forward(tokens: tokens, cache: &cache).scalars
        let vocabulary = configuration.vocabularySize

        func onnxruntime(_ arguments: [String]) throws -> (logits: [Float], ops: [String]) {
            let raw = directory + "/logits.f32"
            let report = try ONNXInterop.run(onnx, tokens, arguments: ["--raw", raw] + arguments)
            let data = try Data(contentsOf: URL(fileURLWithPath: raw))
            let values = data.withUnsafeBytes { bytes in
                (0..<(data.count / 4)).map {
                    Float(
                        bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                }
            }
            return (values, report.ops)
        }
        let exact = try onnxruntime(["--accuracy-level", "0"])
        #expect(exact.logits.count == ours.count)
        #expect(exact.ops.contains("MatMulNBits"), "\(exact.ops)")
        let a = Self.compare(ours, exact.logits, vocabulary: vocabulary)
        let byDefault = try onnxruntime([])
        let b = Self.compare(ours, byDefault.logits, vocabulary: vocabulary)
        print(
            String(
                format:
                    "SmolLM2 w4a16-g32 ONNX, %d tokens: accuracy level 0: max |Δlogit| %.3g, mean KL %.3g, top-1 %.4f; "
                    + "onnxruntime default (level 4): max |Δlogit| %.3g, mean KL %.3g, top-1 %.4f",
                tokens.count, a.maxAbsDifference, a.meanKL, a.top1Agreement, b.maxAbsDifference, b.meanKL,
                b.top1Agreement))
        #expect(a.meanKL < Self.floatActivationKL && a.maxAbsDifference < Self.floatActivationMaxDifference)
        #expect(a.top1Agreement == 1)
        #expect(b.meanKL < Self.defaultAccuracyLevelKL)
    }
}
