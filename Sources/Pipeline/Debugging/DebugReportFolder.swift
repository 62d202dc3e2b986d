import Analysis
import Foundation
import ModelFormats
import Quantization

/// Writes a debugger result as a folder, under a temporary name renamed into place:
/// `index.html` (self-contained), `summary.json`, `layers/LAYER.weight_stats.json` and
/// `layers/LAYER.activation_stats.json`, and every chart as `plots/*.svg`.
public enum DebugReportFolder {
    /// Writes `result` to `directory`.
    /// - Throws: `PipelineError.invalidArgument` when `directory` exists and `overwrite` is false; file errors.
    public static func write(_ result: QuantizationDebugger.Result, to directory: String, overwrite: Bool = false)
        throws
    {
        let manager = FileManager.default
        if manager.fileExists(atPath: directory) && !overwrite {
            throw QuantizationError.outputExists(path: directory)
        }
        try AtomicFolder.write(to: directory) { temporary in
            try manager.createDirectory(atPath: temporary + "/layers", withIntermediateDirectories: true)
            try manager.createDirectory(atPath: temporary + "/plots", withIntermediateDirectories: true)
            try writeContents(result, into: temporary)
        }
    }

    static func writeContents(_ result: QuantizationDebugger.Result, into directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try write(try encoder.encode(result.report), to: directory + "/summary.json")
        var plots: [String: [String]] = [:]
        for layer in result.report.layers {
            let name = layer.name
            if let weights = result.weights[name] {
                try write(try encoder.encode(weights), to: "\(directory)/layers/\(name).weight_stats.json")
            }
            if let activation = result.activations[name] {
                try write(try encoder.encode(activation), to: "\(directory)/layers/\(name).activation_stats.json")
            }
            guard let histogram = result.weightHistograms[name] else { continue }
            let rendered = LayerPlots.render(
                layer: name, weightHistogram: histogram, activation: result.activations[name])
            for plot in rendered { try write(Data(plot.svg.utf8), to: "\(directory)/plots/\(name).\(plot.suffix).svg") }
            plots[name] = rendered.map(\.svg)
        }
        let html = DebugReportHTML.render(result.report, plots: plots, sections: result.sections)
        try write(Data(html.utf8), to: directory + "/index.html")
        let labels = result.report.layers.map(\.name)
        for metric in DebugReportHTML.summaryMetrics {
            let values = result.report.layers.map(metric.value)
            guard values.contains(where: \.isFinite) else { continue }
            let svg = SVGChart.bars(
                id: metric.id, title: metric.title, labels: labels, values: values, logScale: metric.logScale)
            try write(
                Data(svg.utf8),
                to: "\(directory)/plots/summary_\(metric.id.replacingOccurrences(of: "chart-", with: "")).svg")
        }
    }

    static func write(_ data: Data, to path: String) throws { try AtomicFile.write(data, to: path) }
}
