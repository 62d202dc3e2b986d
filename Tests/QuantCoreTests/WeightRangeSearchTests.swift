import Foundation
import TensorCore
import Testing

@testable import QuantCore

@Suite struct WeightRangeSearchTests {
    static func gaussian(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let u = Float.random(in: Float.ulpOfOne..<1, using: &rng)
            let v = Float.random(in: 0..<1, using: &rng)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
    }

    static func squaredError(_ a: Tensor, _ b: Tensor, slots: Int, slotOf: (Int) -> Int) -> [Double] {
        var errors = [Double](repeating: 0, count: slots)
        for i in a.scalars.indices {
            let d = Double(a.scalars[i] - b.scalars[i])
            errors[slotOf(i)] += d * d
        }
        return errors
    }

    static let schemes: [QuantScheme] = [
        try! QuantScheme(dataType: .uint4, granularity: .perGroup, groupSize: 16, isSymmetric: false),
        try! QuantScheme(dataType: .int4, granularity: .perGroup, groupSize: 16),
        try! QuantScheme(dataType: .int8, granularity: .perChannel, axis: 0),
        try! QuantScheme(dataType: .int3, granularity: .perTensor),
        try! QuantScheme(dataType: .uint4, granularity: .perChannel, axis: 1, isSymmetric: false),
    ]

    /// Every slot's error is at most min/max's, and at least one slot of Gaussian weights is strictly better at
    /// 3–4 bits (clipping the extremes helps the bulk).
    @Test(arguments: schemes)
    func neverWorseThanMinMaxPerSlot(scheme: QuantScheme) throws {
        let w = Tensor(shape: [6, 40], scalars: Self.gaussian(240, seed: 7))  // groups of 16: 16, 16, 8 (ragged)
        let searched = try WeightRangeSearch.parameters(for: w, scheme: scheme)
        let plain = try AffineQuantizer.parameters(for: w, scheme: scheme)
        let layout = try ParameterLayout(searched, shape: w.shape)
        let a = Self.squaredError(
            try AffineQuantizer.fakeQuantize(w, parameters: searched, scheme: scheme), w,
            slots: layout.parameterCount, slotOf: layout.parameterIndex(ofElement:))
        let b = Self.squaredError(
            try AffineQuantizer.fakeQuantize(w, parameters: plain, scheme: scheme), w,
            slots: layout.parameterCount, slotOf: layout.parameterIndex(ofElement:))
        for slot in a.indices { #expect(a[slot] <= b[slot] * (1 + 1e-6), "slot \(slot)") }
        if scheme.dataType.bitWidth <= 4 { #expect(a.reduce(0, +) < 0.97 * b.reduce(0, +)) }
    }

    /// The chosen range is the best of the 80 shrink factors, checked by brute force on one slot.
    @Test func choosesTheBestShrinkFactor() throws {
        let scheme = try QuantScheme(dataType: .uint4, granularity: .perTensor, isSymmetric: false)
        var values = Self.gaussian(128, seed: 3)
        values[5] = 9  // one outlier: clipping it trades its error for a finer grid
        let w = Tensor(shape: [1, 128], scalars: values)
        let chosen = try WeightRangeSearch.parameters(for: w, scheme: scheme)
        let chosenError = Self.squaredError(
            try AffineQuantizer.fakeQuantize(w, parameters: chosen, scheme: scheme), w, slots: 1, slotOf: { _ in 0 })[0]
        let (low, high) = (values.min()!, values.max()!)
        var best = Double.infinity
        for k in 0..<80 {
            let alpha = 1 - Float(k) / 100
            let p = try QuantParameters.compute(minimum: [alpha * low], maximum: [alpha * high], scheme: scheme)
            let e = Self.squaredError(
                try AffineQuantizer.fakeQuantize(w, parameters: p, scheme: scheme), w, slots: 1, slotOf: { _ in 0 })[0]
            best = min(best, e)
        }
        #expect(abs(chosenError - best) <= 1e-6 * best)
        #expect(chosen.scales[0] < (high - low) / 15)
    }

    /// Values already on a min/max grid keep that grid (error 0; ties keep the widest range).
    @Test func exactGridIsKept() throws {
        let scheme = try QuantScheme(dataType: .uint4, granularity: .perTensor, isSymmetric: false)
        let w = Tensor(shape: [2, 8], scalars: (0..<16).map { Float($0) * 0.25 - 1 })
        let searched = try WeightRangeSearch.parameters(for: w, scheme: scheme)
        #expect(searched == (try AffineQuantizer.parameters(for: w, scheme: scheme)))
    }

    /// `observer: mse` on a weight scheme reaches quantize, fakeQuantize and the stored codes alike.
    @Test func tensorQuantizerUsesTheSearchForMSEWeights() throws {
        var scheme = try QuantScheme(dataType: .int4, granularity: .perGroup, groupSize: 16)
        scheme.observer = .mse
        let w = Tensor(shape: [4, 32], scalars: Self.gaussian(128, seed: 11))
        let stored = try TensorQuantizer.quantize(w, scheme: scheme)
        #expect(stored.parameters == (try WeightRangeSearch.parameters(for: w, scheme: scheme)))
        #expect(try TensorQuantizer.fakeQuantize(w, scheme: scheme) == stored.dequantized())
        scheme.observer = .minMax
        #expect(try TensorQuantizer.quantize(w, scheme: scheme).parameters != stored.parameters)
    }

    @Test func nonFiniteWeightIsNamed() throws {
        let scheme = try QuantScheme(dataType: .int4, granularity: .perGroup, groupSize: 4)
        let w = Tensor(shape: [2, 4], scalars: [0, 1, 2, 3, 4, .nan, 6, 7])
        #expect(throws: QuantError.self) { try WeightRangeSearch.parameters(for: w, scheme: scheme) }
    }
}
