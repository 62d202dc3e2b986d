/// A dense, row-major float32 tensor: the one numeric container every module passes around.
///
/// Storage is a contiguous `[Float]` whose count equals the product of `shape`. Value semantics (copy on write)
/// make it `Sendable`; hot loops reach the storage through `withUnsafe(Mutable)BufferPointer`.
public struct Tensor: Sendable, Equatable {
    /// Extent of each dimension, outermost first (`weight: [outFeatures, inFeatures]`).
    public private(set) var shape: [Int]
    /// Row-major elements; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    /// Wraps `scalars` with `shape`. The counts must agree (an internal invariant; validate input first).
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == scalars.count, "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// Number of elements.
    public var elementCount: Int { scalars.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Row `index` of a rank-2 tensor `[rows, columns]`.
    public func row(_ index: Int) -> ArraySlice<Float> {
        precondition(rank == 2 && index >= 0 && index < shape[0])
        let width = shape[1]
        return scalars[(index * width)..<((index + 1) * width)]
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)" }
}
