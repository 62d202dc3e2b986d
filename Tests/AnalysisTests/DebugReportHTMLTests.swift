import Analysis
import Foundation
import Testing

@Suite struct DebugReportHTMLTests {
    static func layer(_ index: Int, name: String, kl: Double?, range: Double) -> DebugReport.Layer {
        DebugReport.Layer(
            name: name, index: index, inputQuantized: true, ioError: 0.01 * Double(index + 1),
            referenceInputError: 0.02,
            referenceOutputError: 0.03 * Double(index + 1), weightError: 0.004, sqnrDecibels: 30,
            weightSQNRDecibels: .infinity,
            rangeParameter: range, referenceAbsMax: 10, referenceAbsMean: 0.5, channelPeakRatio: 7,
            topChannels: [3, 1],
            cheapSensitivity: range, measuredKL: kl)
    }

    static func report() -> DebugReport {
        DebugReport(
            model: "m<1>.gguf", recipe: "w8a8", inputSource: "text", inputTokens: 8, outputKL: 0.1,
            outputTop1Agreement: 0.9,
            layers: [
                layer(0, name: "a.q_proj", kl: 0.001, range: 10), layer(1, name: "a.down_proj", kl: 0.05, range: 300),
                layer(2, name: "b.o_proj", kl: 0.01, range: 40),
            ])
    }

    @Test func eachFindingEndsInTheOverrideThatAppliesItAndTheRollbackGainIsStated() {
        let html = DebugReportHTML.render(Self.report(), plots: [:])
        // a.down_proj's input range (300) is far above the median (40): its input is kept in float.
        #expect(html.contains("overrides:\n  - {pattern: a.down_proj, input: none}"))
        // b.o_proj's range is not: the whole layer stays in float.
        #expect(html.contains("overrides:\n  - {pattern: b.o_proj, exclude: true}"))
        #expect(html.contains("id=\"rollback-advice\""))
        // ... and the same rollback as command-line arguments, per layer and for all listed layers in rank order.
        #expect(html.contains("<code class=\"command\">--keep-float b.o_proj</code>"))
        #expect(html.contains(">--keep-float a.down_proj --keep-float b.o_proj --keep-float a.q_proj</code>"))
        // The three layers' single-layer KLs (0.05 + 0.01 + 0.001) are all of the sum over single layers.
        #expect(html.contains("add KL 0.0610 together, 100% of the sum over single layers"))
    }

    @Test func rankingFollowsMeasuredKLAndCorrelationIsComputed() throws {
        let report = Self.report()
        #expect(report.ranking.map(\.name) == ["a.down_proj", "b.o_proj", "a.q_proj"])
        // Cheap and measured orders agree exactly here.
        #expect(try #require(report.sensitivityRankCorrelation) == 1)
    }

    @Test func withoutMeasuredSensitivityTheRankingFollowsTheCheapStatistic() {
        var report = Self.report()
        for i in report.layers.indices { report.layers[i].measuredKL = nil }
        report.layers[0].cheapSensitivity = 1000
        report.updateRankCorrelation()
        #expect(report.ranking.map(\.name) == ["a.q_proj", "a.down_proj", "b.o_proj"])
        #expect(report.sensitivityRankCorrelation == nil)
        let html = DebugReportHTML.render(report, plots: [:])
        #expect(html.contains("ranking is by the cheap statistic"))
        // Columns that were not measured say so instead of looking measured.
        #expect(!html.contains("<th>measured rank</th>") && html.contains("<th>rank (by range_parm)</th>"))
        #expect(html.contains(">not measured</td>"))
        #expect(DebugReportHTML.render(Self.report(), plots: [:]).contains("<th>measured rank</th>"))
    }

    @Test func pageHoldsEverySummaryChartTheTableAndEscapedText() {
        let plots = ["a.down_proj": [SVGChart.profile(id: "p", title: "t", values: [1, 9, 1], xLabel: "channel")]]
        let html = DebugReportHTML.render(Self.report(), plots: plots)
        for metric in DebugReportHTML.summaryMetrics {
            #expect(html.contains("id=\"\(metric.id)\""), "missing \(metric.id)")
        }
        #expect(html.components(separatedBy: "<svg").count - 1 == DebugReportHTML.summaryMetrics.count + 1)
        #expect(html.contains("id=\"layer-table\"") && html.contains("id=\"sensitivity-table\""))
        #expect(html.contains("m&lt;1&gt;.gguf") && !html.contains("m<1>.gguf"))
        // The worst layer is named first in the findings, with its outlier channel.
        let findings = html.components(separatedBy: "id=\"findings\"")[1]
        #expect(findings.range(of: "a.down_proj")!.lowerBound < findings.range(of: "b.o_proj")!.lowerBound)
        #expect(findings.contains("channel 3"))
    }

    @Test func summaryJSONHasSortedKeysAndRoundTrips() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(Self.report())
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        #expect(try decoder.decode(DebugReport.self, from: data) == Self.report())
        let text = String(decoding: data, as: UTF8.self)
        #expect(
            text.contains("\"io_error\"") && text.contains("\"measured_kl\"")
                && text.contains("\"sensitivity_spearman\""))
    }

    @Test func barChartDrawsOneBarPerFiniteValue() {
        let svg = SVGChart.bars(id: "x", title: "t", labels: ["a", "b", "c"], values: [1, .nan, 2], highlight: [2])
        #expect(svg.components(separatedBy: "<title>").count - 1 == 2)
        #expect(svg.contains("#d62728"))
    }
}
