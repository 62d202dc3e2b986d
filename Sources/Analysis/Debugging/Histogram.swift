/// Counts of values in equal-width bins over `[lower, upper]` (the last bin includes `upper`).
public struct Histogram: Codable, Sendable, Equatable {
    public var lower: Float
    public var upper: Float
    public var counts: [Int]

    /// Bins `values` into `binCount` bins over `range` (values outside it go to the end bins); over the values' own
    /// extrema when `range` is nil. Non-finite values are not counted.
    public init(_ values: UnsafeBufferPointer<Float>, binCount: Int, range: ClosedRange<Float>? = nil) {
        precondition(binCount > 0)
        let bounds = range ?? Histogram.extrema(values) ?? 0...0
        lower = bounds.lowerBound
        upper = bounds.upperBound
        counts = [Int](repeating: 0, count: binCount)
        let width = upper - lower
        let perUnit = width > 0 ? Float(binCount) / width : 0
        let last = binCount - 1
        counts.withUnsafeMutableBufferPointer { counts in
            for x in values where x.isFinite {
                let bin = Int(((x - lower) * perUnit).rounded(.down))
                counts[min(max(bin, 0), last)] += 1
            }
        }
    }

    public init(_ values: [Float], binCount: Int, range: ClosedRange<Float>? = nil) {
        self = values.withUnsafeBufferPointer { Histogram($0, binCount: binCount, range: range) }
    }

    /// Width of one bin.
    public var binWidth: Float { (upper - lower) / Float(counts.count) }

    /// Smallest and largest finite value, nil when there is none.
    public static func extrema(_ values: UnsafeBufferPointer<Float>) -> ClosedRange<Float>? {
        var low = Float.infinity, high = -Float.infinity
        for x in values where x.isFinite {
            low = min(low, x)
            high = max(high, x)
        }
        return low <= high ? low...high : nil
    }
}
