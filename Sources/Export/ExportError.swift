import ModelFormats

/// Why a model cannot be exported. Messages name the layer (and how many more share the problem), what is in the
/// way and the nearest GGML type; they never name a command-line flag (the CLI adds its own hint).
public enum ExportError: Error, Equatable, CustomStringConvertible {
    /// A weight's scheme has no GGML type that holds its codes exactly. `nearest` is the type a conversion from the
    /// dequantized weights would use.
    case inexpressibleScheme(layer: String, moreLayers: Int, scheme: String, reason: String, nearest: GGMLType)
    /// Activation or KV-cache quantizers, which llama.cpp does not run (it keeps activations in float and quantizes
    /// them itself, per block of 32, for its dot products).
    case activationQuantization(point: String, morePoints: Int)
    /// An online input transform (rotation's online Hadamard) that llama.cpp cannot apply.
    case onlineTransform(layer: String, moreLayers: Int, dimension: Int, nearest: GGMLType)
    /// The output exists and may not be replaced.
    case outputExists(path: String)
    /// A model this exporter cannot describe (architecture, tokenizer, shapes).
    case unsupportedModel(String)
    /// A requested GGML type this exporter does not write.
    case unsupportedType(GGMLType)
    /// Something compressed-tensors cannot express exactly: a weight scheme, an activation or KV-cache quantizer, an
    /// online rotation. `place` is the layer (or quantization point).
    case notCompressedTensors(place: String, morePlaces: Int, reason: String)
    /// A weight scheme or activation quantizer with no exact ONNX form (`what` says which kind, `reason` why).
    case onnxInexpressible(point: String, morePoints: Int, what: String, reason: String)
    /// An ONNX file that cannot be read back: not ONNX protobuf, truncated, or not a graph this exporter writes.
    case unreadableONNX(file: String, reason: String)

    public var description: String {
        switch self {
        case let .inexpressibleScheme(layer, more, scheme, reason, nearest):
            "\(layer)\(Self.others(more, "layer")): weight scheme \(scheme) has no GGML type that holds its codes exactly "
                + "(\(reason)); the nearest GGML type is \(nearest.name), which means re-quantizing from the dequantized "
                + "weights and costs accuracy"
        case let .activationQuantization(point, more):
            "\(point)\(Self.others(more, "point")): quantized activations or KV cache; llama.cpp keeps activations in "
                + "float (quantizing them itself per block of 32 for its dot products), so the exported model would "
                + "compute a different function; exporting anyway drops these quantizers"
        case let .onlineTransform(layer, more, dimension, nearest):
            "\(layer)\(Self.others(more, "layer")): rotates its input online (randomized Hadamard of order \(dimension)), "
                + "which llama.cpp cannot run; quantize with rotation's online Hadamard off "
                + "(`online_down_projection: false` in the rotation step), or fold the rotation into the dequantized "
                + "weight and re-quantize it (nearest GGML type \(nearest.name); costs accuracy)"
        case let .outputExists(path):
            "\(path) already exists"
        case let .unsupportedModel(reason):
            "cannot export this model to GGUF: \(reason)"
        case let .notCompressedTensors(place, more, reason):
            "\(place)\(Self.others(more, "place")): compressed-tensors cannot hold this exactly: \(reason)"
        case let .onnxInexpressible(point, more, what, reason):
            "\(point)\(Self.others(more, "point")): the \(what) has no exact ONNX form: \(reason)"
        case let .unreadableONNX(file, reason):
            "\(file): not an ONNX model Quanta can read: \(reason)"
        case let .unsupportedType(type):
            "the GGUF exporter does not write \(type.name); it writes \(GGUFExport.writableTypes.map(\.name).joined(separator: ", "))"
        }
    }

    private static func others(_ count: Int, _ noun: String) -> String {
        count == 0 ? "" : " (and \(count) more \(noun)\(count == 1 ? "" : "s"))"
    }
}
