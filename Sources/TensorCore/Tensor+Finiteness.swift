/// Finding NaN and infinite values: a model loader scans every weight once, so the scan is vectorized.
extension Tensor {
    /// Index of the first NaN or ±infinity in `scalars`, nil when every element is finite.
    public func firstNonFiniteIndex() -> Int? {
        scalars.withUnsafeBufferPointer { FiniteScan.firstNonFinite($0) }
    }
}

/// The vectorized scan behind `Tensor.firstNonFiniteIndex()` and its plain reference.
public enum FiniteScan {
    /// Elements checked between two looks at the accumulator (small enough to stay in cache for the rescan).
    static let chunkLength = 4096

    /// Index of the first NaN or ±infinity in `values`, nil when all are finite.
    ///
    /// `x − x` is 0 for a finite `x` and NaN for NaN and ±infinity, and a NaN stays NaN through additions, so one
    /// subtract and one add per element (16 lanes at a time) flag a chunk; only a flagged chunk is searched element by
    /// element.
    public static func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
        guard let base = values.baseAddress else { return nil }
        let count = values.count
        var start = 0
        while start < count {
            let end = min(count, start + chunkLength)
            var accumulator = SIMD16<Float>(repeating: 0)
            var index = start
            let raw = UnsafeRawPointer(base)
            while index + 16 <= end {
                let v = raw.loadUnaligned(fromByteOffset: index * 4, as: SIMD16<Float>.self)
                accumulator += v - v
                index += 16
            }
            var tail: Float = 0
            while index < end {
                tail += base[index] - base[index]
                index += 1
            }
            if !(accumulator.sum() + tail).isFinite {
                if let found = firstNonFiniteReference(UnsafeBufferPointer(rebasing: values[start..<end])) {
                    return start + found
                }
            }
            start = end
        }
        return nil
    }

    /// Plain reference: the first index whose value is not finite.
    public static func firstNonFiniteReference(_ values: UnsafeBufferPointer<Float>) -> Int? {
        values.firstIndex { !$0.isFinite }
    }
}
