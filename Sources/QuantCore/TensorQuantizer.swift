import TensorCore

/// One entry point for every format: quantizes weights to their stored form, and fake-quantizes (quantize then
/// dequantize) weights and activations, dispatching to the integer (`AffineQuantizer`), FP8 (`MiniFloatFormat` with
/// a scale), OCP MX (`MXBlockCodec`) and float-cast (`FloatCast`) paths.
public enum TensorQuantizer {
    /// Quantizes `tensor` under `scheme`; `parameters` are static (calibrated) ones, else they come from the tensor.
    /// - Throws: `QuantError` for NaN/infinite input or a scheme that does not fit the shape.
    public static func quantize(_ tensor: Tensor, scheme: QuantScheme, parameters: QuantParameters? = nil) throws(QuantError) -> QuantizedTensor {
        let type = scheme.dataType
        if type.isInteger {
            let given = parameters
            let parameters: QuantParameters
            if let given {
                parameters = given
            } else {
                parameters = try weightParameters(for: tensor, scheme: scheme)
            }
            let codes = try AffineQuantizer.quantize(tensor, parameters: parameters, scheme: scheme)
            return QuantizedTensor(scheme: scheme, shape: tensor.shape, codes: BitPacking.pack(codes, bitWidth: type.bitWidth),
                                   parameters: parameters, blockScales: [])
        }
        try requireFinite(tensor.scalars, context: "quantize \(type.rawValue)")
        if type.isFloatCast {
            var bytes = [UInt8]()
            bytes.reserveCapacity(tensor.elementCount * 2)
            for value in tensor.scalars {
                let bits = type == .bfloat16 ? BFloat16(value).bitPattern : Float16(value).bitPattern
                bytes.append(UInt8(truncatingIfNeeded: bits))
                bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            }
            return QuantizedTensor(scheme: scheme, shape: tensor.shape, codes: bytes, parameters: nil, blockScales: [])
        }
        if type.isMicroscaling {
            let codec = try MXBlockCodec(dataType: type, scaleMode: scheme.scaleMode)
            let rowLength = tensor.shape.last ?? 1
            var scales: [UInt8] = [], codes: [Int32] = []
            codes.reserveCapacity(tensor.elementCount)
            tensor.scalars.withUnsafeBufferPointer { values in
                for start in stride(from: 0, to: values.count, by: rowLength) {
                    let row = codec.quantize(row: UnsafeBufferPointer(rebasing: values[start..<(start + rowLength)]))
                    scales += row.scales
                    codes += row.codes.map { Int32($0) }
                }
            }
            return QuantizedTensor(scheme: scheme, shape: tensor.shape, codes: BitPacking.pack(codes, bitWidth: type.bitWidth),
                                   parameters: nil, blockScales: scales)
        }
        let format = try MiniFloatFormat(dataType: type)
        let given = parameters
        let parameters: QuantParameters
        if let given {
            parameters = given
        } else {
            parameters = try AffineQuantizer.parameters(for: tensor, scheme: scheme, formatMaximum: format.maxFinite)
        }
        let layout = try parameters.layout(for: tensor.shape, scheme: scheme)
        let codes = tensor.scalars.indices.map { index in
            format.encode(tensor.scalars[index] / parameters.scales[layout.parameterIndex(ofElement: index)])
        }
        return QuantizedTensor(scheme: scheme, shape: tensor.shape, codes: codes, parameters: parameters, blockScales: [])
    }

    /// Integer parameters computed from a weight itself: min/max per slot, or the searched range of
    /// `WeightRangeSearch` when the scheme's observer is `mse`.
    public static func weightParameters(for tensor: Tensor, scheme: QuantScheme) throws(QuantError) -> QuantParameters {
        scheme.observer == .mse
            ? try WeightRangeSearch.parameters(for: tensor, scheme: scheme)
            : try AffineQuantizer.parameters(for: tensor, scheme: scheme)
    }

    /// Quantize-dequantize of a weight (or any tensor), with parameters from the tensor unless given.
    public static func fakeQuantize(_ tensor: Tensor, scheme: QuantScheme, parameters: QuantParameters? = nil) throws(QuantError) -> Tensor {
        if scheme.dataType.isInteger {
            if let parameters { return try AffineQuantizer.fakeQuantize(tensor, parameters: parameters, scheme: scheme) }
            if scheme.observer == .mse {
                return try AffineQuantizer.fakeQuantize(
                    tensor, parameters: try WeightRangeSearch.parameters(for: tensor, scheme: scheme), scheme: scheme)
            }
            return try AffineQuantizer.fakeQuantize(tensor, scheme: scheme)
        }
        if scheme.dataType.isFloatCast || scheme.dataType.isMicroscaling {
            var copy = tensor
            try copy.scalars.withUnsafeMutableBufferPointer { buffer throws(QuantError) in
                try fakeQuantizeRows(buffer.baseAddress!, rows: tensor.elementCount / max(tensor.shape.last ?? 1, 1),
                                     columns: tensor.shape.last ?? 1, scheme: scheme, parameters: nil)
            }
            return copy
        }
        return try quantize(tensor, scheme: scheme, parameters: parameters).dequantized()
    }

    /// In-place fake quantization of activations `data: [rows, columns]`: static when `parameters` are given,
    /// dynamic (from the data, per the scheme's granularity) otherwise.
    public static func fakeQuantizeRows(
        _ data: UnsafeMutablePointer<Float>, rows: Int, columns: Int, scheme: QuantScheme, parameters: QuantParameters?
    ) throws(QuantError) {
        let type = scheme.dataType
        let count = rows * columns
        if type.isInteger {
            if let parameters {
                try AffineQuantizer.fakeQuantizeRows(data, rows: rows, columns: columns, parameters: parameters, scheme: scheme)
            } else {
                try AffineQuantizer.fakeQuantizeRows(data, rows: rows, columns: columns, scheme: scheme)
            }
            return
        }
        let buffer = UnsafeMutableBufferPointer(start: data, count: count)
        try requireFinite(UnsafeBufferPointer(buffer), context: "activation \(type.rawValue)")
        if type.isFloatCast {
            try FloatCast.roundTrip(buffer, to: type)
            return
        }
        if type.isMicroscaling {
            var values = Array(buffer)
            try MXBlockCodec(dataType: type, scaleMode: scheme.scaleMode).quantizeDequantize(&values, rowLength: columns)
            _ = buffer.update(from: values)
            return
        }
        // FP8 with a scale, in place: the same encode(x / scale) and decode(code) · scale as quantize + dequantized,
        // without building a stored tensor on the forward pass.
        let format = try MiniFloatFormat(dataType: type)
        let given = parameters
        let resolved: QuantParameters
        if let given {
            resolved = given
        } else {
            resolved = try AffineQuantizer.parameters(
                for: Tensor(shape: [rows, columns], scalars: Array(buffer)), scheme: scheme, formatMaximum: format.maxFinite)
        }
        let layout = try resolved.layout(for: [rows, columns], scheme: scheme)
        for index in 0..<count {
            let scale = resolved.scales[layout.parameterIndex(ofElement: index)]
            buffer[index] = format.decode(format.encode(buffer[index] / scale)) * scale
        }
    }

    static func requireFinite(_ values: some Collection<Float>, context: String) throws(QuantError) {
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteInput("\(context): element \(values.distance(from: values.startIndex, to: index)) is \(values[index])")
        }
    }
}
