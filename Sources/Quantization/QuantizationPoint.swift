import Inference

/// Where in the model a quantizer sits: a linear layer's input or output, or one block's keys or values.
public struct QuantizationPoint: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable { case input, output, keys, values }
    /// Linear layer name, or `model.layers.N.self_attn` for the KV cache.
    public let layer: String
    public let kind: Kind

    public init(layer: String, kind: Kind) {
        self.layer = layer
        self.kind = kind
    }

    /// The KV-cache point of block `index`.
    public static func keyValue(_ index: Int, _ kind: Kind) -> QuantizationPoint {
        QuantizationPoint(layer: "model.layers.\(index).self_attn", kind: kind)
    }

    public var description: String { "\(layer).\(kind.rawValue)" }

    public static func < (a: Self, b: Self) -> Bool { (a.layer, a.kind.rawValue) < (b.layer, b.kind.rawValue) }
}

/// Forward hooks that observe per `QuantizationPoint`: the engine's callbacks become one `visit` per point, with the
/// values the point's quantizer would see (a linear's input and output before quantization, new keys and values).
public protocol PointHooks: ForwardHooks {
    /// `data: [rows, columns]` at `point`.
    func visit(_ point: QuantizationPoint, _ data: UnsafePointer<Float>, rows: Int, columns: Int)
}

extension PointHooks {
    public func linearInput(_ layer: String, _ input: UnsafePointer<Float>, rows: Int, columns: Int) {
        visit(QuantizationPoint(layer: layer, kind: .input), input, rows: rows, columns: columns)
    }

    public func linearOutput(_ layer: String, _ output: UnsafePointer<Float>, rows: Int, columns: Int) {
        visit(QuantizationPoint(layer: layer, kind: .output), output, rows: rows, columns: columns)
    }

    public func keyValue(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rows: Int, width: Int) {
        visit(.keyValue(layer, .keys), keys, rows: rows, columns: width)
        visit(.keyValue(layer, .values), values, rows: rows, columns: width)
    }
}
