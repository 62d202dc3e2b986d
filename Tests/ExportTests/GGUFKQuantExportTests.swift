import Foundation
import Inference
import ModelFormats
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

@testable import Export

/// K-quant GGUF files: float weights through llama.cpp's reference quantizers, llama-quantize's fallback for rows that
/// are not whole super-blocks, saved codes carried under `requantizeType`, and Quanta's reader loading it all back.
@Suite struct GGUFKQuantExportTests {
    @Test(arguments: GGMLKQuantEncoder.blockTypes)
    func floatWeightsAreWrittenAsKQuantsAndReadBack(type: GGMLType) throws {
        let model = try ExportFixtures.floatModel(superBlockRows: true)
        let (path, report) = try GGUFExportTests.export(model, .init(floatWeightType: type))
        #expect(report.typeFallbacks.isEmpty, "\(report.typeFallbacks)")
        #expect(report.tensorTypes[type.name] == 16 && report.tensorTypes["F32"] == 5, "\(report.tensorTypes)")
        let file = try GGUFFile(path: path)
        #expect(try file.info("blk.1.ffn_down.weight").type == type)
        #expect(try file.info("token_embd.weight").type == type)
        // Quanta's reader decodes what the reference quantizer wrote, q/k rows back in Hugging Face order.
        let back = try GGUFReadBack.tensors(file, configuration: model.configuration)
        for linear in model.linearLayers {
            let stored = try #require(back[linear.name + ".weight"])
            let expected = GGMLKQuantTests.decode(
                type, GGMLReferenceQuantizer.encode(linear.weight, as: type), count: linear.weight.elementCount)
            #expect(stored.scalars == expected, "\(linear.name)")
            #expect(
                Tolerance.maxAbsDifference(stored.scalars, linear.weight.scalars)
                    <= report.floatConversion.maxAbsoluteChange)
        }
        // The model runs from the file.
        let logits = try GGUFReadBack.logits(
            try GGUFReadBack.model(path, configuration: model.configuration), GGUFExportTests.tokens)
        #expect(logits.allSatisfy { $0.isFinite })
    }

    @Test(arguments: [(GGMLType.q4_K, GGMLType.q5_0), (.q5_K, .q5_1), (.q6_K, .q8_0)])
    func rowsOfPartialSuperBlocksFallBackAsLlamaQuantize(type: GGMLType, fallback: GGMLType) throws {
        let model = try ExportFixtures.floatModel()  // rows of 64 and 128
        let (path, report) = try GGUFExportTests.export(model, .init(floatWeightType: type))
        #expect(report.typeFallbacks.count == 16)
        #expect(report.typeFallbacks["model.embed_tokens.weight"] == "\(type.name)→\(fallback.name)")
        #expect(try GGUFFile(path: path).info("blk.0.attn_q.weight").type == fallback)
        #expect(report.humanReadable.contains("16×\(type.name)→\(fallback.name)"))
    }

    /// Asking for a K-quant carries every layer whose codes fit it, exact-type layers included (a uint4 g32 scheme
    /// is exactly Q4_1; in Q4_K its scales become 6-bit multiples of each super-block's d).
    @Test(arguments: [(GGMLType.q4_K, 32, false), (.q5_K, 128, false), (.q6_K, 16, true)])
    func savedCodesAreCarriedIntoAKQuantAskedFor(type: GGMLType, groupSize: Int, symmetric: Bool) throws {
        let scheme = try ExportFixtures.int4(groupSize: groupSize, symmetric: symmetric)
        let model = try ExportFixtures.quantizedModel(scheme, superBlockRows: true)
        let (path, report) = try GGUFExportTests.export(model, .init(floatWeightType: .f32, requantizeType: type))
        #expect(report.codesCarriedLayers.count == 15 && report.requantizedLayers.isEmpty && report.layersFromCodes == 0)
        #expect(report.tensorTypes[type.name] == 15)
        #expect(report.humanReadable.contains("codes carried: 15 layers to \(type.name)"))
        #expect(report.kQuantScaleRounding.relativeRMSChange < 0.03, "\(report.kQuantScaleRounding)")
        let back = try GGUFReadBack.tensors(try GGUFFile(path: path), configuration: model.configuration)
        for linear in model.linearLayers {
            let stored = try #require(back[linear.name + ".weight"])
            #expect(
                Tolerance.maxAbsDifference(stored.scalars, linear.weight.scalars)
                    <= report.kQuantScaleRounding.maxAbsoluteChange * (1 + 1e-6), "\(linear.name)")
        }
    }

    @Test func layersAKQuantCannotCarryFollowTheTable() throws {
        // Rows of 64 are not super-blocks: an exact Q4_1 layer stays Q4_1 from its codes.
        let exact = try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: false))
        let (_, kept) = try GGUFExportTests.export(exact, .init(floatWeightType: .f32, requantizeType: .q4_K))
        #expect(kept.layersFromCodes == 15 && kept.codesCarriedLayers.isEmpty && kept.tensorTypes["Q4_1"] == 15)
        // Groups of 16 fit no 32-element block: refused without a conversion type, re-quantized from the dequantized
        // weights with one, and (rows of 64) in llama-quantize's fallback type for Q4_K.
        let refused = try ExportFixtures.quantizedModel(try ExportFixtures.int4(groupSize: 16, symmetric: false))
        #expect(throws: ExportError.self) { try GGUFExportTests.export(refused) }
        let (_, converted) = try GGUFExportTests.export(refused, .init(floatWeightType: .f32, requantizeType: .q4_K))
        #expect(converted.codesCarriedLayers.isEmpty && converted.requantizedLayers.count == 15)
        #expect(converted.tensorTypes["Q5_0"] == 15 && converted.typeFallbacks.count == 15)
    }
}
