import Foundation
import Inference
import ModelFormats
import ONNXProto
import Quantization
import SwiftProtobuf

/// Writes a model as an ONNX file (IR 10, opset 21) that onnxruntime runs with a KV cache: the decoder graph of
/// `ONNXDecoderGraph`, each quantized layer's own codes behind DequantizeLinear, activation quantizers as
/// QuantizeLinear/DequantizeLinear pairs (static) or their formula (dynamic per token).
///
/// Weights use DequantizeLinear rather than onnxruntime's contrib op MatMulNBits: it is standard ONNX (any runtime
/// reads it, `onnx.checker` checks it), it holds every integer layout Quanta saves (per tensor, per channel, groups
/// of any size with a ragged last group, 2-8 bits, zero points), and onnxruntime's CPU provider itself rewrites
/// DequantizeLinear(4-bit, blocked) → MatMul into MatMulNBits when it optimizes the graph. That rewrite uses
/// `session.qdq_matmulnbits_accuracy_level` (default 4: activations quantized to int8 per block inside the product);
/// set it to "0" for float activations, the function Quanta computes.
///
/// Files over `Configuration.externalDataThreshold` bytes of tensors (protobuf messages cannot pass 2 GiB), or every
/// file when `externalData == .always`, keep their large tensors in `<output>.data` beside the model (onnx.proto
/// `external_data`: location, offset, length; offsets aligned to 4096 bytes). Both files are written under
/// temporary names and renamed.
public enum ONNXExport {
    /// The default-domain opset: blocked (`block_size`) and 4-bit DequantizeLinear need 21.
    public static let opsetVersion = 21
    /// The IR version opset 21 belongs to (onnx 1.16).
    public static let irVersion = 10
    /// Tensor bytes above which the tensors go to an external data file: 1.5 GiB, well under protobuf's 2 GiB.
    public static let defaultExternalDataThreshold = 3 << 29
    /// Tensors smaller than this stay inside the model file (onnx's `convert_model_to_external_data` default).
    static let externalTensorMinimumBytes = 1024
    /// Offsets in the data file are multiples of this (a page), so a runtime can map tensors in place.
    static let externalDataAlignment = 4096
    /// `metadata_props` key of the Llama configuration (config.json keys), which `ONNXReadBack` reads.
    static let configurationKey = "quanta.llama_configuration"

    /// Where the tensors go.
    public enum ExternalData: String, Sendable {
        /// An external file only past `externalDataThreshold`.
        case automatic
        /// Always an external file (for tests, or runtimes that map weights).
        case always
    }

    public struct Configuration: Sendable, Equatable {
        /// Replace an existing output (and its data file).
        public var overwrite: Bool
        public var externalData: ExternalData
        public var externalDataThreshold: Int

        public init(
            overwrite: Bool = false, externalData: ExternalData = .automatic,
            externalDataThreshold: Int = ONNXExport.defaultExternalDataThreshold
        ) {
            self.overwrite = overwrite
            self.externalData = externalData
            self.externalDataThreshold = externalDataThreshold
        }
    }

    /// The external data file of the model at `path`.
    public static func dataFilePath(for path: String) -> String { path + ".data" }

