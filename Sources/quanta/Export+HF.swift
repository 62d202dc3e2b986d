import ArgumentParser
import Export
import Foundation
import Pipeline

/// `quanta export --format hf`: a Hugging Face folder in the compressed-tensors layout (vLLM, transformers).
extension ExportCommand {
    func validateHF() throws {
        guard CompressedTensorsExport.FloatType(rawValue: type.lowercased()) != nil else {
            throw ValidationError(
                "--type '\(type)' is not a float type the hf exporter writes; choose one of "
                    + CompressedTensorsExport.FloatType.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if requantize != nil {
            throw ValidationError("--requantize applies to --format gguf only; the hf export keeps the saved codes")
        }
        if externalData { throw ValidationError("--external-data applies to --format onnx") }
    }

    func runHF() throws {
        try reportingErrors {
            if FileManager.default.fileExists(atPath: out) && !overwrite {
                throw PipelineError.invalidArgument("\(out) already exists; remove it or pass --overwrite")
            }
            let loaded = try ModelLoader.load(source)
            let settings = CompressedTensorsExport.Configuration(
                floatType: CompressedTensorsExport.FloatType(rawValue: type.lowercased())!, overwrite: overwrite)
            let report: CompressedTensorsExport.Report
            do {
                report = try CompressedTensorsExport.export(loaded, to: out, configuration: settings)
            } catch let error as ExportError {
                throw PipelineError.invalidArgument(Self.hint(for: error))
            }
            if json { try printJSON(report) } else { print(report.humanReadable) }
        }
    }
}
