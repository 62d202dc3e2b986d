import Foundation

/// The error measures of the quantization debugger (AMD Quark's four relative errors, plus MSE and SQNR), on flat
/// buffers of equal length. Sums are kept in double precision.
public enum ErrorMetrics {
    /// ε in the relative error's denominator: keeps exact zeros in the reference finite without hiding the error of
    /// any value above ~1e-4 (activations and weights of 8-bit and 4-bit formats have steps far above that).
    public static let epsilon: Double = 1e-6

    /// mean(|value − reference| / (|reference| + ε)), Quark's relative error; 0 for empty buffers.
    public static func relativeError(
        _ value: UnsafeBufferPointer<Float>, reference: UnsafeBufferPointer<Float>, epsilon: Double = epsilon
    ) -> Double {
        precondition(value.count == reference.count)
        guard !value.isEmpty else { return 0 }
        var total = 0.0
        for i in 0..<value.count {
            let r = Double(reference[i])
            total += abs(Double(value[i]) - r) / (abs(r) + epsilon)
        }
        return total / Double(value.count)
    }

    /// mean((value − reference)²); 0 for empty buffers.
    public static func meanSquaredError(_ value: UnsafeBufferPointer<Float>, reference: UnsafeBufferPointer<Float>)
        -> Double
    {
        precondition(value.count == reference.count)
        guard !value.isEmpty else { return 0 }
        var total = 0.0
        for i in 0..<value.count {
            let d = Double(value[i]) - Double(reference[i])
            total += d * d
        }
        return total / Double(value.count)
    }

    /// Signal-to-quantization-noise ratio 10·log10(Σ reference² / Σ (value − reference)²) in dB; +∞ when the
    /// two are equal (no noise), −∞ when the reference is all zero but the value is not.
    public static func sqnrDecibels(_ value: UnsafeBufferPointer<Float>, reference: UnsafeBufferPointer<Float>)
        -> Double
    {
        precondition(value.count == reference.count)
        var signal = 0.0, noise = 0.0
        for i in 0..<value.count {
            let r = Double(reference[i])
            let d = Double(value[i]) - r
            signal += r * r
            noise += d * d
        }
        if noise == 0 { return .infinity }
        if signal == 0 { return -.infinity }
        return 10 * log10(signal / noise)
    }

    /// Array conveniences for the three measures above.
    public static func relativeError(_ value: [Float], reference: [Float], epsilon: Double = epsilon) -> Double {
        value.withUnsafeBufferPointer { v in
            reference.withUnsafeBufferPointer { relativeError(v, reference: $0, epsilon: epsilon) }
        }
    }

    public static func meanSquaredError(_ value: [Float], reference: [Float]) -> Double {
        value.withUnsafeBufferPointer { v in reference.withUnsafeBufferPointer { meanSquaredError(v, reference: $0) } }
    }

    public static func sqnrDecibels(_ value: [Float], reference: [Float]) -> Double {
        value.withUnsafeBufferPointer { v in reference.withUnsafeBufferPointer { sqnrDecibels(v, reference: $0) } }
    }
}
