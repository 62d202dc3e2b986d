import Foundation
import Inference
import ModelFormats
import TensorCore
import TestSupport
import Testing

@testable import Export

/// Runs scripts/interop/check_gguf.py, the bridge to llama.cpp's own readers: the `gguf` package (gguf-py) and
/// `llama-cpp-python`. Locally a missing package skips these tests with a message; under CI (`CI` set, as .ci/run
/// runs) it fails them, since scripts/install-deps.sh installs both.
enum GGUFInterop {
    static let hasGGUF = (try? python(["-c", "import gguf, numpy"])) != nil
    static let hasLlamaCpp = (try? python(["-c", "import llama_cpp"])) != nil
    /// CI must not pass by skipping.
    static let isRequired = !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty

    static var scriptPath: String { RealData.repositoryRoot + "/scripts/interop/check_gguf.py" }

    struct ScriptFailed: Error, CustomStringConvertible { var description: String }

    @discardableResult
    static func python(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ScriptFailed(
                description: "python3 \(arguments.prefix(2).joined(separator: " ")) failed: \(errorText)")
        }
        return data
    }

    struct ReadReport: Decodable {
        struct Entry: Decodable {
            var type: String
            var shape: [Int]
            var sum: Double
        }
        var tensors: [String: Entry]
    }

    struct LogitsReport: Decodable { var logits: [[Float]] }

    struct DequantizeReport: Decodable {
        struct Entry: Decodable {
            var type: String
            var shape: [Int]
            var offset: Int
            var count: Int
        }
        var tensors: [String: Entry]
    }

    struct QuantizeReport: Decodable {
        struct Entry: Decodable {
            var type: String
            var blocks: Int
            var equal: Int
        }
        var tensors: [String: Entry]
    }
}

@Suite(.serialized) struct GGUFInteropTests {
    /// Sums of up to 33k dequantized values in float64 (numpy) against float32 values summed in Double here.
    static let sumTolerance = 1e-3
    /// llama.cpp multiplies Q4_1/Q4_0/Q8_0 weights by activations it quantizes to 8 bits per block of 32 (Q8_1/Q8_0):
    /// on the tiny model (random weights, 15 quantized layers) its logits differ from Quanta's float-activation
    /// product by 2.7-2.8% of the largest logit (measured), the same for 4- and 8-bit weights.
    static let llamaCppRelativeLogitTolerance: Float = 0.05
    /// An all-F32 file runs llama.cpp's float kernels; its KV cache is float16 by default, which puts the difference
    /// at 7e-4 of the largest logit (measured). A wrong q/k row order or hyper-parameter would differ by O(1).
    static let llamaCppFloatRelativeLogitTolerance: Float = 2e-3

    static func export(_ scheme: QuantDataTypeChoice) throws -> (path: String, model: LlamaModel) {
        if scheme == .uint4CarriedIntoQ4K {
            let model = try ExportFixtures.quantizedModel(
                try ExportFixtures.int4(symmetric: false), superBlockRows: true)
            let path = Fixtures.temporaryDirectory() + "/m.gguf"
            _ = try GGUFExport.export(
                try ExportFixtures.loaded(model), to: path,
                configuration: .init(floatWeightType: .q6_K, requantizeType: .q4_K))
            // Quanta's own model of the file: the carried weights (and the Q6_K embedding) as written.
            return (path, try GGUFReadBack.model(path, configuration: model.configuration))
        }
        let model =
            scheme == .float32
            ? try ExportFixtures.floatModel()
            : try ExportFixtures.quantizedModel(
                scheme == .int8
                    ? try ExportFixtures.int8() : try ExportFixtures.int4(symmetric: scheme == .int4Symmetric))
        let path = Fixtures.temporaryDirectory() + "/m.gguf"
        _ = try GGUFExport.export(
            try ExportFixtures.loaded(model), to: path, configuration: .init(floatWeightType: .f32))
        return (path, model)
    }

    enum QuantDataTypeChoice: String, CaseIterable {
        case int4Symmetric, uint4Asymmetric, int8, float32, uint4CarriedIntoQ4K
    }

