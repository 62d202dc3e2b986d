import Foundation

/// Renders a `DebugReport` as one self-contained HTML page: findings, summary bar charts over all layers, a table of
/// layers sortable by every metric (each row opens that layer's plots), and the sensitivity ranking.
public enum DebugReportHTML {
    /// Layers named in the findings and drawn in red on the summary charts.
    public static let highlightedLayerCount = 5

    /// The summary metrics charted over all layers, most telling first: (chart id, title, log scale, value). The
    /// measured KL and the input range come first because Quark's relative errors are dominated by elements whose
    /// reference is near zero (SwiGLU outputs), which every layer has.
    public static let summaryMetrics:
        [(id: String, title: String, logScale: Bool, value: @Sendable (DebugReport.Layer) -> Double)] = [
            (
                "chart-measured-kl", "measured sensitivity: KL of final logits with only this layer quantized", true,
                { $0.measuredKL ?? .nan }
            ),
            (
                "chart-range-parm", "cheap sensitivity: input range (max − min) / mean|x_ref|", true,
                { $0.cheapSensitivity }
            ),
            ("chart-sqnr", "SQNR of QDQ(x) against x_ref (dB)", false, { $0.sqnrDecibels }),
            (
                "chart-ref-output-error", "ref output error: mean(|QDQ(x) − x_ref| / (|x_ref| + ε))", false,
                { $0.referenceOutputError }
            ),
            ("chart-io-error", "io quantization error: mean(|QDQ(x) − x| / (|x| + ε))", false, { $0.ioError }),
            (
                "chart-ref-input-error", "ref input error: mean(|x − x_ref| / (|x_ref| + ε))", false,
                { $0.referenceInputError }
            ),
            ("chart-weight-error", "weight error: mean(|QDQ(W) − W| / (|W| + ε))", false, { $0.weightError }),
        ]

