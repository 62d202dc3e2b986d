import Testing
import TensorCore

/// The vectorized non-finite scan agrees with the plain reference wherever the bad value sits (first lane, chunk
/// boundaries, the scalar tail), for NaN, both infinities and signalling NaN, and finds nothing in finite data
/// that includes the largest floats and subnormals.
@Suite struct FiniteScanTests {
    static let length = 3 * 4096 + 37

    static func finiteValues(count: Int) -> [Float] {
        (0..<count).map { index in
            switch index % 5 {
            case 0: .greatestFiniteMagnitude
            case 1: -.greatestFiniteMagnitude
            case 2: .leastNonzeroMagnitude
            default: Float(index) * 0.5 - 100
            }
        }
    }

    @Test(arguments: [0, 1, 15, 16, 4095, 4096, 4097, 8191, 12_288, length - 1])
    func findsTheFirstBadValueWhereverItIs(position: Int) {
        for bad: Float in [.nan, .infinity, -.infinity, .signalingNaN] {
            var values = Self.finiteValues(count: Self.length)
            values[position] = bad
            if position + 100 < values.count { values[position + 100] = .nan }
            let fast = Tensor(shape: [values.count], scalars: values).firstNonFiniteIndex()
            let reference = values.withUnsafeBufferPointer { FiniteScan.firstNonFiniteReference($0) }
            #expect(fast == position, "bad value \(bad) at \(position): found \(String(describing: fast))")
            #expect(fast == reference)
        }
    }

    @Test(arguments: [0, 1, 17, 4096, length])
    func finiteDataHasNoBadValue(count: Int) {
        let tensor = Tensor(shape: [count], scalars: Self.finiteValues(count: count))
        #expect(tensor.firstNonFiniteIndex() == nil)
    }
}
