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
