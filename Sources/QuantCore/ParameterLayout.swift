/// How the elements of a row-major tensor map to parameter slots; the index arithmetic behind `QuantParameters`.
enum ParameterLayout: Equatable, Sendable {
    /// Element `(o, c, i)` sits at `(o · channels + c) · inner + i` and uses slot `c`. Per tensor is `(1, 1, n)`,
    /// per channel along `axis` is `(∏ shape[..<axis], shape[axis], ∏ shape[axis+1...])`, per token `(1, rows, cols)`.
    case blocked(outer: Int, channels: Int, inner: Int)
    /// Element `(r, j)` uses slot `r · ⌈columns / groupSize⌉ + j / groupSize`; the last group of a row may be short.
    case grouped(rows: Int, columns: Int, groupSize: Int)

    init(_ parameters: QuantParameters, shape: [Int]) throws(QuantError) {
        try self.init(
            granularity: parameters.granularity, axis: parameters.axis, groupSize: parameters.groupSize, shape: shape)
    }

    init(granularity: QuantScheme.Granularity, axis: Int, groupSize: Int?, shape: [Int]) throws(QuantError) {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .shapeMismatch("negative dimension in shape \(shape)") }
        let elementCount = try Self.product(shape[...], shape: shape)
        let columns = shape.last ?? 1
        let rows = columns == 0 ? try Self.product(shape.dropLast(), shape: shape) : elementCount / columns
        switch granularity {
        case .perTensor:
            self = .blocked(outer: 1, channels: 1, inner: elementCount)
        case .perChannel:
            guard axis >= 0, axis < shape.count else {
                throw .invalidConfiguration(
                    field: "axis", reason: "per_channel axis \(axis) is out of range for shape \(shape)")
            }
            self = .blocked(
                outer: try Self.product(shape[..<axis], shape: shape), channels: shape[axis],
                inner: try Self.product(shape[(axis + 1)...], shape: shape))
        case .perToken:
            self = .blocked(outer: 1, channels: rows, inner: columns)
        case .perGroup:
            guard let groupSize, groupSize > 0 else {
                throw .invalidConfiguration(field: "group_size", reason: "per_group needs a group_size > 0")
            }
            self = .grouped(rows: rows, columns: columns, groupSize: groupSize)
        case .perBlock:
            throw .invalidConfiguration(
                field: "granularity", reason: "per_block (OCP MX) scales belong to the microscaling codec, not affine")
        }
    }

    private static func product(_ dimensions: ArraySlice<Int>, shape: [Int]) throws(QuantError) -> Int {
        var result = 1
        for d in dimensions {
            let (p, overflow) = result.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .shapeMismatch("element count of shape \(shape) overflows Int") }
            result = p
        }
        return result
    }

    /// Number of scale / zero-point slots.
    var parameterCount: Int {
        switch self {
        case .blocked(_, let channels, _): channels
        case .grouped(let rows, let columns, let groupSize):
            rows * Self.groupsPerRow(columns: columns, groupSize: groupSize)
        }
    }

    /// Number of elements covered.
    var elementCount: Int {
        switch self {
        case .blocked(let outer, let channels, let inner): outer * channels * inner
        case .grouped(let rows, let columns, _): rows * columns
        }
    }

    static func groupsPerRow(columns: Int, groupSize: Int) -> Int { (columns + groupSize - 1) / groupSize }

    /// Slot of the element at flat index `index` (reference path; the kernels walk runs instead).
    func parameterIndex(ofElement index: Int) -> Int {
        switch self {
        case .blocked(_, let channels, let inner): (index / inner) % channels
        case .grouped(_, let columns, let groupSize):
            (index / columns) * Self.groupsPerRow(columns: columns, groupSize: groupSize) + (index % columns)
                / groupSize
        }
    }

    /// Calls `body(start, count, slot)` for each maximal run of consecutive elements sharing one slot, in memory
    /// order. Not used for `.blocked` layouts with `inner == 1` (every run would be one element).
    @inline(__always)
    func forEachRun<E: Error>(_ body: (_ start: Int, _ count: Int, _ slot: Int) throws(E) -> Void) throws(E) {
        switch self {
        case .blocked(let outer, let channels, let inner):
            guard inner > 0 else { return }
            for o in 0..<outer {
                for c in 0..<channels { try body((o * channels + c) * inner, inner, c) }
            }
        case .grouped(let rows, let columns, let groupSize):
            let groups = Self.groupsPerRow(columns: columns, groupSize: groupSize)
            for r in 0..<rows {
                for g in 0..<groups {
                    let start = g * groupSize
                    try body(r * columns + start, min(groupSize, columns - start), r * groups + g)
                }
            }
        }
    }

    /// True for per-channel layouts along the last axis, where each element of a row has its own slot.
    var isElementwise: Bool {
        if case .blocked(_, let channels, let inner) = self { return inner == 1 && channels > 1 }
        return false
    }
}
