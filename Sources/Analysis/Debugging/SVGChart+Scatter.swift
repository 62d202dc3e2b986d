import Foundation

extension SVGChart {
    /// One point of a scatter chart.
    public struct Point: Sendable {
        public var x: Double
        public var y: Double
        public var label: String
        public init(x: Double, y: Double, label: String) {
            (self.x, self.y, self.label) = (x, y, label)
        }
    }

    /// The points no other point beats on both axes (smaller x and smaller y are better), by increasing x.
    public static func paretoFront(_ points: [Point]) -> [Point] {
        let sorted = points.sorted { ($0.x, $0.y) < ($1.x, $1.y) }
        var front: [Point] = []
        for point in sorted where front.last.map({ point.y < $0.y }) ?? true { front.append(point) }
        return front
    }

    /// A scatter of `points` (grey), their Pareto front (blue line), `chosen` (red ring) and a horizontal `limit` line
    /// (dashed). Values above the plot's top (at most 10 × the limit, when one is given) are drawn at the top edge as
    /// open triangles. Each point carries its label as a tooltip.
    public static func scatter(
        id: String, title: String, xLabel: String, yLabel: String, points: [Point], chosen: Point?, limit: Double?
    ) -> String {
        guard !points.isEmpty else { return frame(id: id, title: title) + "</svg>" }
        let xs = points.map(\.x), ys = points.map(\.y)
        var (xLow, xHigh) = (xs.min()!, xs.max()!)
        if xHigh - xLow < 1e-9 { (xLow, xHigh) = (xLow - 0.5, xHigh + 0.5) }
        let pad = (xHigh - xLow) * 0.04
        (xLow, xHigh) = (xLow - pad, xHigh + pad)
        var yLow = min(0, ys.min()!), yHigh = ys.max()!
        if let limit, limit > 0 { yHigh = min(yHigh, limit * 10); yHigh = max(yHigh, limit * 1.5) }
        if yHigh - yLow < 1e-12 { yHigh = yLow + 1 }
        func px(_ x: Double) -> Double { left + (x - xLow) / (xHigh - xLow) * plotWidth }
        func py(_ value: Double) -> Double { y(min(value, yHigh), low: yLow, high: yHigh) }
        var body = frame(id: id, title: title) + axisLabels(low: yLow, high: yHigh, format: "%.3g", xLabel: xLabel)
        body += String(format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\">%.3g</text>", left, height - 24, xLow)
        body += String(format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\" text-anchor=\"end\">%.3g</text>", left + plotWidth, height - 24, xHigh)
        body += "<text x=\"4\" y=\"\(coordinate(top + plotHeight / 2))\" font-size=\"10\">\(escape(yLabel))</text>"
        if let limit, limit <= yHigh, limit >= yLow {
            body += "<line x1=\"\(coordinate(left))\" x2=\"\(coordinate(left + plotWidth))\" y1=\"\(coordinate(py(limit)))\" y2=\"\(coordinate(py(limit)))\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>"
        }
        for point in points {
            let clipped = point.y > yHigh
            let (cx, cy) = (coordinate(px(point.x)), coordinate(py(point.y)))
            body += clipped
                ? "<path d=\"M\(cx) \(coordinate(py(point.y) + 1))l-4 7h8z\" fill=\"none\" stroke=\"#888\"><title>\(escape(point.label))</title></path>"
                : "<circle cx=\"\(cx)\" cy=\"\(cy)\" r=\"3\" fill=\"#999\" fill-opacity=\"0.7\"><title>\(escape(point.label))</title></circle>"
        }
        let front = paretoFront(points).filter { $0.y <= yHigh }
        if front.count > 1 {
            body += "<path class=\"pareto\" d=\"M" + front.map { "\(coordinate(px($0.x))) \(coordinate(py($0.y)))" }.joined(separator: "L")
                + "\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>"
        }
        if let chosen {
            body += "<circle class=\"chosen\" cx=\"\(coordinate(px(chosen.x)))\" cy=\"\(coordinate(py(chosen.y)))\" r=\"7\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"><title>chosen: \(escape(chosen.label))</title></circle>"
        }
        return body + "</svg>"
    }
}
