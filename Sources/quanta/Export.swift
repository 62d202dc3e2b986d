import ArgumentParser
import Export
import Foundation
import ModelFormats
import Pipeline
import Quantization

/// `quanta export`: write a quantized folder (or a float model) in another runtime's format.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Export a quantized folder (or a float model) as a GGUF file llama.cpp runs, a Hugging Face compressed-tensors folder vLLM loads, or an ONNX model onnxruntime runs, keeping the saved codes."
    )

    @Argument(help: "A folder written by `quanta quantize`, or a float model (GGUF file or Hugging Face folder).")
    var source: String
    @Option(help: "Output format: gguf (llama.cpp), hf (a Hugging Face compressed-tensors folder for vLLM/transformers) or onnx (onnxruntime).")
    var format: String
    @Option(help: "Output file (a folder for hf).") var out: String
    @Option(
        help:
            "GGML type of weights that are float in the source: f16 (default), bf16, f32, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k (a K-quant falls back as llama-quantize does for rows not a multiple of 256; hf: f16, bf16, f32)."
    )
    var type: String = "f16"
    @Option(
        help:
            "Convert weights no GGML type holds exactly (and online rotations) to this type from the dequantized weights, dropping activation/KV quantizers; prints the cost."
    )
    var requantize: String?
    @Flag(help: "Replace the output file if it exists.") var overwrite = false
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "ONNX: keep the tensors in OUT.data beside the model even below the 1.5 GiB threshold.")
    var externalData = false

    static func ggmlType(_ name: String, flag: String) throws -> GGMLType {
        guard let type = GGUFExport.writableTypes.first(where: { $0.name.lowercased() == name.lowercased() }) else {
            throw ValidationError(
                "\(flag) '\(name)' is not a type the GGUF exporter writes; choose one of "
                    + GGUFExport.writableTypes.map { $0.name.lowercased() }.joined(separator: ", "))
        }
        return type
    }

    func validate() throws {
        if format.lowercased() == "hf" { return try validateHF() }
        if format.lowercased() == "onnx" {
            guard requantize == nil, type == "f16" else {
                throw ValidationError(
                    "--type and --requantize apply to --format gguf; ONNX keeps every weight as it is")
            }
            return
        }
        guard format.lowercased() == "gguf" else {
            throw ValidationError("--format '\(format)' is not supported; this build exports: gguf, hf, onnx")
        }
        if externalData { throw ValidationError("--external-data applies to --format onnx") }
        _ = try Self.ggmlType(type, flag: "--type")
        if let requantize { _ = try Self.ggmlType(requantize, flag: "--requantize") }
    }

    func run() throws {
        if format.lowercased() == "hf" { return try runHF() }
        try reportingErrors {
            if FileManager.default.fileExists(atPath: out) && !overwrite {
                throw PipelineError.invalidArgument("\(out) already exists; remove it or pass --overwrite")
            }
            let loaded = try ModelLoader.load(source)
            if format.lowercased() == "onnx" { return try exportONNX(loaded) }
            let settings = GGUFExport.Configuration(
                floatWeightType: try Self.ggmlType(type, flag: "--type"),
                requantizeType: try requantize.map { try Self.ggmlType($0, flag: "--requantize") }, overwrite: overwrite
            )
            let report: GGUFExport.Report
            do {
                report = try GGUFExport.export(loaded, to: out, configuration: settings)
            } catch let error as ExportError {
                throw PipelineError.invalidArgument(Self.hint(for: error))
            }
            if json { try printJSON(report) } else { print(report.humanReadable) }
        }
    }

    func exportONNX(_ loaded: LoadedModel) throws {
        let settings = ONNXExport.Configuration(overwrite: overwrite, externalData: externalData ? .always : .automatic)
        let report: ONNXExport.Report
        do {
            report = try ONNXExport.export(loaded, to: out, configuration: settings)
        } catch let error as ExportError {
            throw PipelineError.invalidArgument(Self.hint(for: error))
        }
        if json { try printJSON(report) } else { print(report.humanReadable) }
    }

    /// The library's message plus the flag that gets past it.
    static func hint(for error: ExportError) -> String {
        switch error {
        case let .inexpressibleScheme(_, _, _, _, nearest), let .onlineTransform(_, _, _, nearest):
            "\(error); pass --requantize \(nearest.name.lowercased()) to convert anyway (the command prints what it costs)"
        case .activationQuantization:
            "\(error) (pass --requantize TYPE to export anyway)"
        case .outputExists:
            "\(error); remove it or pass --overwrite"
        default:
            "\(error)"
        }
    }
}
