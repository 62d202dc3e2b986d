import Analysis
import Foundation
import Testing

/// The debugger's formulas against values computed by hand on tiny tensors.
@Suite struct ErrorMetricsTests {
    static let tolerance = 1e-9

    @Test func relativeErrorIsTheMeanOfAbsoluteOverReferenceMagnitude() {
        // |1−1|/1, |2−1|/1, |0−2|/2 → (0 + 1 + 1) / 3 with ε = 0.
        #expect(
            abs(ErrorMetrics.relativeError([1, 2, 0], reference: [1, 1, 2], epsilon: 0) - 2.0 / 3) < Self.tolerance)
        // The default ε keeps a zero reference finite: 0.5 / 1e-6.
        #expect(abs(ErrorMetrics.relativeError([0.5], reference: [0]) - 0.5 / ErrorMetrics.epsilon) < 1e-3)
        #expect(ErrorMetrics.relativeError([3, -4], reference: [3, -4]) == 0)
    }

    @Test func meanSquaredErrorAndSQNR() {
        #expect(abs(ErrorMetrics.meanSquaredError([1, 2, 3], reference: [1, 1, 1]) - 5.0 / 3) < Self.tolerance)
        // signal 3² + 4² = 25, noise 1² → 10·log10(25) dB.
        #expect(abs(ErrorMetrics.sqnrDecibels([3, 5], reference: [3, 4]) - 13.979400086720377) < 1e-9)
        #expect(ErrorMetrics.sqnrDecibels([3, 4], reference: [3, 4]) == .infinity)
        #expect(ErrorMetrics.sqnrDecibels([1, 0], reference: [0, 0]) == -.infinity)
    }

    @Test func quarksFourMetricsOnATwoByTwoActivation() {
        // Rows are tokens, columns channels. x is the quantized model's input, QDQ(x) its fake-quantized form, x_ref the
        // float model's input.
        let x: [Float] = [1, -2, 4, 0.5]
        let qdq: [Float] = [1, -2, 4, 0]
        let reference: [Float] = [1, -1, 4, 0.5]
        let s = x.withUnsafeBufferPointer { xb in
            qdq.withUnsafeBufferPointer { qb in
                reference.withUnsafeBufferPointer { rb in
                    InputErrorStatistics(
                        .init(input: xb, quantized: qb, reference: rb, rows: 2, columns: 2), histogramBins: 4)
                }
            }
        }
        let e = ErrorMetrics.epsilon
        // io: only the last element moves, 0.5 → 0: (0.5 / (0.5 + ε)) / 4.
        #expect(abs(s.ioError - 0.5 / (0.5 + e) / 4) < Self.tolerance)
        // ref input: only the second differs, −2 vs −1: (1 / (1 + ε)) / 4.
        #expect(abs(s.referenceInputError - 1 / (1 + e) / 4) < Self.tolerance)
        // ref output: both: (1 / (1 + ε) + 0.5 / (0.5 + ε)) / 4.
        #expect(abs(s.referenceOutputError - (1 / (1 + e) + 0.5 / (0.5 + e)) / 4) < Self.tolerance)
        // Per channel over tokens: (|1| + |4|)/2, (|−1| + |0.5|)/2; per token over channels: (1 + 1)/2, (4 + 0.5)/2.
        #expect(s.channelAbsMean == [2.5, 0.75])
        #expect(s.tokenAbsMean == [1, 2.25])
        #expect(s.topChannels == [0, 1])
        // range_parm = (4 − (−1)) / mean|x_ref| = 5 / 1.625.
        #expect(abs(s.rangeParameter - 5 / 1.625) < Self.tolerance)
        // SQNR of QDQ(x) against x_ref: signal 1 + 1 + 16 + 0.25, noise 1 + 0.25.
        #expect(abs(s.sqnrDecibels - 10 * log10(18.25 / 1.25)) < 1e-9)
        let h = try! #require(s.histograms)
        #expect(h.reference.counts.reduce(0, +) == 4 && h.input.lower == -2 && h.input.upper == 4)
    }

    @Test func weightStatisticsOnATwoByTwoWeight() {
        let s = WeightStatistics(
            layer: "w", weight: .init(shape: [2, 2], scalars: [1, -1, 3, 1]),
            dequantized: .init(shape: [2, 2], scalars: [1, -1, 2, 1]))
        #expect(s.minimum == -1 && s.maximum == 3 && s.absMax == 3 && s.mean == 1)
        // Deviations 0, −2, 2, 0: m2 = 2, m4 = 8, kurtosis m4/m2² = 2.
        #expect(abs(s.standardDeviation - 2.0.squareRoot()) < Self.tolerance)
        #expect(abs(s.kurtosis - 2) < Self.tolerance)
        #expect(s.outlierShare == 0)
        #expect(s.channelMinimums == [-1, 1] && s.channelMaximums == [1, 3])
        #expect(abs(s.meanSquaredError - 0.25) < Self.tolerance)
        #expect(abs(s.relativeError - (1 / (3 + ErrorMetrics.epsilon)) / 4) < Self.tolerance)
        #expect(abs(s.sqnrDecibels - 10 * log10(12.0)) < 1e-9)
    }

    @Test func outlierShareCountsValuesBeyondThreeSigma() {
        // 99 zeros and one 100: mean 1, m2 = (99·1 + 99²)/100 = 99, 3σ ≈ 29.8: only the 100 lies beyond it.
        let values = [Float](repeating: 0, count: 99) + [100]
        let s = WeightStatistics(
            layer: "w", weight: .init(shape: [10, 10], scalars: values),
            dequantized: .init(shape: [10, 10], scalars: values))
        #expect(abs(s.outlierShare - 0.01) < Self.tolerance)
        #expect(s.meanSquaredError == 0 && s.sqnrDecibels == .infinity)
    }

    @Test func spearmanRankCorrelation() throws {
        #expect(try #require(RankCorrelation.spearman([1, 2, 3, 4], [10, 20, 30, 40])) == 1)
        #expect(try #require(RankCorrelation.spearman([1, 2, 3, 4], [4, 3, 2, 1])) == -1)
        // Σd² = 4 over n = 5: ρ = 1 − 6·4 / (5·24) = 0.8.
        #expect(abs(try #require(RankCorrelation.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])) - 0.8) < Self.tolerance)
        #expect(RankCorrelation.ranks([1, 2, 2, 3]) == [1, 2.5, 2.5, 4])
        #expect(RankCorrelation.spearman([1, 1, 1], [1, 2, 3]) == nil)
    }

    @Test func histogramBinsAndClampsTheUpperEdge() {
        let h = Histogram([0, 0.5, 1, 1, .nan], binCount: 2, range: 0...1)
        #expect(h.counts == [1, 3])
        #expect(Histogram([2, 2], binCount: 3).counts == [2, 0, 0])
    }

    @Test func klDivergenceOfTwoTokenDistributions() {
        // P = (½, ½), Q = (¾, ¼): KL = ½ ln(½ / ¾) + ½ ln(½ / ¼).
        let reference = ReferenceDistribution(logits: .init(shape: [1, 2], scalars: [0, 0]))
        let (kl, top1) = reference.compare(.init(shape: [1, 2], scalars: [Float(log(3.0)), 0]))
        #expect(abs(kl - (0.5 * log(0.5 / 0.75) + 0.5 * log(2.0))) < 1e-6)
        #expect(top1 == 1)  // argmax of (0, 0) is the first, as is that of (ln 3, 0)
    }

    @Test(arguments: [1, 17, 37, 1031])
    func klDivergenceMatchesTheDirectFormula(vocabulary: Int) {
        let rows = 3
        let a = (0..<(rows * vocabulary)).map { Float(sin(Double($0) * 0.37)) * 3 }
        let b = (0..<(rows * vocabulary)).map { Float(cos(Double($0) * 0.11)) * 2 }
        let (kl, _) = ReferenceDistribution(logits: .init(shape: [rows, vocabulary], scalars: a))
            .compare(.init(shape: [rows, vocabulary], scalars: b))
        var expected = 0.0
        for r in 0..<rows {
            let x = a[(r * vocabulary)..<((r + 1) * vocabulary)].map(Double.init)
            let y = b[(r * vocabulary)..<((r + 1) * vocabulary)].map(Double.init)
            let zx = log(x.map { exp($0) }.reduce(0, +)), zy = log(y.map { exp($0) }.reduce(0, +))
            expected += zip(x, y).map { exp($0 - zx) * (($0 - zx) - ($1 - zy)) }.reduce(0, +)
        }
        expected /= Double(rows)
        #expect(abs(kl - expected) < 1e-5 * max(1, expected), "KL \(kl) vs \(expected)")
        #expect(
            ReferenceDistribution(logits: .init(shape: [rows, vocabulary], scalars: a)).compare(
                .init(shape: [rows, vocabulary], scalars: a)
            ).klDivergence < 1e-6)
    }
}
