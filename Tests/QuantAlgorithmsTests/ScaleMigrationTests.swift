import Foundation
import Testing
import Inference
import QuantCore
import TensorCore
import TestSupport
@testable import QuantAlgorithms

/// SmoothQuant and AWQ on a tiny Llama block whose norm-fed input has outlier channels.
@Suite struct ScaleMigrationTests {
    /// `[rows, width]` activations with three channels 30× larger than the rest.
    static func outlierInput(rows: Int, width: Int, seed: UInt64 = 4) -> Tensor {
        var x = Fixtures.uniform(count: rows * width, seed: seed)
        // Correlated channels, as real activations are.
        for r in 0..<rows {
            for j in 1..<width { x[r * width + j] = 0.6 * x[r * width + j] + 0.4 * x[r * width + j - 1] }
            for j in [2, 11, 19] where j < width { x[r * width + j] *= 30 }
        }
        return Tensor(shape: [rows, width], scalars: x)
    }

    static func statistics(_ x: Tensor, gram: Bool = true) throws -> ActivationStatistics {
        var s = ActivationStatistics(columns: x.shape[1], collectsGram: gram)
        try x.scalars.withUnsafeBufferPointer { try s.accumulate($0.baseAddress!, rows: x.shape[0]) }
        return s
    }

    static func relativeDifference(_ a: LlamaModel, _ b: LlamaModel) throws -> Float {
        let tokens = [1, 5, 9, 33, 2, 60, 7]
        let expected = try a.logits(for: tokens).scalars
        let actual = try b.logits(for: tokens).scalars
        return Tolerance.maxAbsDifference(actual, expected) / expected.map(abs).max()!
    }

    @Test func smoothingScalesFollowEquationFour() {
        let s = SmoothQuant.scales(activationAbsMax: [16, 1, 0, 4], weightAbsMax: [1, 4, 2, 0], alpha: 0.5)
        #expect(s == [4, 0.5, 1, 1])
        let strong = SmoothQuant.scales(activationAbsMax: [8], weightAbsMax: [2], alpha: 0.75)
        #expect(abs(strong[0] - Float(pow(8.0, 0.75) / pow(2.0, 0.25))) < 1e-5)
    }

