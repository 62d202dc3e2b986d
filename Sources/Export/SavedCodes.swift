import QuantCore

/// A quantized weight's saved integer codes with the parameter slot (scale and zero point) of each element: what
/// every GGML block conversion reads, whatever block layout it writes.
struct SavedCodes {
    let parameters: QuantParameters
    let codes: [Int32]
    let rows: Int
    let rowLength: Int
    /// The scheme's smallest code.
    let qmin: Int32
    private let groupSize: Int
    private let groupsPerRow: Int

    /// - Throws: `ExportError.unsupportedModel` naming the layer when the weight has no integer parameters.
    init(_ quantized: QuantizedTensor, name: String) throws(ExportError) {
        let scheme = quantized.scheme
        guard let parameters = quantized.parameters, scheme.dataType.isInteger else {
            throw .unsupportedModel("\(name): \(scheme.dataType.rawValue) weight without integer parameters")
        }
        self.parameters = parameters
        rowLength = quantized.shape.last ?? 1
        rows = quantized.elementCount / max(rowLength, 1)
        codes = BitPacking.unpack(
            quantized.codes, count: quantized.elementCount, bitWidth: scheme.dataType.bitWidth,
            isSigned: !scheme.dataType.isUnsigned)
        qmin = Int32(scheme.integerRange.minimum)
        groupSize = parameters.groupSize ?? rowLength
        groupsPerRow = (rowLength + groupSize - 1) / groupSize
    }

    /// The parameter slot of the element at `row`, `column`.
    func slot(_ row: Int, _ column: Int) -> Int {
        switch parameters.granularity {
        case .perTensor: 0
        case .perChannel: row
        default: row * groupsPerRow + column / groupSize
        }
    }
}
