import Testing
import TensorCore
import TestSupport
@testable import QuantAlgorithms
import QuantCore

@Suite struct ActivationStatisticsTests {
    static func data(rows: Int, columns: Int, seed: UInt64) -> [Float] {
        Fixtures.uniform(count: rows * columns, seed: seed)
    }

    @Test(arguments: [(1, 1), (7, 3), (40, 130), (9, 257)])
    func gramIsXTransposeX(rows: Int, columns: Int) throws {
        let x = Self.data(rows: rows, columns: columns, seed: 3)
        var statistics = ActivationStatistics(columns: columns, collectsGram: true)
        try statistics.accumulate(x, rows: rows)
        let gram = statistics.gram()
        var largest: Float = 0
        for i in 0..<columns {
            for j in 0..<columns {
                var expected: Float = 0
                for r in 0..<rows { expected += x[r * columns + i] * x[r * columns + j] }
                largest = max(largest, abs(gram.scalars[i * columns + j] - expected))
            }
        }
        #expect(largest < 1e-4, "largest difference \(largest)")
        #expect(statistics.absMax == (0..<columns).map { j in (0..<rows).map { abs(x[$0 * columns + j]) }.max()! })
    }

    @Test func accumulatingInChunksEqualsOnePass() throws {
        let rows = 50, columns = 150
        let x = Self.data(rows: rows, columns: columns, seed: 5)
        var whole = ActivationStatistics(columns: columns, collectsGram: true)
        try whole.accumulate(x, rows: rows)
        var parts = ActivationStatistics(columns: columns, collectsGram: true)
        try x.withUnsafeBufferPointer { p in
            try parts.accumulate(p.baseAddress!, rows: 20)
            try parts.accumulate(p.baseAddress! + 20 * columns, rows: 30)
        }
        #expect(parts.rowCount == 50)
        #expect(Tolerance.maxAbsDifference(parts.gram().scalars, whole.gram().scalars) < 1e-4)
        #expect(Tolerance.maxAbsDifference(parts.absMean, whole.absMean) < 1e-6)
    }

    @Test func dividingColumnsMatchesStatisticsOfTheScaledData() throws {
        let rows = 30, columns = 20
        let x = Self.data(rows: rows, columns: columns, seed: 8)
        let s = (0..<columns).map { Float(1 + $0 % 5) * 0.5 }
        var scaled = x
        for r in 0..<rows { for j in 0..<columns { scaled[r * columns + j] /= s[j] } }
        var divided = ActivationStatistics(columns: columns, collectsGram: true)
        try divided.accumulate(x, rows: rows)
        divided.divideColumns(by: s)
        var direct = ActivationStatistics(columns: columns, collectsGram: true)
        try direct.accumulate(scaled, rows: rows)
        #expect(Tolerance.maxAbsDifference(divided.gram().scalars, direct.gram().scalars) < 1e-5)
        #expect(Tolerance.maxAbsDifference(divided.absMax, direct.absMax) < 1e-6)
        #expect(Tolerance.maxAbsDifference(divided.absMean, direct.absMean) < 1e-6)
    }

    @Test func nonFiniteActivationsAreRejected() {
        var statistics = ActivationStatistics(columns: 2, collectsGram: false)
        #expect(throws: QuantError.nonFiniteInput("activation row 1, column 0 is nan")) {
            try statistics.accumulate([1, 2, .nan, 3], rows: 2)
        }
    }
}