    @Test(arguments: [false, true])
    func smoothQuantLeavesTheFloatModelUnchanged(search: Bool) throws {
        let model = TinyLlama.model()
        var smoothed = model
        let smoothQuant = SmoothQuant(try .init(alpha: 0.5, searchesAlpha: search))
        let scheme = try QuantScheme(dataType: .int8)
        for group in model.scaleGroups {
            let x = Self.outlierInput(rows: 64, width: group.consumerWidth)
            let (scales, result) = try smoothQuant.smooth(
                group, in: &smoothed.blocks[0], statistics: try Self.statistics(x, gram: false), sample: x,
                weightScheme: scheme, inputScheme: scheme)
            #expect(scales.count == group.channelCount)
            if !search { #expect(result.outlierRatioAfter < result.outlierRatioBefore, "\(group.name)") }
            if search { #expect(result.lossAfter! <= result.lossBefore!) }
        }
        let difference = try Self.relativeDifference(model, smoothed)
        #expect(difference < 1e-4, "relative logit difference \(difference)")
    }

    @Test func smoothQuantLowersW8A8ErrorOnOutlierChannels() throws {
        let model = TinyLlama.model()
        var block = model.blocks[0]
        let group = model.scaleGroups[0]
        let x = Self.outlierInput(rows: 128, width: group.consumerWidth)
        let scheme = try QuantScheme(dataType: .int8)
        let reference = SmoothQuant.outputs(of: group, block: block, input: x)
        let ones = [Float](repeating: 1, count: group.channelCount)
        let naive = try SmoothQuant.quantizedLoss(group, block: block, sample: x, scales: ones, reference: reference,
                                                  weightScheme: scheme, inputScheme: scheme)
        let (scales, _) = try SmoothQuant(try .init(alpha: 0.5)).smooth(
            group, in: &block, statistics: try Self.statistics(x, gram: false), sample: nil, weightScheme: scheme, inputScheme: scheme)
        let smoothed = try SmoothQuant.quantizedLoss(group, block: model.blocks[0], sample: x, scales: scales,
                                                     reference: reference, weightScheme: scheme, inputScheme: scheme)
        #expect(smoothed < naive * 0.5, "smoothed \(smoothed) vs naive \(naive)")
    }

    @Test func badSmoothQuantSettingsAreRejected() {
        #expect(throws: QuantError.invalidConfiguration(field: "smoothquant.alpha", reason: "must lie in [0, 1], got 1.5")) {
            _ = try SmoothQuant.Configuration(alpha: 1.5)
        }
    }

    @Test func awqScalesLeaveTheFloatModelUnchangedAndNeverRaiseTheLoss() throws {
        let model = TinyLlama.model()
        var scaled = model
        let awq = AWQ(try .init())
        let scheme = try QuantScheme(dataType: .uint4, granularity: .perGroup, groupSize: 16, isSymmetric: false)
        for group in model.scaleGroups {
            let x = Self.outlierInput(rows: 96, width: group.consumerWidth)
            let (_, result) = try awq.searchScales(group, in: &scaled.blocks[1], statistics: try Self.statistics(x), scheme: scheme)
            #expect(result.lossAfter <= result.lossBefore, "\(group.name)")
        }
        let difference = try Self.relativeDifference(model, scaled)
        #expect(difference < 1e-4, "relative logit difference \(difference)")
    }

    /// ‖X·Wᵀ − X·Q(W)ᵀ‖² measured directly on the data, not through the Gram proxy.
    static func directError(x: Tensor, weight: Tensor, quantized: Tensor) -> Double {
        let rows = x.shape[0], columns = x.shape[1], outputs = weight.shape[0]
        var total = 0.0
        for r in 0..<rows {
            for o in 0..<outputs {
                var d = 0.0
                for j in 0..<columns {
                    d += Double(x.scalars[r * columns + j]) * Double(weight.scalars[o * columns + j] - quantized.scalars[o * columns + j])
                }
                total += d * d
            }
        }
        return total
    }

    @Test(arguments: [16, 32])
    func awqBeatsRoundToNearestOnSalientChannels(groupSize: Int) throws {
        let model = TinyLlama.model()
        let group = model.scaleGroups[2]  // post_attention_layernorm → gate/up
        let scheme = try QuantScheme(dataType: .uint4, granularity: .perGroup, groupSize: groupSize, isSymmetric: false)
        let x = Self.outlierInput(rows: 96, width: group.consumerWidth, seed: 11)
        let original = model.blocks[0]
        var block = original
        let statistics = try Self.statistics(x)
        let awq = AWQ(try .init())
        let (scales, result) = try awq.searchScales(group, in: &block, statistics: statistics, scheme: scheme)
        #expect(result.ratio != nil)
        let expanded = group.consumerScales(scales)
        var awqError = 0.0, rtnError = 0.0
        for path in group.consumers {
            let w = original[keyPath: path].weight
            rtnError += Self.directError(x: x, weight: w, quantized: try TensorQuantizer.fakeQuantize(w, scheme: scheme))
            // The scaled weight sees x / s: fold 1/s back to compare on the original input.
            var effective = try TensorQuantizer.fakeQuantize(block[keyPath: path].weight, scheme: scheme)
            let columns = w.shape[1]
            for r in 0..<w.shape[0] { for j in 0..<columns { effective.scalars[r * columns + j] /= expanded[j] } }
            awqError += Self.directError(x: x, weight: w, quantized: effective)
        }
        #expect(awqError < rtnError, "AWQ \(awqError) vs RTN \(rtnError)")
    }

    @Test func clippingLowersTheOutputErrorAndOnlyShrinksRanges() throws {
        let model = TinyLlama.model()
        let weight = model.blocks[0].gateProjection.weight
        let x = Self.outlierInput(rows: 80, width: weight.shape[1], seed: 2)
        let statistics = try Self.statistics(x)
        let scheme = try QuantScheme(dataType: .uint4, granularity: .perGroup, groupSize: 16, isSymmetric: false)
        let (clipped, result) = try AWQ(try .init()).clip(weight, gram: statistics.gram(), rowCount: statistics.rowCount, scheme: scheme)
        #expect(result.lossAfter <= result.lossBefore)
        #expect(zip(clipped.scalars, weight.scalars).allSatisfy { abs($0) <= abs($1) })
        let before = Self.directError(x: x, weight: weight, quantized: try TensorQuantizer.fakeQuantize(weight, scheme: scheme))
        let after = Self.directError(x: x, weight: weight, quantized: try TensorQuantizer.fakeQuantize(clipped, scheme: scheme))
        #expect(after <= before * 1.0001, "clipped \(after) vs unclipped \(before)")
    }
}
