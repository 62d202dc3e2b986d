import Foundation
import ONNXProto
import TensorCore

/// Resolves initializers (inline or external) and DequantizeLinear nodes over them.
struct ONNXTensorReader {
    let path: String
    private var initializers: [String: Onnx_TensorProto] = [:]
    private var producers: [String: Onnx_NodeProto] = [:]
    private var dataFiles: [String: Data] = [:]

    init(path: String, graph: Onnx_GraphProto) {
        self.path = path
        for tensor in graph.initializer { initializers[tensor.name] = tensor }
        for node in graph.node { for output in node.output { producers[output] = node } }
    }

    func fail(_ reason: String) -> ExportError { .unreadableONNX(file: path, reason: reason) }

    func producer(_ name: String) -> Onnx_NodeProto? { producers[name] }

    func hasInitializer(_ name: String) -> Bool { initializers[name] != nil }

    /// An initializer's element type, shape and raw bytes, its length checked against its shape.
    mutating func raw(_ name: String) throws(ExportError) -> (
        type: ONNXTensorData.ElementType, shape: [Int], bytes: Data
    ) {
        guard let tensor = initializers[name] else { throw fail("missing tensor \(name)") }
        guard let type = ONNXTensorData.ElementType(rawValue: tensor.dataType) else {
            throw fail("\(name): element type \(tensor.dataType) is not one this exporter writes")
        }
        var count = 1
        for dimension in tensor.dims {
            guard dimension >= 0 else { throw fail("\(name): negative dimension \(dimension)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dimension))
            guard !overflow else { throw fail("\(name): shape \(tensor.dims) overflows") }
            count = product
        }
        let expected = ONNXTensorData.byteCount(count: count, type: type)
        let bytes: Data
        if tensor.dataLocation == .external {
            bytes = try externalBytes(tensor)
        } else {
            bytes = tensor.rawData
        }
        guard bytes.count == expected else {
            throw fail(
                "\(name): \(bytes.count) bytes of data for shape \(tensor.dims) of \(type.name) (expected \(expected))")
        }
        return (type, tensor.dims.map { Int($0) }, bytes)
    }

    /// The bytes an external tensor points at, checked against its data file.
    mutating func externalBytes(_ tensor: Onnx_TensorProto) throws(ExportError) -> Data {
        var fields: [String: String] = [:]
        for entry in tensor.externalData { fields[entry.key] = entry.value }
        guard let location = fields["location"], !location.contains("/"), location != "..", !location.isEmpty else {
            throw fail(
                "\(tensor.name): external data location \(fields["location"] ?? "missing") is not a file beside the model"
            )
        }
        guard let offset = Int(fields["offset"] ?? "0"), let length = fields["length"].flatMap({ Int($0) }),
            offset >= 0, length >= 0
        else {
            throw fail("\(tensor.name): external data offset/length \(fields) are not non-negative integers")
        }
        let dataPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(location).path
        if dataFiles[location] == nil {
            do {
                dataFiles[location] = try Data(contentsOf: URL(fileURLWithPath: dataPath), options: .alwaysMapped)
            } catch {
                throw fail(
                    "\(tensor.name): external data file \(dataPath) cannot be read: \(error.localizedDescription)")
            }
        }
        let file = dataFiles[location]!
        guard offset <= file.count, length <= file.count - offset else {
            throw fail(
                "\(tensor.name): bytes \(offset)..<\(offset + length) lie past the end of \(location) (\(file.count) bytes)"
            )
        }
        return file.subdata(in: offset..<(offset + length))
    }

    /// A float32 initializer.
    mutating func floatTensor(_ name: String) throws(ExportError) -> Tensor {
        let (type, shape, bytes) = try raw(name)
        guard type == .float else { throw fail("\(name) is \(type.name), expected float") }
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for index in values.indices {
                values[index] = Float(
                    bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
            }
        }
        return Tensor(shape: shape, scalars: values)
    }

    /// A weight value: a float initializer, or the output of DequantizeLinear over initializers.
    mutating func weight(_ name: String) throws(ExportError) -> Tensor {
        if initializers[name] != nil { return try floatTensor(name) }
        guard let node = producers[name] else { throw fail("missing weight \(name)") }
        guard node.opType == "DequantizeLinear", node.input.count >= 2 else {
            throw fail("\(name) comes from \(node.opType), not DequantizeLinear")
        }
        return try dequantize(node, name: name)
    }

    /// ONNX DequantizeLinear (opset 21) on a 2-D tensor: y = (x − zero_point) · scale, the scale chosen per tensor
    /// (scalar), per `axis` (1-D) or per block of `block_size` along `axis` (same rank as x).
    mutating func dequantize(_ node: Onnx_NodeProto, name: String) throws(ExportError) -> Tensor {
        let (type, shape, bytes) = try raw(node.input[0])
        guard shape.count == 2, [.int4, .uint4, .int8, .uint8, .float8e4m3fn, .float8e5m2].contains(type) else {
            throw fail("\(name): DequantizeLinear of \(type.name) \(shape) (expected 2-D integer or float8 codes)")
        }
        let isFloat8 = type == .float8e4m3fn || type == .float8e5m2
        let scale = try floatTensor(node.input[1])
        var zeroPoints = [Int32](repeating: 0, count: scale.elementCount)
        if node.input.count > 2, !node.input[2].isEmpty {
            let (zpType, zpShape, zpBytes) = try raw(node.input[2])
            guard zpType == type, zpShape == scale.shape else {
                throw fail(
                    "\(name): zero point \(zpType.name) \(zpShape) does not match codes \(type.name) and scale \(scale.shape)"
                )
            }
            if isFloat8 {
                guard zpBytes.allSatisfy({ $0 == 0 }) else { throw fail("\(name): a float8 zero point other than +0") }
            } else {
                zeroPoints = ONNXTensorData.unpack(zpBytes, count: scale.elementCount, type: zpType)
            }
        }
        var axis = 1, blockSize = 0
        for attribute in node.attribute {
            if attribute.name == "axis" { axis = Int(attribute.i) }
            if attribute.name == "block_size" { blockSize = Int(attribute.i) }
        }
        if axis < 0 { axis += 2 }
        let (rows, columns) = (shape[0], shape[1])
        let codes = isFloat8 ? [] : ONNXTensorData.unpack(bytes, count: rows * columns, type: type)
        let float8Codes = isFloat8 ? [UInt8](bytes) : []
        let index: (Int, Int) -> Int
        switch scale.shape.count {
        case 0:
            index = { _, _ in 0 }
        case 1:
            guard axis == 0 || axis == 1, scale.shape[0] == shape[axis] else {
                throw fail("\(name): per-axis scale \(scale.shape) does not fit axis \(axis) of \(shape)")
            }
            index = axis == 0 ? { r, _ in r } : { _, c in c }
        case 2:
            guard blockSize > 0, axis == 0 || axis == 1 else {
                throw fail("\(name): 2-D scale \(scale.shape) without a positive block_size on axis 0 or 1")
            }
            let blocks = (shape[axis] + blockSize - 1) / blockSize
            let expected = axis == 0 ? [blocks, columns] : [rows, blocks]
            guard scale.shape == expected else {
                throw fail(
                    "\(name): blocked scale \(scale.shape) for \(shape) in blocks of \(blockSize) (expected \(expected))"
                )
            }
            let scaleColumns = scale.shape[1]
            index =
                axis == 0
                ? { r, c in (r / blockSize) * scaleColumns + c } : { r, c in r * scaleColumns + c / blockSize }
        default:
            throw fail("\(name): scale of rank \(scale.shape.count)")
        }
        var values = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns {
                let slot = index(r, c)
                values[r * columns + c] =
                    isFloat8
                    ? ONNXTensorData.float8Value(float8Codes[r * columns + c], type: type) * scale.scalars[slot]
                    : Float(codes[r * columns + c] - zeroPoints[slot]) * scale.scalars[slot]
            }
        }
        return Tensor(shape: shape, scalars: values)
    }
}
