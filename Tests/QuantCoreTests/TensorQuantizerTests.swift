import QuantCore
import TensorCore
import Testing
import TestSupport

@Suite struct TensorQuantizerTests {
    /// The in-place activation path must give exactly what storing and dequantizing gives.
    @Test(arguments: [QuantDataType.fp8_e4m3, .fp8_e5m2, .int8, .mxfp4_e2m1, .bfloat16])
    func inPlaceRowsEqualQuantizeThenDequantize(type: QuantDataType) throws {
        let granularity: QuantScheme.Granularity = type.isMicroscaling ? .perBlock : .perTensor
        let scheme = try QuantScheme(dataType: type, granularity: granularity)
        let tensor = Tensor(shape: [3, 70], scalars: Fixtures.uniform(count: 210, seed: 9, scale: 5))
        let expected = try TensorQuantizer.quantize(tensor, scheme: scheme).dequantized()
        var rows = tensor.scalars
        try rows.withUnsafeMutableBufferPointer { buffer throws(QuantError) in
            try TensorQuantizer.fakeQuantizeRows(buffer.baseAddress!, rows: 3, columns: 70, scheme: scheme, parameters: nil)
        }
        #expect(rows == expected.scalars)
        #expect(rows != tensor.scalars)
    }
}
