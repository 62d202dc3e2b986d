import Foundation
import Inference
import ModelFormats
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

    enum QuantDataTypeChoice: String, CaseIterable { case int4Symmetric, uint4Asymmetric, int8, float32 }

    @Test(
        .enabled(
            if: GGUFInterop.hasGGUF || GGUFInterop.isRequired, "python3 with gguf not found (scripts/install-deps.sh)"),
        arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1])
    func floatsAreQuantizedBitForBitAsGGUFPyDoes(_ type: GGMLType) throws {
        try #require(GGUFInterop.hasGGUF, "python3 cannot import gguf: run scripts/install-deps.sh")
        let loaded = try ExportFixtures.loaded(try ExportFixtures.floatModel(seed: 5))
        let directory = Fixtures.temporaryDirectory()
        _ = try GGUFExport.export(loaded, to: directory + "/f32.gguf", configuration: .init(floatWeightType: .f32))
        _ = try GGUFExport.export(loaded, to: directory + "/q.gguf", configuration: .init(floatWeightType: type))
        let data = try GGUFInterop.python([
            GGUFInterop.scriptPath, "quantize", directory + "/f32.gguf", directory + "/q.gguf",
        ])
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
        // The same next-token choice at every position.
        let vocabulary = model.configuration.vocabularySize
        for position in 0..<tokens.count {
            let a = theirs[(position * vocabulary)..<((position + 1) * vocabulary)]
            let b = ours[(position * vocabulary)..<((position + 1) * vocabulary)]
            #expect(
                a.firstIndex(of: a.max()!)! - position * vocabulary == b.firstIndex(of: b.max()!)! - position
                    * vocabulary)
        }
    }
}
