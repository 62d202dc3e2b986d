import TensorCore
import Testing

@testable import QuantCore

@Suite struct ObserverTests {
    static let int8 = try! QuantScheme(dataType: .int8)

    func accumulate<O: Observer>(_ observer: inout O, _ values: [Float]) throws {
        try values.withUnsafeBufferPointer { buffer in try observer.accumulate(buffer) }
    }

    /// Mean squared error of fake-quantizing `values` with the parameters of `range` under `scheme`.
    func meanSquaredError(_ values: [Float], range: (minimum: Float, maximum: Float), scheme: QuantScheme) throws
        -> Double
    {
        let p = try QuantParameters.compute(minimum: [range.minimum], maximum: [range.maximum], scheme: scheme)
        let x = Tensor(shape: [values.count], scalars: values)
        let y = try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: scheme)
        var total = 0.0
        for i in values.indices { total += Double(values[i] - y.scalars[i]) * Double(values[i] - y.scalars[i]) }
        return total / Double(values.count)
    }

    @Test func minMaxTracksExtremaAcrossBatches() throws {
        var observer = MinMaxObserver()
        try accumulate(&observer, [1, -2, 3])
        try accumulate(&observer, [])
        try accumulate(&observer, [0.5, 7])
        #expect(try observer.range() == (-2, 7))
        #expect(try observer.channelRanges() == ([-2], [7]))
        // Positive-only data keeps its true minimum (0 is added later, by QuantParameters.compute).
        var positive = MinMaxObserver()
        try accumulate(&positive, [3, 4, 5])
        #expect(try positive.range() == (3, 5))
    }

    @Test func minMaxPerChannel() throws {
        var features = MinMaxObserver(channels: 3)
        try accumulate(&features, [1, -1, 5, 2, -3, 4])  // rows [1, −1, 5], [2, −3, 4]
        try accumulate(&features, [0, 0, 6])
        #expect(try features.channelRanges() == ([0, -3, 4], [2, 0, 6]))
        #expect(try features.range() == (-3, 6))
        // A weight [2, 3] per output channel: channel stride 3.
        var rows = MinMaxObserver(channels: 2)
        try [Float](arrayLiteral: 1, -1, 5, 2, -3, 4).withUnsafeBufferPointer { b in
            try rows.accumulate(b, channelStride: 3)
        }
        #expect(try rows.channelRanges() == ([-1, -3], [5, 4]))
        // The ranges turn into per-channel parameters along the scheme's axis, usable for any number of rows.
        let scheme = try QuantScheme(dataType: .int8, granularity: .perChannel, axis: 1)
        let p = try features.parameters(scheme: scheme)
        #expect(p.shape == [1, 3])
        #expect(p.scales == [Float(2) / 127.5, Float(3) / 127.5, Float(6) / 127.5])
        let activation = Tensor(shape: [4, 3], scalars: AffineTestData.wave(count: 12))
        #expect(try AffineQuantizer.fakeQuantize(activation, parameters: p, scheme: scheme).shape == [4, 3])
        #expect(
            throws: QuantError.shapeMismatch(
                "MinMaxObserver: batch 2 has 4 values, not a multiple of 3 channels × stride 1")
        ) {
            try accumulate(&features, [1, 2, 3, 4])
        }
    }

    @Test func movingAverageFollowsThePyTorchRecurrence() throws {
        var observer = MovingAverageMinMaxObserver(momentum: 0.5)
        try accumulate(&observer, [-1, 0.25, 1])
        #expect(try observer.range() == (-1, 1))
        try accumulate(&observer, [-3, 5])
        #expect(try observer.range() == (-2, 3))  // −1 + 0.5·(−3 + 1), 1 + 0.5·(5 − 1)
        try accumulate(&observer, [0, 1])
        #expect(try observer.range() == (-1, 2))
        var perChannel = MovingAverageMinMaxObserver(momentum: 0.25, channels: 2)
        try accumulate(&perChannel, [0, 4, -4, 0])
        try accumulate(&perChannel, [4, 8, 4, 8])
        // Channel 0: [−4, 0] then [4, 4]; channel 1: [0, 4] then [8, 8].
        #expect(try perChannel.channelRanges() == ([-2, 2], [1, 5]))
    }

    @Test func percentileOfOneToAThousand() throws {
        let values = (1...1000).map(Float.init)
        var observer = PercentileObserver(percentile: 99)
        try accumulate(&observer, values)
        let threshold = try observer.threshold()
        // Nearest rank: 990; the histogram answer is within one bin (≤ 2 · 1000 / 4096).
        #expect(abs(threshold - 990) <= 2 * 1000 / 4096, "threshold \(threshold)")
        #expect(try observer.range() == (1, threshold))
        // The same values in batches whose range grows give exactly the same histogram (power-of-two merging).
        var batched = PercentileObserver(percentile: 99)
        try accumulate(&batched, Array(values[0..<10]))
        try accumulate(&batched, Array(values[10..<100]))
        try accumulate(&batched, Array(values[100...]))
        #expect(try batched.threshold() == threshold)
        var full = PercentileObserver(percentile: 100)
        try accumulate(&full, values.map { -$0 })
        #expect(try full.range() == (-1000, -1))
    }

    @Test func mseClipsAHugeOutlierAndBeatsMinMax() throws {
        var values = AffineTestData.gaussian(count: 100_000, seed: 7)
        values[123] = 200
        let scheme = Self.int8
        var mse = try MSEObserver(scheme: scheme)
        var minMax = MinMaxObserver()
        for start in stride(from: 0, to: values.count, by: 25_000) {
            let batch = Array(values[start..<(start + 25_000)])
            try accumulate(&mse, batch)
            try accumulate(&minMax, batch)
        }
        let full = try minMax.range()
        let clipped = try mse.range()
        #expect(clipped.minimum > full.minimum && clipped.maximum < full.maximum, "MSE range \(clipped) vs \(full)")
        let mseError = try meanSquaredError(values, range: clipped, scheme: scheme)
        let minMaxError = try meanSquaredError(values, range: full, scheme: scheme)
        #expect(mseError < minMaxError, "MSE \(mseError) vs MinMax \(minMaxError)")
        // Without outliers there is little to gain: the range stays near the full one.
        var plain = try MSEObserver(scheme: try QuantScheme(dataType: .int8, isSymmetric: false))
        let uniform = AffineTestData.uniform(count: 20_000, seed: 3)
        try accumulate(&plain, uniform)
        let kept = try plain.range()
        #expect(kept.maximum > 0.9 * uniform.max()!, "uniform data kept \(kept)")
    }

    @Test func mseAnalyticErrorMatchesDirectEvaluation() throws {
        // The histogram integral estimates the true MSE of the data within a few percent.
        let values = AffineTestData.gaussian(count: 50_000, seed: 11)
        let scheme = try QuantScheme(dataType: .int4, isSymmetric: false)
        var mse = try MSEObserver(scheme: scheme)
        try accumulate(&mse, values)
        for alpha: Float in [0.3, 0.6, 1] {
            let range = (alpha * values.min()!, alpha * values.max()!)
            let estimate = mse.expectedSquaredError(minimum: range.0, maximum: range.1)
            let direct = try meanSquaredError(values, range: range, scheme: scheme)
            #expect(abs(estimate - direct) <= 0.03 * direct, "α \(alpha): estimate \(estimate) vs direct \(direct)")
        }
    }

    @Test func histogramKLClipsAnOutlierHeavyDistribution() throws {
        var values = AffineTestData.gaussian(count: 60_000, seed: 5)
        for i in stride(from: 0, to: 60_000, by: 3_000) { values[i] = i % 6_000 == 0 ? 40 : -40 }
        var observer = try HistogramObserver(scheme: Self.int8)
        // Range grows between batches: the first holds no outlier.
        try accumulate(&observer, Array(values[1..<30_000]))
        try accumulate(&observer, Array(values[30_000...] + [values[0]]))
        let threshold = try observer.threshold()
        #expect(threshold < 40 && threshold > 2, "KL threshold \(threshold)")
        let range = try observer.range()
        #expect(range == (-threshold, threshold))
        // Growing the range between batches gives the same histogram, hence the same threshold, as one batch.
        var single = try HistogramObserver(scheme: Self.int8)
        try accumulate(&single, Array(values[1..<30_000] + values[30_000...] + [values[0]]))
        #expect(try single.threshold() == threshold)
    }

    @Test func histogramKLKeepsMostOfAUniformRange() throws {
        var observer = try HistogramObserver(scheme: Self.int8, bins: 2048)
        let values = AffineTestData.uniform(count: 100_000, seed: 9)
        try accumulate(&observer, values)
        let threshold = try observer.threshold()
        #expect(threshold > 0.9 * values.map(abs).max()!, "threshold \(threshold)")
    }

    @Test func hybridFollowsMsModelSlimsRule() throws {
        // Moderate tails (max|x| / std ≈ 4): the histogram decides.
        var moderate = try HybridObserver(scheme: Self.int8)
        var moderateValues = AffineTestData.gaussian(count: 40_000, seed: 2)
        moderateValues[9] = 6
        try accumulate(&moderate, moderateValues)
        #expect(try moderate.rangeRatio() < 50)
        #expect(try moderate.usesHistogram())
        var histogram = try HistogramObserver(scheme: Self.int8)
        try accumulate(&histogram, moderateValues)
        #expect(try moderate.range() == histogram.range())
        // A massive activation (1000σ): MinMax keeps it.
        var massive = try HybridObserver(scheme: Self.int8)
        var massiveValues = AffineTestData.gaussian(count: 40_000, seed: 2)
        massiveValues[17] = 1000
        try accumulate(&massive, massiveValues)
        #expect(try massive.rangeRatio() > 50)
        #expect(try !massive.usesHistogram())
        #expect(try massive.range() == (massiveValues.min()!, 1000))
    }

    @Test func emptyCalibrationThrows() throws {
        let schemes = ObserverKind.methodNames.map { name -> QuantScheme in
            var scheme = Self.int8
            scheme.observer = try! ObserverKind.make(name, momentum: nil, percentile: nil, bins: nil)
            return scheme
        }
        let expected = [
            "MinMaxObserver", "MovingAverageMinMaxObserver", "PercentileObserver", "MSEObserver",
            "HistogramObserver", "HybridObserver",
        ]
        for (scheme, name) in zip(schemes, expected) {
            var observer = try makeObserver(for: scheme)
            #expect(throws: QuantError.noCalibrationData("\(name) saw no values in 0 batches")) { try observer.range() }
            try [Float]().withUnsafeBufferPointer { b in try observer.accumulate(b) }
            #expect(throws: QuantError.noCalibrationData("\(name) saw no values in 1 batches")) { try observer.range() }
        }
    }

    @Test func nonFiniteBatchesThrowAndLeaveTheObserverUnchanged() throws {
        for kind in [
            ObserverKind.minMax, .movingAverageMinMax(momentum: 0.1), .percentile(99), .mse, .histogramKL(bins: 256),
            .hybrid(bins: 256),
        ] {
            var scheme = Self.int8
            scheme.observer = kind
            var observer = try makeObserver(for: scheme)
            try [Float](arrayLiteral: -1, 2).withUnsafeBufferPointer { b in try observer.accumulate(b) }
            let before = try observer.range()
            let name = String(describing: type(of: observer))
            #expect(throws: QuantError.nonFiniteInput("\(name): batch 1, element 2 is nan")) {
                try [Float](arrayLiteral: 0, 1, .nan).withUnsafeBufferPointer { b in try observer.accumulate(b) }
            }
            #expect(throws: QuantError.nonFiniteInput("\(name): batch 2, element 0 is inf")) {
                try [Float](arrayLiteral: .infinity, 1).withUnsafeBufferPointer { b in try observer.accumulate(b) }
            }
            #expect(try observer.range() == before)
        }
        var channels = MinMaxObserver(channels: 2)
        #expect(throws: QuantError.nonFiniteInput("MinMaxObserver: batch 0, element 3 is -inf")) {
            try [Float](arrayLiteral: 0, 1, 2, -.infinity).withUnsafeBufferPointer { b in try channels.accumulate(b) }
        }
    }

    @Test func factoryBuildsTheNamedObserver() throws {
        var scheme = Self.int8
        scheme.observer = .percentile(99.9)
        #expect(try makeObserver(for: scheme) is PercentileObserver)
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "observer",
                reason: "per-channel ranges are kept by minmax and moving_average only, not percentile(99.9)")
        ) {
            try makeObserver(for: scheme, channels: 4)
        }
        scheme.observer = .movingAverageMinMax(momentum: 0.2)
        let perChannel = try makeObserver(for: scheme, channels: 4)
        #expect(perChannel.channelCount == 4)
        #expect((perChannel as? MovingAverageMinMaxObserver)?.momentum == 0.2)
        var fp8 = try QuantScheme(dataType: .fp8_e4m3)
        fp8.observer = .mse
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "observer", reason: "MSE calibration needs an integer grid, not fp8_e4m3")
        ) {
            try makeObserver(for: fp8)
        }
        fp8.observer = .minMax
        var observer = try makeObserver(for: fp8)
        try observer.accumulate(Tensor(shape: [3], scalars: [-896, 1, 2]))
        #expect(try observer.parameters(scheme: fp8, formatMaximum: 448).scales == [2])
    }
}
