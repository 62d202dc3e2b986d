import Foundation
import ONNXProto

/// Collects the nodes and initializers of one ONNX graph (onnx.proto `GraphProto`) in the order they are added, with
/// unique value names and shared constants.
struct ONNXGraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var counts: [String: Int] = [:]
    private var constants: [String: String] = [:]

    /// An attribute of a node.
    enum Attribute {
        case int(String, Int)
        case ints(String, [Int])
        case float(String, Float)

        var proto: Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            switch self {
            case let .int(name, value):
                a.name = name
                a.type = .int
                a.i = Int64(value)
            case let .ints(name, values):
                a.name = name
                a.type = .ints
                a.ints = values.map(Int64.init)
            case let .float(name, value):
                a.name = name
                a.type = .float
                a.f = value
            }
            return a
        }
    }

    /// A fresh value name `scope/op_N`.
    mutating func uniqueName(_ scope: String, _ op: String) -> String {
        let key = scope + "/" + op
        let index = counts[key, default: 0]
        counts[key] = index + 1
        return index == 0 ? key : "\(key)_\(index)"
    }

    /// Adds one node and returns its outputs (`outputCount` fresh names unless `outputs` names them).
    @discardableResult
    mutating func add(
        _ op: String, _ inputs: [String], scope: String, outputs: [String]? = nil, outputCount: Int = 1,
        domain: String = "", attributes: [Attribute] = []
    ) -> [String] {
        let name = uniqueName(scope, op)
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = name
        node.input = inputs
        node.output =
            outputs ?? (outputCount == 1 ? [name + "_output"] : (0..<outputCount).map { "\(name)_output_\($0)" })
        if !domain.isEmpty { node.domain = domain }
        node.attribute = attributes.map(\.proto)
        nodes.append(node)
        return node.output
    }

    /// Adds a one-output node and returns its output.
    mutating func op(
        _ op: String, _ inputs: [String], scope: String, output: String? = nil, attributes: [Attribute] = []
    ) -> String {
        add(op, inputs, scope: scope, outputs: output.map { [$0] }, attributes: attributes)[0]
    }

    /// Adds an initializer (its name must be unique).
    mutating func addInitializer(_ tensor: Onnx_TensorProto) {
        initializers.append(tensor)
    }

    /// A shared int64 constant: a scalar when `shape` is `[]`, else a vector.
    mutating func int64s(_ values: [Int], shape: [Int]? = nil) -> String {
        let dims = shape ?? [values.count]
        let key = "i64 \(dims) \(values)"
        if let name = constants[key] { return name }
        let name = "const/int64_\(constants.count)"
        addInitializer(ONNXTensorData.int64(name: name, shape: dims, values: values.map(Int64.init)))
        constants[key] = name
        return name
    }

    /// A shared float32 scalar constant.
    mutating func float(_ value: Float) -> String {
        let key = "f32 \(value.bitPattern)"
        if let name = constants[key] { return name }
        let name = "const/float_\(constants.count)"
        addInitializer(ONNXTensorData.float(name: name, shape: [], values: [value]))
        constants[key] = name
        return name
    }
}