    /// Exports `loaded` to `path`.
    /// - Throws: `ExportError.outputExists` without `overwrite`; `.onnxInexpressible` for a scheme or quantizer ONNX
    ///   cannot express (before anything is written); `FormatError` when writing fails.
    public static func export(_ loaded: LoadedModel, to path: String, configuration: Configuration = .init()) throws
        -> Report
    {
        let start = Date()
        let dataPath = dataFilePath(for: path)
        if !configuration.overwrite {
            for existing in [path, dataPath] where FileManager.default.fileExists(atPath: existing) {
                throw ExportError.outputExists(path: existing)
            }
        }
        let model = loaded.model
        let graph = try ONNXDecoderGraph(model)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var proto = modelProto(
            name: URL(fileURLWithPath: loaded.path).deletingPathExtension().lastPathComponent, graph.builder,
            inputs: graph.inputs, outputs: graph.outputs,
            metadata: [
                (configurationKey, String(decoding: try encoder.encode(model.configuration), as: UTF8.self)),
                ("quanta.source", loaded.path),
                ("quanta.weight_layout", "MatMul weights [in_features, out_features]"),
            ])
        let graphProto = proto.graph

        var report = Report(source: loaded.path, output: path)
        let tensorBytes = graphProto.initializer.reduce(0) { $0 + $1.rawData.count }
        if configuration.externalData == .always || tensorBytes > configuration.externalDataThreshold {
            report.dataFile = dataPath
            report.dataFileBytes = try writeExternalData(&proto.graph.initializer, to: dataPath)
        } else if FileManager.default.fileExists(atPath: dataPath) {
            // The replaced model's data file (overwrite was checked above); the new model does not use it.
            try? FileManager.default.removeItem(atPath: dataPath)
        }
        let bytes: Data
        do {
            bytes = try proto.serializedBytes()
        } catch {
            throw ExportError.onnxInexpressible(
                point: path, morePoints: 0, what: "model file",
                reason: "protobuf cannot encode it (\(error)); tensors over 2 GiB need external data")
        }
        try AtomicFile.write(bytes, to: path)
        report.fileBytes = bytes.count
        report.weightKinds = graph.weightKinds
        report.layersFromCodes = graph.layersFromCodes
        report.staticActivationQuantizers = graph.staticQuantizers
        report.dynamicActivationQuantizers = graph.dynamicQuantizers
        report.onlineRotations = graph.onlineRotations
        report.runtimeNotes = graph.runtimeNotes.sorted()
        report.nodeCount = graphProto.node.count
        report.linearBitsPerWeight =
            graph.linearElements > 0 ? Double(graph.linearBytes * 8) / Double(graph.linearElements) : 0
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// A model (IR `irVersion`, default-domain opset `opsetVersion`) around the graph `builder` holds.
    static func modelProto(
        name: String, _ builder: ONNXGraphBuilder, inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto],
        metadata: [(String, String)] = []
    ) -> Onnx_ModelProto {
        var proto = Onnx_ModelProto()
        proto.irVersion = Int64(irVersion)
        proto.producerName = "quanta"
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(opsetVersion)
        proto.opsetImport = [opset]
        var graph = Onnx_GraphProto()
        graph.name = name
        graph.node = builder.nodes
        graph.initializer = builder.initializers
        graph.input = inputs
        graph.output = outputs
        proto.graph = graph
        proto.metadataProps = metadata.map { entry($0.0, $0.1) }
        return proto
    }

    static func entry(_ key: String, _ value: String) -> Onnx_StringStringEntryProto {
        var e = Onnx_StringStringEntryProto()
        e.key = key
        e.value = value
        return e
    }

    /// Moves the raw data of every initializer of at least `externalTensorMinimumBytes` into `dataPath` (aligned
    /// offsets) and points the initializer at it.
    /// - Returns: the data file's size.
    static func writeExternalData(_ initializers: inout [Onnx_TensorProto], to dataPath: String) throws(FormatError)
        -> Int
    {
        let location = URL(fileURLWithPath: dataPath).lastPathComponent
        var placed: [(index: Int, offset: Int, length: Int)] = []
        var size = 0
        try AtomicFile.write(to: dataPath) { (output: inout AtomicFile.Output) throws(FormatError) in
            for index in initializers.indices where initializers[index].rawData.count >= externalTensorMinimumBytes {
                let padding = (externalDataAlignment - output.byteCount % externalDataAlignment) % externalDataAlignment
                try output.append([UInt8](repeating: 0, count: padding))
                placed.append((index, output.byteCount, initializers[index].rawData.count))
                try output.append(initializers[index].rawData)
            }
            size = output.byteCount
        }
        for (index, offset, length) in placed {
            initializers[index].rawData = Data()
            initializers[index].dataLocation = .external
            initializers[index].externalData = [
                entry("location", location), entry("offset", String(offset)), entry("length", String(length)),
            ]
        }
        return size
    }
}