    /// The page. `plots` holds each layer's SVG charts by layer name, shown when its row is opened; `sections` are
    /// HTML fragments placed after the findings (the tuning search's chart).
    public static func render(_ report: DebugReport, plots: [String: [String]], sections: [String] = []) -> String {
        let ranking = report.ranking
        let worst = Set(ranking.prefix(highlightedLayerCount).map(\.index))
        let highlight = Set(report.layers.indices.filter { worst.contains(report.layers[$0].index) })
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Quanta debug report: \(e(report.recipe))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:16px 24px;color:#222;max-width:1280px}
            h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin-top:26px}
            table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}
            th{background:#f0f3f7;cursor:pointer;position:sticky;top:0}td:first-child,th:first-child{text-align:left}
            tr.hot td{background:#fde8e8}.charts svg{display:block;margin:6px 0}details svg{display:block;margin:4px 0}
            .meta td{text-align:left;border:none;padding:1px 10px 1px 0}ul.findings li{margin:6px 0}
            pre.snippet{background:#f6f8fa;padding:4px 8px;margin:4px 0;font-size:12px}
            </style></head><body>
            <h1>Quantization debug report</h1>
            <table class="meta">
            <tr><td>model</td><td>\(e(report.model))</td></tr>
            <tr><td>recipe</td><td>\(e(report.recipe))</td></tr>
            <tr><td>input</td><td>\(e(report.inputSource)), \(report.inputTokens) tokens</td></tr>
            <tr><td>output</td><td>KL(float ‖ quantized) \(f(report.outputKL, "%.4f")) nats/token, top-1 agreement \(f(report.outputTop1Agreement * 100, "%.1f"))%</td></tr>
            <tr><td>ε</td><td>\(f(report.epsilon, "%.0e"))</td></tr>
            </table>

            """
        html += findings(report, ranking: ranking)
        for section in sections { html += section + "\n" }
        html +=
            "<h2>Summary over all layers (model order; red: the \(highlightedLayerCount) most harmful)</h2>\n<div class=\"charts\" id=\"summary-charts\">\n"
        let labels = report.layers.map(\.name)
        for metric in summaryMetrics {
            let values = report.layers.map(metric.value)
            guard values.contains(where: \.isFinite) else { continue }
            html +=
                SVGChart.bars(
                    id: metric.id, title: metric.title, labels: labels, values: values, highlight: highlight,
                    logScale: metric.logScale) + "\n"
        }
        html += "</div>\n"
        html += layerTable(report, highlight: worst, plots: plots)
        html += sensitivityTable(report, ranking: ranking)
        html += sortScript + "</body></html>\n"
        return html
    }

    static func findings(_ report: DebugReport, ranking: [DebugReport.Layer]) -> String {
        let measured = report.layers.contains { $0.measuredKL != nil }
        let totalKL = report.layers.compactMap(\.measuredKL).reduce(0, +)
        let medianRange = median(report.layers.map(\.rangeParameter))
        var html = "<h2>Which layers hurt, and why</h2>\n<ul class=\"findings\" id=\"findings\">\n"
        for layer in ranking.prefix(3) {
            var line = "<li><b>\(e(layer.name))</b>: "
            if let kl = layer.measuredKL, measured {
                line +=
                    "quantized alone it adds KL \(f(kl, "%.4f")) (\(f(totalKL > 0 ? kl / totalKL * 100 : 0, "%.0f"))% of the sum over single layers); "
            }
            line +=
                "ref output error \(f(layer.referenceOutputError, "%.3f")), SQNR \(f(layer.sqnrDecibels, "%.1f")) dB. "
            line +=
                "Its float input spans \(f(layer.rangeParameter, "%.0f"))× its mean magnitude (median layer \(f(medianRange, "%.0f"))×; "
            line += "abs-max \(f(layer.referenceAbsMax, "%.3g")) vs abs-mean \(f(layer.referenceAbsMean, "%.3g")))"
            line +=
                ", and channel \(layer.topChannels.first.map(String.init) ?? "–") stands \(f(layer.channelPeakRatio, "%.0f"))× above the median channel"
            line += " (top channels \(layer.topChannels.map(String.init).joined(separator: ", "))). "
            if layer.inputQuantized && layer.rangeParameter > 2 * medianRange {
                line +=
                    "A per-tensor input grid must span these outliers, so typical values get few levels: try per-token "
                line +=
                    "dynamic inputs (w8a8-int8-dynamic), SmoothQuant-style channel scaling, or keep this layer's input in float."
            } else if layer.weightError > 2 * median(report.layers.map(\.weightError)) {
                line += "The weight error is high: try per-channel or grouped weight scales for this layer."
            } else if layer.referenceInputError > layer.ioError {
                line += "Most of its error arrives from earlier layers (ref input error above io error)."
            }
            line += " To apply it: <pre class=\"snippet\">\(e(snippet(for: layer, inputRangeBound: layer.inputQuantized && layer.rangeParameter > 2 * medianRange)))</pre>"
            line += "or, the whole layer in float, on the command line of quantize, analyze or tune: "
            line += "<code class=\"command\">\(e(keepFloatArguments([layer.name])))</code>"
            html += line + "</li>\n"
        }
        html += "</ul>\n"
        let listed = ranking.prefix(3).map(\.name)
        guard !listed.isEmpty else { return html }
        html += "<p id=\"rollback-advice\">Keeping all \(listed.count) listed layers in float, as a recipe's overrides:</p>\n<pre class=\"snippet\">"
            + e("overrides:\n" + listed.map { "  - {pattern: \($0), exclude: true}" }.joined(separator: "\n")) + "</pre>\n"
        html += "<p>or on the command line: <code class=\"command\" id=\"rollback-command\">\(e(keepFloatArguments(listed)))</code></p>\n"
        if measured, totalKL > 0 {
            let gain = ranking.prefix(3).compactMap(\.measuredKL).reduce(0, +)
            html += "<p>Quantized alone, these layers add KL \(f(gain, "%.4f")) together, \(f(gain / totalKL * 100, "%.0f"))% of the sum over single layers; the whole model's KL is \(f(report.outputKL, "%.4f")). Single-layer KLs do not add exactly, so this estimates what rolling them back saves.</p>\n"
        }
        return html
    }

    /// The command-line arguments that keep `names` in float (`--keep-float NAME` once per layer).
    static func keepFloatArguments(_ names: [String]) -> String {
        names.map { "--keep-float \($0)" }.joined(separator: " ")
    }

    /// A recipe override for one layer: its input kept in float when its input range is the problem, the whole layer
    /// kept in float otherwise.
    static func snippet(for layer: DebugReport.Layer, inputRangeBound: Bool) -> String {
        inputRangeBound
            ? "overrides:\n  - {pattern: \(layer.name), input: none}"
            : "overrides:\n  - {pattern: \(layer.name), exclude: true}"
    }

    static let columns: [(title: String, value: @Sendable (DebugReport.Layer) -> Double, format: String)] = [
        ("#", { Double($0.index) }, "%.0f"),
        ("ref output err", { $0.referenceOutputError }, "%.4f"),
        ("io err", { $0.ioError }, "%.4f"),
        ("ref input err", { $0.referenceInputError }, "%.4f"),
        ("weight err", { $0.weightError }, "%.4f"),
        ("SQNR dB", { $0.sqnrDecibels }, "%.1f"),
        ("weight SQNR dB", { $0.weightSQNRDecibels }, "%.1f"),
        ("range_parm", { $0.rangeParameter }, "%.1f"),
        ("abs max", { $0.referenceAbsMax }, "%.3g"),
        ("peak channel ×", { $0.channelPeakRatio }, "%.1f"),
        ("measured KL", { $0.measuredKL ?? .nan }, "%.5f"),
    ]

    static func layerTable(_ report: DebugReport, highlight: Set<Int>, plots: [String: [String]]) -> String {
        var html =
            "<h2>Layers (click a header to sort, a name to see its plots)</h2>\n<table id=\"layer-table\" class=\"sortable\"><thead><tr><th>layer</th>"
        for column in columns { html += "<th>\(e(column.title))</th>" }
        html += "</tr></thead><tbody>\n"
        for layer in report.layers {
            html += highlight.contains(layer.index) ? "<tr class=\"hot\">" : "<tr>"
            html +=
                "<td data-v=\"\(e(layer.name))\"><details id=\"layer-\(e(layer.name))\"><summary>\(e(layer.name))</summary>"
            html += (plots[layer.name] ?? []).joined(separator: "\n") + "</details></td>"
            for column in columns {
                let value = column.value(layer)
                html +=
                    "<td data-v=\"\(value.isFinite ? String(value) : (value.isNaN ? "" : (value > 0 ? "1e308" : "-1e308")))\">\(f(value, column.format))</td>"
            }
            html += "</tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    static func sensitivityTable(_ report: DebugReport, ranking: [DebugReport.Layer]) -> String {
        let cheapRanks = RankCorrelation.ranks(report.layers.map { -$0.cheapSensitivity })
        var cheapRank: [Int: Int] = [:]
        for (i, layer) in report.layers.enumerated() { cheapRank[layer.index] = Int(cheapRanks[i].rounded(.down)) }
        var html = "<h2>Sensitivity ranking</h2>\n<p id=\"sensitivity-agreement\">"
        if let rho = report.sensitivityRankCorrelation {
            html +=
                "Spearman rank correlation between the cheap statistic (input range_parm) and the measured KL: <b>ρ = \(f(rho, "%.3f"))</b> over \(report.layers.count) layers"
            if let seconds = report.sensitivitySeconds { html += " (measured in \(f(seconds, "%.0f")) s)" }
            html += ".</p>\n"
        } else {
            html += "Measured sensitivity was not run; the ranking is by the cheap statistic (input range_parm).</p>\n"
        }
        // Without a measured sensitivity the ranking is the cheap one: say so rather than fill a "measured" column.
        let measured = report.layers.contains { $0.measuredKL != nil }
        html +=
            "<table id=\"sensitivity-table\" class=\"sortable\"><thead><tr><th>layer</th><th>\(measured ? "measured rank" : "rank (by range_parm)")</th><th>measured KL</th><th>cheap rank</th><th>range_parm</th></tr></thead><tbody>\n"
        for (rank, layer) in ranking.enumerated() {
            html +=
                "<tr><td data-v=\"\(e(layer.name))\"><a href=\"#layer-\(e(layer.name))\">\(e(layer.name))</a></td><td data-v=\"\(rank + 1)\">\(rank + 1)</td>"
            html +=
                "<td data-v=\"\(layer.measuredKL.map { String($0) } ?? "")\">\(layer.measuredKL.map { f($0, "%.5f") } ?? "not measured")</td>"
            html += "<td data-v=\"\(cheapRank[layer.index] ?? 0)\">\(cheapRank[layer.index] ?? 0)</td>"
            html += "<td data-v=\"\(layer.cheapSensitivity)\">\(f(layer.cheapSensitivity, "%.1f"))</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    /// Sorts a table by the clicked column's `data-v` (numbers numerically, text alphabetically); a second click
    /// reverses the order. A link `#layer-NAME` (from the ranking, or in the address) opens that layer's plots.
    static let sortScript = """
        <script>
        function openFromHash(){
          var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
          if (target && target.tagName === 'DETAILS') { target.open = true; target.scrollIntoView(); }
        }
        window.addEventListener('hashchange', openFromHash);
        openFromHash();
        document.querySelectorAll('table.sortable').forEach(function(table){
          table.querySelectorAll('th').forEach(function(th, column){
            th.addEventListener('click', function(){
              var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
              var descending = th.getAttribute('data-order') !== 'desc';
              th.setAttribute('data-order', descending ? 'desc' : 'asc');
              rows.sort(function(a, b){
                var x = a.cells[column].getAttribute('data-v'), y = b.cells[column].getAttribute('data-v');
                var nx = parseFloat(x), ny = parseFloat(y), r;
                if (isNaN(nx) && isNaN(ny)) r = x < y ? -1 : (x > y ? 1 : 0);
                else if (isNaN(nx)) return 1; else if (isNaN(ny)) return -1; else r = nx - ny;
                return descending ? -r : r;
              });
              rows.forEach(function(row){ body.appendChild(row); });
            });
          });
        });
        </script>

        """

    static func median(_ values: [Double]) -> Double {
        let sorted = values.filter(\.isFinite).sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    static func e(_ text: String) -> String { SVGChart.escape(text) }

    static func f(_ value: Double, _ format: String) -> String {
        if value.isNaN { return "–" }
        if value.isInfinite { return value > 0 ? "∞" : "−∞" }
        return String(format: format, value)
    }
}
