import Inference
import TensorCore
import Testing
import TestSupport

let inputTransformTolerance: Float = 1e-4

@Suite struct LinearInputTransformTests {
    static func layer(_ name: String, out: Int, inFeatures: Int, seed: UInt64, transform: HadamardTransform?) -> Linear
    {
        Linear(
            weight: Tensor(shape: [out, inFeatures], scalars: Fixtures.uniform(count: out * inFeatures, seed: seed)),
            bias: Tensor(shape: [out], scalars: Fixtures.uniform(count: out, seed: seed + 100)), name: name,
            inputTransform: transform)
    }

    /// (x·Q)·Wᵀ + b through dense products.
    static func expected(_ layer: Linear, _ x: Tensor) -> [Float] {
        var input = x
        if let q = layer.inputTransform { input = input.matmul(q.matrix()) }
        let y = input.matmulTransposed(layer.weight)
        let n = layer.outFeatures
        return y.scalars.enumerated().map { $0.element + layer.bias!.scalars[$0.offset % n] }
    }

    static func run(_ body: (UnsafeMutablePointer<Float>) throws -> Void, count: Int) rethrows -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        try out.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
        return out
    }

    @Test(arguments: [1, 3, 70])
    func everyPathAppliesTheTransform(rows: Int) throws {
        let q = try HadamardTransform(dimension: 96, seed: 8)
        let x = Tensor(shape: [rows, 96], scalars: Fixtures.uniform(count: rows * 96, seed: 5, scale: 3))
        let a = Self.layer("a", out: 40, inFeatures: 96, seed: 1, transform: q)
        let b = Self.layer("b", out: 24, inFeatures: 96, seed: 2, transform: q)
        let plain = Self.layer("c", out: 24, inFeatures: 96, seed: 3, transform: nil)
        let recorder = LinearInputRecorder()
        try x.scalars.withUnsafeBufferPointer { input in
            let xp = input.baseAddress!
            let unhooked = Self.run({ a.forward(xp, rows: rows, into: $0) }, count: rows * 40)
            let hooked = try Self.run({ try a.forward(xp, rows: rows, into: $0, hooks: recorder) }, count: rows * 40)
            let want = Self.expected(a, x)
            #expect(Tolerance.maxAbsDifference(unhooked, want) < inputTransformTolerance)
            #expect(Tolerance.maxAbsDifference(hooked, unhooked) == 0)
            // The hook saw x·Q.
            let seen = try #require(recorder.inputs["a"])
            #expect(Tolerance.maxAbsDifference(seen, x.matmul(q.matrix()).scalars) < inputTransformTolerance)
            // Several layers at once: shared transform (fused decode pass for one row), mixed, with and without hooks.
            for group in [[a, b], [a, plain], [plain, b]] {
                for hooks in [nil, recorder as (any ForwardHooks)?] {
                    var outputs = group.map { [Float](repeating: .nan, count: rows * $0.outFeatures) }
                    let pointers = outputs.indices.map { i in
                        UnsafeMutablePointer<Float>.allocate(capacity: rows * group[i].outFeatures)
                    }
                    defer { pointers.forEach { $0.deallocate() } }
                    try Linear.forward(group, xp, rows: rows, into: pointers, hooks: hooks)
                    for i in group.indices {
                        outputs[i] = Array(UnsafeBufferPointer(start: pointers[i], count: rows * group[i].outFeatures))
                        let difference = Tolerance.maxAbsDifference(outputs[i], Self.expected(group[i], x))
                        #expect(
                            difference < inputTransformTolerance,
                            "\(group.map(\.name)) layer \(i) hooks \(hooks != nil): \(difference)")
                    }
                }
            }
        }
        // The caller's input is never modified.
        #expect(x.scalars == Fixtures.uniform(count: rows * 96, seed: 5, scale: 3))
    }
}
