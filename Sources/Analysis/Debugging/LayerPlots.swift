/// The SVG plots of one layer: its weight histogram; the histograms of its input x, QDQ(x) and the float x_ref;
/// and x_ref's abs-mean per channel (reduced over dim −2) and per token (reduced over dim −1).
public enum LayerPlots {
    /// (file suffix, SVG) pairs in display order; a layer's files are `LAYER.SUFFIX.svg`.
    public static func render(layer: String, weightHistogram: Histogram, activation: InputErrorStatistics?) -> [(
        suffix: String, svg: String
    )] {
        let id = layer.replacingOccurrences(of: ".", with: "-")
        var plots = [
            (
                "weight_hist",
                SVGChart.histograms(
                    id: "\(id)-weight-hist", title: "\(layer): weight values",
                    series: [
                        .init(label: "W (float)", color: "#1f77b4", histogram: weightHistogram)
                    ])
            )
        ]
        guard let activation else { return plots }
        if let h = activation.histograms {
            plots.append(
                (
                    "act_hist",
                    SVGChart.histograms(
                        id: "\(id)-act-hist", title: "\(layer): input activations",
                        series: [
                            .init(label: "x_ref (float model)", color: "#2ca02c", histogram: h.reference),
                            .init(label: "x (quantized model)", color: "#1f77b4", histogram: h.input),
                            .init(label: "QDQ(x)", color: "#d62728", histogram: h.quantized),
                        ])
                ))
        }
        plots.append(
            (
                "channel_absmean",
                SVGChart.profile(
                    id: "\(id)-channel-absmean", title: "\(layer): x_ref abs-mean per channel (over tokens, dim −2)",
                    values: activation.channelAbsMean, xLabel: "input channel")
            ))
        plots.append(
            (
                "token_absmean",
                SVGChart.profile(
                    id: "\(id)-token-absmean", title: "\(layer): x_ref abs-mean per token (over channels, dim −1)",
                    values: activation.tokenAbsMean, xLabel: "token position")
            ))
        return plots
    }
}
