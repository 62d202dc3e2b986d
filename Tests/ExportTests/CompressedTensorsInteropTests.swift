import Foundation
import Inference
import ModelFormats
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

@testable import Export

/// The compressed-tensors export read by others: the `safetensors` package with numpy (scripts/interop/
/// read_compressed_tensors.py, in CI), and the `compressed-tensors` package and transformers through a fixture that
/// scripts/interop/compressed_tensors_check.py records by hand (they need torch, which CI does not install).
@Suite(.serialized) struct CompressedTensorsInteropTests {
    static let hasSafetensors = (try? GGUFInterop.python(["-c", "import safetensors, numpy"])) != nil
    static var readerPath: String { RealData.repositoryRoot + "/scripts/interop/read_compressed_tensors.py" }
    static var fixturePath: String {
        RealData.repositoryRoot + "/Tests/ExportTests/Fixtures/compressed_tensors_check.json"
    }
    /// Sums of 8k dequantized values: numpy adds float64 products, Quanta float32 values in Double.
    static let sumTolerance = 1e-4
    /// Relative difference allowed between compressed-tensors' per-tensor sums (recorded) and Quanta's: both sum the
    /// same float32 values in float64, so only the order of additions differs.
    static let fixtureRelativeTolerance = 1e-6
    /// Token ids the fixture's logits are computed for.
    static let tokens = [5, 87, 256, 104, 33, 257, 12, 99]
    /// The cases the fixture records.
    static let fixtureCases: [CompressedTensorsExportTests.Case] = [
        .int4GroupSymmetric, .uint4GroupAsymmetric, .int8Channel, .uint8ChannelAsymmetric, .fp8Channel,
    ]

    struct ReadReport: Decodable {
        struct TensorEntry: Decodable {
            var dtype: String
            var shape: [Int]
        }
        struct Layer: Decodable {
            var format: String
            var codes: [Double]
            var zero_points: [Int]
            var sum: Double
        }
        var tensors: [String: TensorEntry]
        var layers: [String: Layer]
    }

