import TensorCore

/// Plain per-element versions of the kernels, written straight from PyTorch's formulas (round, then clamp, with the
/// parameter slot looked up per element), kept to test the fast paths against.
extension AffineQuantizer {
    /// Reference for `fakeQuantize(_:parameters:scheme:)`.
    static func fakeQuantizeReference(
        _ tensor: Tensor, parameters: QuantParameters, scheme: QuantScheme
    ) throws(QuantError) -> Tensor {
        let codes = try quantizeReference(tensor, parameters: parameters, scheme: scheme)
        let layout = try parameters.layout(for: tensor.shape, scheme: scheme)
        var values = [Float](repeating: 0, count: codes.count)
        for i in codes.indices {
            let slot = layout.parameterIndex(ofElement: i)
            values[i] = Float(Int(codes[i]) - Int(parameters.zeroPoints[slot])) * parameters.scales[slot]
        }
        return Tensor(shape: tensor.shape, scalars: values)
    }

    /// Reference for `quantize(_:parameters:scheme:)`.
    static func quantizeReference(
        _ tensor: Tensor, parameters: QuantParameters, scheme: QuantScheme
    ) throws(QuantError) -> [Int32] {
        let layout = try parameters.layout(for: tensor.shape, scheme: scheme)
        let (qmin, qmax) = scheme.integerRange
        var codes = [Int32](repeating: 0, count: tensor.elementCount)
        for (i, x) in tensor.scalars.enumerated() {
            guard x.isFinite else { throw .nonFiniteInput("reference: element \(i) is \(x)") }
            let slot = layout.parameterIndex(ofElement: i)
            let inverse = 1 / parameters.scales[slot]
            let scaled = x * inverse
            let rounded: Float =
                switch scheme.rounding {
                case .halfToEven: scaled.rounded(.toNearestOrEven)
                case .halfAwayFromZero: scaled.rounded(.toNearestOrAwayFromZero)
                case .floor: scaled.rounded(.down)
                }
            // Bounded before the integer conversion only to avoid a trap; any value past ±2³⁰ clamps anyway.
            let bound: Float = 1_073_741_824
            let code = Int(max(min(rounded, bound), -bound)) + Int(parameters.zeroPoints[slot])
            codes[i] = Int32(min(max(code, qmin), qmax))
        }
        return codes
    }

    /// Reference for `parameters(for:scheme:)`: gathers each slot's extrema element by element.
    static func parametersReference(
        for tensor: Tensor, scheme: QuantScheme, formatMaximum: Float? = nil
    ) throws(QuantError) -> QuantParameters {
        let layout = try ParameterLayout(
            granularity: scheme.granularity, axis: scheme.axis, groupSize: scheme.groupSize, shape: tensor.shape)
        var minimum = [Float](repeating: .infinity, count: layout.parameterCount)
        var maximum = [Float](repeating: -.infinity, count: layout.parameterCount)
        for (i, x) in tensor.scalars.enumerated() {
            let slot = layout.parameterIndex(ofElement: i)
            minimum[slot] = min(minimum[slot], x)
            maximum[slot] = max(maximum[slot], x)
        }
        // Slots without elements (empty tensors) have the range [0, 0].
        for slot in minimum.indices where minimum[slot] > maximum[slot] {
            minimum[slot] = 0
            maximum[slot] = 0
        }
        return try QuantParameters.compute(
            minimum: minimum, maximum: maximum, scheme: scheme, shape: tensor.shape, formatMaximum: formatMaximum)
    }
}
