import QuantCore

extension PackedMatmul {
    /// Plain Swift reference of `run`: the same math element by element, in the kernels' order of operations
    /// (integer modes: per group an exact integer sum Σ q·w, then `scale[g] · sum` (+ `offset[g] · Σ q`) in float, times
    /// the activation scale at the end; float mode: per group Σ x·code, then `scale[g] · sum` (+ `offset[g] · Σ x`)).
    /// FP8 weights with int8 activations use the fake-quantized activations in the float formula.
    /// - Parameters: `input`: `[rows, inFeatures]`; `output`: `[rows, outFeatures]`, overwritten.
    public static func reference(
        _ weight: PackedWeight, activation: PackedActivation, input: UnsafePointer<Float>, rows: Int,
        output: UnsafeMutablePointer<Float>
    ) {
        let columns = weight.inFeatures
        var quantized = [Int32](repeating: 0, count: columns)
        var rowValues = [Float](repeating: 0, count: columns)
        for row in 0..<rows {
            let x = input + row * columns
            let y = output + row * weight.outFeatures
            if !activation.isInteger {
                for column in 0..<columns { rowValues[column] = x[column] }
                referenceFloatRow(weight, rowValues, y)
                continue
            }
            let scale = quantizeActivationRowReference(x, count: columns, activation: activation, into: &quantized)
            if weight.format == .fp8e4m3 {
                for column in 0..<columns { rowValues[column] = Float(quantized[column]) * scale }
                referenceFloatRow(weight, rowValues, y)
                continue
            }
            for out in 0..<weight.outFeatures {
                var total: Float = 0
                for group in 0..<weight.groupCount {
                    var product: Int32 = 0
                    var codeSum: Int32 = 0
                    for column in (group * weight.groupSize)..<min(columns, (group + 1) * weight.groupSize) {
                        let raw = weight.code(row: out, column: column)
                        let w = weight.format == .int8 ? Int32(Int8(bitPattern: raw)) : Int32(raw)
                        product += quantized[column] * w
                        codeSum += quantized[column]
                    }
                    total += weight.scale(row: out, group: group) * Float(product)
                    if weight.format == .uint4 { total += weight.offset(row: out, group: group) * Float(codeSum) }
                }
                y[out] = total * scale
            }
        }
    }

    /// One row of the float formula: y[out] = Σ_g scale · Σ x·code (+ offset · Σ x).
    static func referenceFloatRow(_ weight: PackedWeight, _ x: [Float], _ y: UnsafeMutablePointer<Float>) {
        for out in 0..<weight.outFeatures {
            var total: Float = 0
            for group in 0..<weight.groupCount {
                var dot: Float = 0
                var sum: Float = 0
                for column in (group * weight.groupSize)..<min(weight.inFeatures, (group + 1) * weight.groupSize) {
                    dot += x[column] * weight.codeValue(row: out, column: column)
                    sum += x[column]
                }
                total += weight.scale(row: out, group: group) * dot
                if weight.format == .uint4 { total += weight.offset(row: out, group: group) * sum }
            }
            y[out] = total
        }
    }

    /// Quantizes one activation row as `TensorQuantizer.fakeQuantizeRows` does for the int8 modes and writes the codes
    /// relative to the zero point (q − z, so x̂ = (q − z) · s); returns s.
    static func quantizeActivationRowReference(
        _ x: UnsafePointer<Float>, count: Int, activation: PackedActivation, into codes: inout [Int32]
    ) -> Float {
        let scale: Float
        let zeroPoint: Int32
        switch activation {
        case .float:
            preconditionFailure("float activations have no codes")
        case .int8PerToken:
            var amax: Float = 0
            for i in 0..<count { amax = max(amax, abs(x[i])) }
            scale = max(amax / 127.5, QuantParameters.scaleEpsilon)
            zeroPoint = 0
        case let .int8Static(s, z):
            scale = s
            zeroPoint = z
        }
        let inverse = 1 / scale
        let lower = Float(-128 - zeroPoint), upper = Float(127 - zeroPoint)
        for i in 0..<count {
            codes[i] = Int32(min(max(x[i] * inverse, lower), upper).rounded(.toNearestOrEven))
        }
        return scale
    }
}