    @Test(
        .enabled(
            if: hasSafetensors || GGUFInterop.isRequired,
            "python3 with safetensors and numpy not found (scripts/install-deps.sh)"),
        arguments: CompressedTensorsExportTests.Case.allCases)
    func safetensorsWithNumpyReadsNamesDtypesShapesAndCodes(_ choice: CompressedTensorsExportTests.Case) throws {
        try #require(Self.hasSafetensors, "python3 cannot import safetensors and numpy: run scripts/install-deps.sh")
        let model = try ExportFixtures.quantizedModel(try choice.scheme)
        let (directory, _) = try CompressedTensorsExportTests.export(model)
        let report = try JSONDecoder().decode(
            ReadReport.self, from: try GGUFInterop.python([Self.readerPath, directory]))
        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        #expect(Set(report.tensors.keys) == Set(file.names))
        for name in file.names {
            let info = try file.info(name)
            #expect(
                report.tensors[name]?.dtype == info.elementType.rawValue && report.tensors[name]?.shape == info.shape,
                "\(name)")
        }
        #expect(report.layers.count == 15)
        for linear in model.linearLayers {
            let stored = try #require(linear.quantizedWeight)
            let layer = try #require(report.layers[linear.name], "\(linear.name) not read as quantized")
            #expect(layer.format == choice.format)
            let ours: [Double]
            if stored.scheme.dataType == .fp8_e4m3 {
                let format = try MiniFloatFormat(dataType: .fp8_e4m3)
                ours = stored.codes.map { Double(format.decode($0)) }
            } else {
                let shift = CompressedTensorsSchemeMapping.codeShift(stored.scheme.dataType)
                ours = CompressedTensorsExport.shiftedCodes(stored, by: shift).map(Double.init)
                if !stored.scheme.isSymmetric {
                    #expect(
                        layer.zero_points == stored.parameters!.zeroPoints.map { Int($0 - shift) }, "\(linear.name)")
                }
            }
            #expect(layer.codes == ours, "\(linear.name): the codes numpy unpacks differ from Quanta's")
            let sum = linear.weight.scalars.reduce(0.0) { $0 + Double($1) }
            #expect(abs(layer.sum - sum) <= Self.sumTolerance, "\(linear.name): numpy \(layer.sum), Quanta \(sum)")
        }
    }

    /// The fixture scripts/interop/compressed_tensors_check.py wrote.
    struct Fixture: Decodable {
        struct Case: Decodable {
            struct TensorCheck: Decodable {
                var sum: Double
                var max_abs_difference: Double
            }
            var tensors: [String: TensorCheck]
            var transformers: Logits?
        }
        struct Logits: Decodable {
            var argmax: [Int]
            var row_sums: [Double]
            var max_abs_difference: Double
        }
        var compressed_tensors_version: String
        var command: String
        var cases: [String: Case]
    }

    /// compressed-tensors' `ModelCompressor` decompressed the same exports to the weights Quanta computes with
    /// (recorded max |difference| 0), and transformers ran them to Quanta's logits.
    @Test(arguments: fixtureCases)
    func compressedTensorsDecompressesToQuantasWeights(_ choice: CompressedTensorsExportTests.Case) throws {
        let fixture = try JSONDecoder().decode(
            Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixturePath)))
        let recorded = try #require(fixture.cases[choice.rawValue], "fixture has no case \(choice.rawValue)")
        let (directory, _) = try CompressedTensorsExportTests.export(
            try ExportFixtures.quantizedModel(try choice.scheme))
        let model = try CompressedTensorsReadBack.load(directory)
        #expect(recorded.tensors.count == 15)
        for linear in model.linearLayers {
            let check = try #require(recorded.tensors[linear.name + ".weight"], "\(linear.name)")
            #expect(
                check.max_abs_difference == 0,
                "\(linear.name): compressed-tensors differs by \(check.max_abs_difference)")
            let sum = linear.weight.scalars.reduce(0.0) { $0 + Double($1) }
            let scale = max(linear.weight.scalars.reduce(0.0) { $0 + abs(Double($1)) }, 1e-30)
            #expect(
                abs(sum - check.sum) / scale <= Self.fixtureRelativeTolerance,
                "\(linear.name): compressed-tensors \(check.sum), Quanta \(sum)")
        }
        if let logits = recorded.transformers {
            let ours = try GGUFReadBack.logits(model, Self.tokens)
            let vocabulary = model.configuration.vocabularySize
            #expect(logits.argmax.count == Self.tokens.count)
            for position in 0..<Self.tokens.count {
                let row = Array(ours[(position * vocabulary)..<((position + 1) * vocabulary)])
                #expect(row.firstIndex(of: row.max()!)! == logits.argmax[position], "position \(position)")
                let sum = row.reduce(0.0) { $0 + Double($1) }
                #expect(abs(sum - logits.row_sums[position]) <= 1e-3 * max(1, abs(sum)), "position \(position)")
            }
            #expect(logits.max_abs_difference < 1e-3)
        }
    }

    /// Writes the exports the hand-run script checks: `DIR/CASE/` (the compressed-tensors folder, float32 floats),
    /// `DIR/CASE/quanta_dequantized.safetensors` (Quanta's weights) and `DIR/CASE/quanta_logits.json`. Runs only when
    /// QUANTA_CT_INTEROP_DIR is set (scripts/interop/compressed_tensors_check.py sets it).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["QUANTA_CT_INTEROP_DIR"] != nil))
    func writeTheExportsTheScriptChecks() throws {
        let root = ProcessInfo.processInfo.environment["QUANTA_CT_INTEROP_DIR"]!
        for choice in Self.fixtureCases {
            let model = try ExportFixtures.quantizedModel(try choice.scheme)
            let directory = root + "/" + choice.rawValue
            _ = try CompressedTensorsExport.export(
                try ExportFixtures.loaded(model), to: directory, configuration: .init(floatType: .f32, overwrite: true))
            var writer = SafetensorsWriter()
            for linear in model.linearLayers { writer.add(linear.name + ".weight", linear.weight) }
            try writer.write(to: directory + "/quanta_dequantized.safetensors")
            let logits = try GGUFReadBack.logits(model, Self.tokens)
            let object: [String: Any] = ["tokens": Self.tokens, "logits": logits.map(Double.init)]
            try JSONSerialization.data(withJSONObject: object).write(
                to: URL(fileURLWithPath: directory + "/quanta_logits.json"))
        }
    }
}
