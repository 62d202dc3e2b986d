import Foundation

/// Self-contained SVG charts (no plotting runtime): bar charts over layers, overlaid histograms with log-scale
/// counts, and per-index profiles (per channel, per token). Every chart is one `<svg>` element with an `id` and the
/// class `chart`, so a report can be checked for them.
public enum SVGChart {
    /// One series of an overlaid histogram.
    public struct Series {
        public var label: String
        public var color: String
        public var histogram: Histogram
        public init(label: String, color: String, histogram: Histogram) {
            (self.label, self.color, self.histogram) = (label, color, histogram)
        }
    }

    static let width = 880.0, height = 220.0
    static let left = 64.0, right = 12.0, top = 26.0, bottom = 40.0
    static var plotWidth: Double { width - left - right }
    static var plotHeight: Double { height - top - bottom }

    /// Bars of `values` in order (model order), one per label; non-finite values are drawn as missing.
    /// `highlight` indices are drawn in a warning color.
    /// With `logScale`, bars rise to log10(value) from the smallest positive value (for positive measures that span
    /// decades, such as range_parm and KL); values ≤ 0 are then drawn as missing.
    public static func bars(
        id: String, title: String, labels: [String], values: [Double], highlight: Set<Int> = [],
        valueFormat: String = "%.3g", logScale: Bool = false
    ) -> String {
        precondition(labels.count == values.count)
        let plotted = logScale ? values.map { $0 > 0 ? log10($0) : .nan } : values
        let finite = plotted.filter(\.isFinite)
        let low = logScale ? (finite.min() ?? 0) - 0.1 : min(0, finite.min() ?? 0)
        let high = max(finite.max() ?? 1, low + 1e-12)
        var body = frame(id: id, title: title + (logScale ? " (log scale)" : ""))
        body +=
            logScale
            ? axisLabels(
                low: pow(10, low), high: pow(10, high), format: valueFormat,
                xLabel: "layers in model order (\(values.count))")
            : axisLabels(low: low, high: high, format: valueFormat, xLabel: "layers in model order (\(values.count))")
        let step = plotWidth / Double(max(values.count, 1))
        let zeroY = y(logScale ? low : 0, low: low, high: high)
        for (i, value) in values.enumerated() where plotted[i].isFinite {
            let top = y(plotted[i], low: low, high: high)
            let color = highlight.contains(i) ? "#d62728" : "#1f77b4"
            body += String(
                format:
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%@\"><title>%@: %@</title></rect>",
                left + Double(i) * step, min(top, zeroY), max(step * 0.85, 0.5), abs(zeroY - top), color,
                escape(labels[i]), String(format: valueFormat, value))
        }
        return body + "</svg>"
    }

    /// Overlaid step outlines of histograms sharing one range, counts on a log scale (log10(1 + count)).
    public static func histograms(id: String, title: String, series: [Series]) -> String {
        guard let first = series.first else { return frame(id: id, title: title) + "</svg>" }
        let maxCount = series.flatMap(\.histogram.counts).max() ?? 0
        let high = log10(1 + Double(maxCount))
        var body = frame(id: id, title: title)
        body += String(format: "<text x=\"4\" y=\"%.0f\" font-size=\"10\">%d</text>", top + 8, maxCount)
        body += String(format: "<text x=\"4\" y=\"%.0f\" font-size=\"10\">count (log)</text>", top + plotHeight / 2)
        body += String(
            format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\">%.3g</text>", left, height - bottom + 14,
            first.histogram.lower)
        body += String(
            format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\" text-anchor=\"end\">%.3g</text>",
            width - right, height - bottom + 14, first.histogram.upper)
        for (k, s) in series.enumerated() {
            let counts = s.histogram.counts
            let step = plotWidth / Double(max(counts.count, 1))
            var path = String(format: "M%.1f %.1f", left, top + plotHeight)
            for (i, count) in counts.enumerated() {
                let yy = top + plotHeight - (high > 0 ? log10(1 + Double(count)) / high : 0) * plotHeight
                path += "V\(coordinate(yy))H\(coordinate(left + Double(i + 1) * step))"
            }
            path += String(format: "V%.1f", top + plotHeight)
            body += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.2\"/>"
            body += String(
                format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\" fill=\"%@\">%@</text>",
                width - right - 160, top + 12 + Double(k) * 12, s.color, escape(s.label))
        }
        return body + "</svg>"
    }

    /// One spike per index (channel or token) up to its value, to make outliers stand out.
    public static func profile(id: String, title: String, values: [Float], xLabel: String) -> String {
        let high = max(Double(values.max() ?? 1), 1e-12)
        var body = frame(id: id, title: title)
        body += axisLabels(low: 0, high: high, format: "%.3g", xLabel: xLabel)
        let step = plotWidth / Double(max(values.count, 1))
        var path = ""
        for (i, value) in values.enumerated() {
            path +=
                "M\(coordinate(left + (Double(i) + 0.5) * step)) \(coordinate(top + plotHeight))V\(coordinate(y(Double(value), low: 0, high: high)))"
        }
        body += "<path d=\"\(path)\" stroke=\"#1f77b4\" stroke-width=\"\(max(0.6, min(step * 0.8, 3)))\"/>"
        return body + "</svg>"
    }

    static func frame(id: String, title: String) -> String {
        String(
            format:
                "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%@\" class=\"chart\" font-family=\"sans-serif\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">",
            escape(id), width, height, width, height)
            + "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
            + String(
                format: "<text x=\"%.0f\" y=\"16\" font-size=\"13\" font-weight=\"bold\">%@</text>", left, escape(title)
            )
            + String(
                format: "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#999\"/>",
                left, top, plotWidth, plotHeight)
    }

    static func axisLabels(low: Double, high: Double, format: String, xLabel: String) -> String {
        String(
            format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\" text-anchor=\"end\">%@</text>", left - 4, top + 8,
            String(format: format, high))
            + String(
                format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\" text-anchor=\"end\">%@</text>", left - 4,
                top + plotHeight,
                String(format: format, low))
            + String(
                format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\" text-anchor=\"middle\">%@</text>",
                left + plotWidth / 2,
                height - 10, escape(xLabel))
    }

    /// A coordinate with one decimal, without `String(format:)` (slow on Linux, and paths have thousands of them).
    static func coordinate(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    static func y(_ value: Double, low: Double, high: Double) -> Double {
        top + plotHeight - (value - low) / (high - low) * plotHeight
    }

    /// Text safe inside XML/HTML elements and attributes.
    public static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
