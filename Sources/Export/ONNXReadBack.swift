import Foundation
import Inference
import ONNXProto
import SwiftProtobuf
import TensorCore

/// Reads the weights of an ONNX file `ONNXExport` wrote back into Hugging Face names and shapes: float initializers
/// as they are, DequantizeLinear weights dequantized by ONNX's formula `(q − zero_point) · scale` (per tensor, per
/// axis or blocked, evaluated here independently of QuantCore), linear weights transposed back to `[out, in]`; the
/// Llama configuration comes from the model's metadata. Every length, offset and shape is checked against the file.
public enum ONNXReadBack {
    /// The configuration and canonical tensors of the model at `path` (the tied LM head left out).
    /// - Throws: `ExportError.unreadableONNX` naming the file and what is wrong (not protobuf, truncated, a missing
    ///   or inconsistent tensor, a missing external data file).
    public static func read(_ path: String) throws(ExportError) -> (
        configuration: LlamaConfiguration, tensors: [String: Tensor]
    ) {
        func fail(_ reason: String) -> ExportError { .unreadableONNX(file: path, reason: reason) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw fail("cannot read it: \(error.localizedDescription)")
        }
        guard !data.isEmpty else { throw fail("the file is empty") }
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw fail("malformed or truncated protobuf (\(error)) in \(data.count) bytes")
        }
        guard model.hasGraph, model.irVersion > 0, !model.opsetImport.isEmpty else {
            throw fail("no graph, IR version or opset (\(data.count) bytes decoded; truncated?)")
        }
        guard let json = model.metadataProps.first(where: { $0.key == ONNXExport.configurationKey })?.value else {
            throw fail("no \(ONNXExport.configurationKey) metadata (not written by Quanta's exporter)")
        }
        let configuration: LlamaConfiguration
        do { configuration = try JSONDecoder().decode(LlamaConfiguration.self, from: Data(json.utf8)) } catch {
            throw fail("metadata \(ONNXExport.configurationKey): \(error)")
        }
        var reader = ONNXTensorReader(path: path, graph: model.graph)
        let c = configuration
        var tensors: [String: Tensor] = [:]
        tensors["model.embed_tokens.weight"] = try reader.floatTensor("model.embed_tokens.weight")
        tensors["model.norm.weight"] = try reader.floatTensor("model.norm.weight")
        var linears: [String] = []
        for layer in 0..<c.layerCount {
            let p = "model.layers.\(layer)"
            for norm in ["input_layernorm", "post_attention_layernorm"] {
                tensors["\(p).\(norm).weight"] = try reader.floatTensor("\(p).\(norm).weight")
            }
            linears += ["q_proj", "k_proj", "v_proj", "o_proj"].map { "\(p).self_attn.\($0)" }
            linears += ["gate_proj", "up_proj", "down_proj"].map { "\(p).mlp.\($0)" }
        }
        // A tied head is a Transpose of the embedding; an untied or quantized one is a weight of its own.
        if reader.producer("lm_head.weight")?.opType != "Transpose" { linears.append("lm_head") }
        for name in linears {
            let weight = try reader.weight(name + ".weight")
            guard weight.shape.count == 2 else { throw fail("\(name).weight has shape \(weight.shape), not 2-D") }
            tensors[name + ".weight"] = transpose(weight)
            if reader.hasInitializer(name + ".bias") {
                tensors[name + ".bias"] = try reader.floatTensor(name + ".bias")
            }
        }
        return (configuration, tensors)
    }

    /// The model read back.
    /// - Throws: `ExportError.unreadableONNX`, or `ModelError` when the tensors do not make a Llama model.
    public static func model(_ path: String) throws -> LlamaModel {
        let (configuration, tensors) = try read(path)
        return try LlamaModel(configuration: configuration, tensors: tensors)
    }

    static func transpose(_ t: Tensor) -> Tensor {
        let (rows, columns) = (t.shape[0], t.shape[1])
        var out = [Float](repeating: 0, count: t.elementCount)
        for r in 0..<rows {
            for col in 0..<columns { out[col * rows + r] = t.scalars[r * columns + col] }
        }
        return Tensor(shape: [columns, rows], scalars: out)
    }
}
