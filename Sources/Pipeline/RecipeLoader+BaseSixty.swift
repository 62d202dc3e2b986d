import Yams

/// YAML 1.1 reads an integer written with colons in base 60 (`1:30` is 90), and Yams does so for every scalar
/// decoded into an integer field, trapping (not throwing) when the value overflows or when a negative one goes to an
/// unsigned field. These checks run on the composed YAML before decoding and refuse such scalars with their position.
extension RecipeLoader {
    /// The recipe's only unsigned integer field (`calibration.seed`), where a negative base-60 value would trap.
    static let unsignedKeys: Set<String> = ["seed"]

    /// - Throws: `PipelineError.invalidArgument` naming `path:line:column` of the first scalar that Yams would read
    ///   as a base-60 integer beyond 64 bits (in any field: its type is not known here), or as a negative one in an
    ///   unsigned field. YAML syntax errors are left to the decoder, which reports them with their position.
    static func checkBaseSixtyIntegers(_ yaml: String, path: String) throws {
        guard yaml.contains(":"), let root = try? Yams.compose(yaml: yaml) else { return }
        try check(root, key: nil, path: path)
    }

    private static func check(_ node: Node, key: String?, path: String) throws {
        switch node {
        case let .scalar(scalar):
            guard let problem = baseSixtyProblem(scalar.string, unsigned: key.map(unsignedKeys.contains) ?? false)
            else { return }
            let at = scalar.mark.map { "\($0.line):\($0.column):" } ?? ""
            let field = key.map { " (\($0))" } ?? ""
            throw PipelineError.invalidArgument("\(path):\(at) value\(field) \(problem)")
        case let .mapping(mapping):
            for (name, value) in mapping {
                try check(name, key: nil, path: path)
                try check(value, key: name.string, path: path)
            }
        case let .sequence(sequence):
            for element in sequence { try check(element, key: key, path: path) }
        }
    }

    /// Why Yams' base-60 reading of `text` would trap, or nil. It mirrors Yams: an optional sign, no `0`, `0x`,
    /// `0b`, `0o` prefix, at least one colon; the colon-separated parts that are decimal integers (others are
    /// skipped) are summed as digit · 60^i from the right, the base growing after every digit.
    static func baseSixtyProblem(_ text: String, unsigned: Bool) -> String? {
        var body = Substring(text)
        let negative = body.hasPrefix("-")
        if negative || body.hasPrefix("+") { body = body.dropFirst() }
        guard body.contains(":"), !body.hasPrefix("0") else { return nil }
        let shown = text.count > 40 ? text.prefix(40) + "…" : Substring(text)
        var base = 1
        var value = 0
        for part in body.split(separator: ":", omittingEmptySubsequences: false).reversed() {
            guard let digit = Int(part, radix: 10) else { continue }
            let (product, productOverflow) = digit.multipliedReportingOverflow(by: base)
            let (sum, sumOverflow) = value.addingReportingOverflow(product)
            let (next, baseOverflow) = base.multipliedReportingOverflow(by: 60)
            guard !productOverflow, !sumOverflow, !baseOverflow else {
                return "'\(shown)' reads as a YAML 1.1 base-60 integer (1:30 = 90) too large for 64 bits"
            }
            (value, base) = (sum, next)
        }
        if negative && unsigned { return "'\(shown)' reads as a negative base-60 integer in an unsigned field" }
        return nil
    }
}