    @Test(
        .enabled(
            if: GGUFInterop.hasGGUF || GGUFInterop.isRequired, "python3 with gguf not found (scripts/install-deps.sh)"),
        arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1])
    func floatsAreQuantizedBitForBitAsGGUFPyDoes(_ type: GGMLType) throws {
        try #require(GGUFInterop.hasGGUF, "python3 cannot import gguf: run scripts/install-deps.sh")
        try Self.expectBlocksEqual(try ExportFixtures.floatModel(seed: 5), type: type, checker: "quantize")
    }

    /// Exports `model` at F32 and at `type`, has the Python `checker` quantize the F32 file itself, and expects every
    /// block of every tensor to be equal.
    static func expectBlocksEqual(_ model: LlamaModel, type: GGMLType, checker: String) throws {
        let loaded = try ExportFixtures.loaded(model)
        let directory = Fixtures.temporaryDirectory()
        _ = try GGUFExport.export(loaded, to: directory + "/f32.gguf", configuration: .init(floatWeightType: .f32))
        _ = try GGUFExport.export(loaded, to: directory + "/q.gguf", configuration: .init(floatWeightType: type))
        let data = try GGUFInterop.python([GGUFInterop.scriptPath, checker, directory + "/f32.gguf", directory + "/q.gguf"])
        let report = try JSONDecoder().decode(GGUFInterop.QuantizeReport.self, from: data)
        #expect(report.tensors.count == 16)
        for (name, entry) in report.tensors.sorted(by: { $0.key < $1.key }) {
            #expect(
                entry.type == type.name && entry.equal == entry.blocks,
                "\(name): \(entry.equal) of \(entry.blocks) blocks equal")
        }
    }

    @Test(
        .enabled(
            if: GGUFInterop.hasGGUF || GGUFInterop.isRequired, "python3 with gguf not found (scripts/install-deps.sh)"),
        arguments: QuantDataTypeChoice.allCases)
    func ggufPyReadsWhatQuantaWrites(_ choice: QuantDataTypeChoice) throws {
        try #require(GGUFInterop.hasGGUF, "python3 cannot import gguf: run scripts/install-deps.sh")
        let (path, model) = try Self.export(choice)
        let data = try GGUFInterop.python([GGUFInterop.scriptPath, "read", path])
        let report = try JSONDecoder().decode(GGUFInterop.ReadReport.self, from: data)
        let file = try GGUFFile(path: path)
        #expect(Set(report.tensors.keys) == Set(file.tensors.map(\.name)))
        for info in file.tensors {
            let entry = try #require(report.tensors[info.name])
            #expect(entry.type == info.type.name && entry.shape == info.shape, "\(info.name)")
            let ours = try file.tensor(info.name).scalars.reduce(0.0) { $0 + Double($1) }
            #expect(abs(entry.sum - ours) <= Self.sumTolerance, "\(info.name): gguf-py \(entry.sum), Quanta \(ours)")
        }
        #expect(model.blocks.count == 2)
    }

    /// A float model whose rows are whole super-blocks, with hard blocks in its embedding: an all-zero row, a
    /// constant one, one all positive, one with a single outlier, one of values near float16's smallest normal.
    static func kQuantModel(seed: UInt64) throws -> LlamaModel {
        let c = ExportFixtures.configuration(hiddenSize: 256, intermediateSize: 512)
        var tensors = TinyLlama.tensors(c, seed: seed)
        var embedding = try #require(tensors["model.embed_tokens.weight"]).scalars
        for j in 0..<256 {
            embedding[j] = 0
            embedding[256 + j] = 0.25
            embedding[512 + j] = abs(embedding[512 + j])
            embedding[1024 + j] = embedding[1024 + j] * 1e-4
        }
        embedding[768 + 17] = 40
        tensors["model.embed_tokens.weight"] = Tensor(shape: [c.vocabularySize, 256], scalars: embedding)
        return try LlamaModel(configuration: c, tensors: tensors)
    }

    @Test(
        .enabled(
            if: (GGUFInterop.hasGGUF && GGUFInterop.hasLlamaCpp) || GGUFInterop.isRequired,
            "python3 with gguf and llama_cpp not found (scripts/install-deps.sh)"),
        arguments: [GGMLType.q4_K, .q5_K, .q6_K])
    func floatsAreQuantizedBitForBitAsLlamaCppDoes(_ type: GGMLType) throws {
        try #require(GGUFInterop.hasGGUF && GGUFInterop.hasLlamaCpp, "run scripts/install-deps.sh")
        try Self.expectBlocksEqual(try Self.kQuantModel(seed: 5), type: type, checker: "quantize-ggml")
    }

    /// Every type Quanta writes, K-quants from floats and from carried codes included: gguf-py's dequantization is
    /// Quanta's, bit for bit.
    @Test(
        .enabled(
            if: GGUFInterop.hasGGUF || GGUFInterop.isRequired, "python3 with gguf not found (scripts/install-deps.sh)"),
        arguments: GGUFExport.writableTypes.map { ($0, false) } + [(.q4_K, true), (.q5_K, true), (.q6_K, true)])
    func ggufPyDequantizesBitForBitAsQuanta(_ type: GGMLType, carried: Bool) throws {
        try #require(GGUFInterop.hasGGUF, "python3 cannot import gguf: run scripts/install-deps.sh")
        let model =
            carried
            ? try ExportFixtures.quantizedModel(
                try ExportFixtures.int4(groupSize: type == .q6_K ? 16 : 32, symmetric: type == .q6_K),
                superBlockRows: true)
            : try Self.kQuantModel(seed: 8)
        let directory = Fixtures.temporaryDirectory()
        let path = directory + "/m.gguf"
        _ = try GGUFExport.export(
            try ExportFixtures.loaded(model), to: path,
            configuration: carried ? .init(floatWeightType: .f32, requantizeType: type) : .init(floatWeightType: type))
        let data = try GGUFInterop.python([GGUFInterop.scriptPath, "dequantize", path, directory + "/values.f32"])
        let report = try JSONDecoder().decode(GGUFInterop.DequantizeReport.self, from: data)
        let raw = try Data(contentsOf: URL(fileURLWithPath: directory + "/values.f32"))
        let file = try GGUFFile(path: path)
        #expect(Set(report.tensors.keys) == Set(file.tensors.map(\.name)))
        #expect(file.tensors.contains { $0.type == type })
        for info in file.tensors {
            let entry = try #require(report.tensors[info.name])
            #expect(entry.type == info.type.name && entry.shape == info.shape && entry.count == info.elementCount)
            let ours = try file.tensor(info.name).scalars.map(\.bitPattern)
            let theirs = (0..<entry.count).map { i -> UInt32 in
                let at = (entry.offset + i) * 4
                return UInt32(raw[at]) | UInt32(raw[at + 1]) << 8 | UInt32(raw[at + 2]) << 16 | UInt32(raw[at + 3]) << 24
            }
            let differing = zip(ours, theirs).filter { $0 != $1 }.count
            #expect(differing == 0, "\(info.name) (\(info.type.name)): \(differing) of \(entry.count) values differ")
        }
    }

    @Test(
        .enabled(
            if: GGUFInterop.hasLlamaCpp || GGUFInterop.isRequired,
            "python3 with llama_cpp not found (scripts/install-deps.sh)"),
        arguments: QuantDataTypeChoice.allCases)
    func llamaCppRunsWhatQuantaWrites(_ choice: QuantDataTypeChoice) throws {
        try #require(GGUFInterop.hasLlamaCpp, "python3 cannot import llama_cpp: run scripts/install-deps.sh")
        let (path, model) = try Self.export(choice)
        let tokens = [5, 87, 256, 104, 33, 257, 12, 99, 200, 3]
        let data = try GGUFInterop.python([
            GGUFInterop.scriptPath, "logits", path, tokens.map(String.init).joined(separator: ","),
        ])
        let theirs = try JSONDecoder().decode(GGUFInterop.LogitsReport.self, from: data).logits.flatMap { $0 }
        let ours = try GGUFReadBack.logits(model, tokens)
        #expect(theirs.count == ours.count)
        let relative = Tolerance.maxAbsDifference(theirs, ours) / ours.map { abs($0) }.max()!
        let tolerance =
            choice == .float32 ? Self.llamaCppFloatRelativeLogitTolerance : Self.llamaCppRelativeLogitTolerance
        #expect(relative < tolerance, "largest difference \(relative) of the largest logit")
        // The same next-token choice at every position where the measured difference cannot flip it (Quanta's
        // top-two margin above twice the largest difference); K-quant files (llama.cpp quantizes activations to
        // Q8_K for them) leave some near-ties on the hidden-256 model.
        let vocabulary = model.configuration.vocabularySize
        let largest = Tolerance.maxAbsDifference(theirs, ours)
        var decided = 0
        for position in 0..<tokens.count {
            let a = Array(theirs[(position * vocabulary)..<((position + 1) * vocabulary)])
            let b = Array(ours[(position * vocabulary)..<((position + 1) * vocabulary)])
            let sorted = b.sorted(by: >)
            guard sorted[0] - sorted[1] > 2 * largest else { continue }
            decided += 1
            #expect(a.firstIndex(of: a.max()!) == b.firstIndex(of: b.max()!), "position \(position)")
        }
        #expect(decided >= tokens.count / 2, "only \(decided) of \(tokens.count) positions decided")
    }
}
