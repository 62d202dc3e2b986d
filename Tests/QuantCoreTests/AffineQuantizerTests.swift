import TensorCore
import Testing

@testable import QuantCore

@Suite struct AffineQuantizerTests {
    static let integerSchemes: [QuantScheme] = [
        try! QuantScheme(dataType: .int8),
        try! QuantScheme(dataType: .int8, isNarrowRange: true),
        try! QuantScheme(dataType: .uint8, isSymmetric: false),
        try! QuantScheme(dataType: .int4, isSymmetric: false),
        try! QuantScheme(dataType: .uint4),
        try! QuantScheme(dataType: .int3, rounding: .halfAwayFromZero),
        try! QuantScheme(dataType: .int2, isSymmetric: false),
    ]

    func with(_ scheme: QuantScheme, _ granularity: QuantScheme.Granularity, groupSize: Int? = nil, axis: Int = 0)
        throws -> QuantScheme
    {
        try QuantScheme(
            dataType: scheme.dataType, granularity: granularity, groupSize: groupSize, axis: axis,
            isSymmetric: scheme.isSymmetric, isNarrowRange: scheme.isNarrowRange, scaleType: scheme.scaleType,
            rounding: scheme.rounding, isDynamic: granularity == .perToken)
    }

    /// Checks |x − x̂| ≤ scale/2 for every element, using each element's own slot scale.
    func expectWithinHalfStep(_ x: Tensor, _ scheme: QuantScheme, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
        let y = try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: scheme)
        let layout = try p.layout(for: x.shape, scheme: scheme)
        var worst: (excess: Float, index: Int) = (0, -1)
        for i in x.scalars.indices {
            let bound = AffineTolerance.halfStep(p.scales[layout.parameterIndex(ofElement: i)], value: x.scalars[i])
            let excess = abs(x.scalars[i] - y.scalars[i]) - bound
            if excess > worst.excess { worst = (excess, i) }
        }
        #expect(
            worst.index < 0,
            Comment(
                rawValue:
                    "\(scheme.dataType) \(scheme.granularity) shape \(x.shape): x = \(x.scalars[max(worst.index, 0)]) "
                    + "x̂ = \(y.scalars[max(worst.index, 0)]) exceeds scale/2 by \(worst.excess)"),
            sourceLocation: sourceLocation)
    }

    @Test(arguments: AffineTestData.sizes)
    func perGroupErrorIsWithinHalfAStep(count: Int) throws {
        let x = AffineTestData.matrix(rows: 3, columns: count)
        for base in Self.integerSchemes {
            for groupSize in AffineTestData.groupSizes {
                try expectWithinHalfStep(x, with(base, .perGroup, groupSize: groupSize))
            }
        }
    }

    @Test(arguments: AffineTestData.sizes)
    func otherGranularitiesAreWithinHalfAStep(count: Int) throws {
        let x = AffineTestData.matrix(rows: 3, columns: count)
        for base in Self.integerSchemes {
            try expectWithinHalfStep(x, base)
            try expectWithinHalfStep(x, with(base, .perChannel, axis: 0))
            try expectWithinHalfStep(x, with(base, .perChannel, axis: 1))
            try expectWithinHalfStep(x, with(base, .perToken))
            try expectWithinHalfStep(Tensor(shape: [count], scalars: x.row(1).map { $0 }), base)
        }
    }

    @Test func threeDimensionalPerChannelAlongEveryAxis() throws {
        let x = Tensor(shape: [4, 5, 6], scalars: AffineTestData.wave(count: 120, offset: 0.3))
        for axis in 0..<3 {
            try expectWithinHalfStep(x, with(Self.integerSchemes[2], .perChannel, axis: axis))
            let scheme = try with(Self.integerSchemes[0], .perChannel, axis: axis)
            let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
            #expect(p.scales.count == x.shape[axis])
            #expect(p == (try AffineQuantizer.parametersReference(for: x, scheme: scheme)))
        }
    }

    @Test func fastPathsMatchTheReference() throws {
        let shapes: [[Int]] = [[1], [7], [3, 33], [5, 128], [2, 3, 31], [0, 4], [4, 0]]
        for shape in shapes {
            let count = shape.reduce(1, *)
            let x = Tensor(
                shape: shape,
                scalars: AffineTestData.uniform(count: count, seed: UInt64(count + 1)).map { $0 * 3 + 0.4 })
            for base in Self.integerSchemes {
                for rounding in QuantScheme.Rounding.allCases {
                    var b = base
                    b.rounding = rounding
                    var schemes = [
                        b, try with(b, .perToken), try with(b, .perGroup, groupSize: 32),
                        try with(b, .perGroup, groupSize: 5),
                    ]
                    for axis in shape.indices { schemes.append(try with(b, .perChannel, axis: axis)) }
                    for scheme in schemes {
                        let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
                        #expect(p == (try AffineQuantizer.parametersReference(for: x, scheme: scheme)))
                        let fast = try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: scheme)
                        let reference = try AffineQuantizer.fakeQuantizeReference(x, parameters: p, scheme: scheme)
                        let (difference, index) = largestDifference(fast.scalars, reference.scalars)
                        #expect(
                            fast == reference,
                            Comment(
                                rawValue: "\(scheme.granularity) \(shape) \(rounding): "
                                    + "fast \(index >= 0 ? fast.scalars[index] : 0) "
                                    + "reference \(index >= 0 ? reference.scalars[index] : 0), "
                                    + "largest difference \(difference)"))
                        let codes = try AffineQuantizer.quantize(x, parameters: p, scheme: scheme)
                        #expect(codes == (try AffineQuantizer.quantizeReference(x, parameters: p, scheme: scheme)))
                        #expect(try AffineQuantizer.dequantize(codes, shape: shape, parameters: p) == fast)
                        #expect(try AffineQuantizer.fakeQuantize(x, scheme: scheme) == fast)
                        var inPlace = x
                        try AffineQuantizer.fakeQuantizeInPlace(&inPlace, scheme: scheme)
                        #expect(inPlace == fast)
                        inPlace = x
                        try AffineQuantizer.fakeQuantizeInPlace(&inPlace, parameters: p, scheme: scheme)
                        #expect(inPlace == fast)
                    }
                }
            }
        }
    }

    @Test(arguments: [QuantScheme.Granularity.perTensor, .perToken, .perGroup, .perChannel])
    func rowBufferVariantMatchesTheTensorPath(granularity: QuantScheme.Granularity) throws {
        let x = AffineTestData.matrix(rows: 9, columns: 70)
        for axis in granularity == .perChannel ? [0, 1] : [0] {
            let scheme = try QuantScheme(
                dataType: .int8, granularity: granularity, groupSize: granularity == .perGroup ? 32 : nil, axis: axis,
                isSymmetric: false, isDynamic: true)
            let expected = try AffineQuantizer.fakeQuantize(x, scheme: scheme)
            var dynamic = x.scalars
            try dynamic.withUnsafeMutableBufferPointer { buffer in
                try AffineQuantizer.fakeQuantizeRows(buffer.baseAddress!, rows: 9, columns: 70, scheme: scheme)
            }
            #expect(dynamic == expected.scalars)
            let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
            var fixed = x.scalars
            try fixed.withUnsafeMutableBufferPointer { buffer in
                try AffineQuantizer.fakeQuantizeRows(
                    buffer.baseAddress!, rows: 9, columns: 70, parameters: p, scheme: scheme)
            }
            #expect(fixed == expected.scalars)
        }
    }

    @Test func fakeQuantizationIsIdempotent() throws {
        let x = AffineTestData.matrix(rows: 4, columns: 97)
        for base in Self.integerSchemes {
            for scheme in [base, try with(base, .perGroup, groupSize: 32), try with(base, .perChannel, axis: 1)] {
                let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
                let once = try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: scheme)
                let twice = try AffineQuantizer.fakeQuantize(once, parameters: p, scheme: scheme)
                let (difference, _) = largestDifference(once.scalars, twice.scalars)
                #expect(once == twice, "\(scheme.dataType) \(scheme.granularity): largest difference \(difference)")
            }
        }
    }

    @Test func zeroIsExact() throws {
        var values = AffineTestData.wave(count: 50, offset: 0.37)
        values[0] = 0
        values[17] = 0
        values[49] = -0.0
        let x = Tensor(shape: [50], scalars: values)
        for base in Self.integerSchemes {
            for scheme in [base, try with(base, .perGroup, groupSize: 7)] {
                let y = try AffineQuantizer.fakeQuantize(x, scheme: scheme)
                #expect(y.scalars[0] == 0 && y.scalars[17] == 0 && y.scalars[49] == 0)
                #expect(y.scalars[0].sign == .plus, "0.0 must come back as +0 like PyTorch's integer round trip")
            }
        }
        // All-positive data still includes 0 in its range.
        let positive = Tensor(shape: [3], scalars: [0, 2, 3])
        #expect(
            try AffineQuantizer.fakeQuantize(positive, scheme: QuantScheme(dataType: .uint8, isSymmetric: false))
                .scalars[0] == 0)
    }

    @Test(arguments: QuantScheme.Rounding.allCases)
    func roundingModesOnTies(rounding: QuantScheme.Rounding) throws {
        let scheme = try QuantScheme(dataType: .int8, rounding: rounding)
        let p = try QuantParameters(granularity: .perTensor, shape: [6], scales: [0.25], zeroPoints: [0])
        // x / 0.25 = 0.5, 1.5, 2.5, −0.5, −1.5, −2.5 exactly.
        let x = Tensor(shape: [6], scalars: [0.125, 0.375, 0.625, -0.125, -0.375, -0.625])
        let expected: [Int32] =
            switch rounding {
            case .halfToEven: [0, 2, 2, 0, -2, -2]
            case .halfAwayFromZero: [1, 2, 3, -1, -2, -3]
            case .floor: [0, 1, 2, -1, -2, -3]
            }
        #expect(try AffineQuantizer.quantize(x, parameters: p, scheme: scheme) == expected)
        #expect(
            try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: scheme).scalars
                == expected.map { Float($0) * 0.25 })
    }

    @Test func narrowRangeNeverUsesTheLowestCode() throws {
        let scheme = try QuantScheme(dataType: .int8, isNarrowRange: true)
        let x = Tensor(shape: [5], scalars: [-1, 1, -0.999, 0.5, -1])
        let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
        #expect(p.scales == [Float(1) / 127])
        #expect(try AffineQuantizer.quantize(x, parameters: p, scheme: scheme) == [-127, 127, -127, 64, -127])
        // Far below the range still clamps to −127, not −128.
        let beyond = Tensor(shape: [2], scalars: [-50, 50])
        #expect(try AffineQuantizer.quantize(beyond, parameters: p, scheme: scheme) == [-127, 127])
        let full = try QuantScheme(dataType: .int8)
        let q = try QuantParameters(granularity: .perTensor, shape: [], scales: [Float(1) / 127], zeroPoints: [0])
        #expect(try AffineQuantizer.quantize(beyond, parameters: q, scheme: full) == [-128, 127])
    }

    @Test(arguments: [
        try! QuantScheme(dataType: .int8, scaleType: .powerOfTwo),
        try! QuantScheme(dataType: .uint4, isSymmetric: false, scaleType: .powerOfTwo),
        try! QuantScheme(dataType: .int4, granularity: .perGroup, groupSize: 32, scaleType: .powerOfTwo),
    ])
    func powerOfTwoScalesClipNothing(scheme: QuantScheme) throws {
        let x = AffineTestData.matrix(rows: 5, columns: 77)
        let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
        #expect(p.scales.allSatisfy { $0.significandBitPattern == 0 })
        try expectWithinHalfStep(x, scheme)
    }

    @Test func float16ScalesKeepInRangeValuesWithinHalfAStep() throws {
        let scheme = try QuantScheme(
            dataType: .int4, granularity: .perGroup, groupSize: 32, isSymmetric: false, scaleType: .float16)
        let x = AffineTestData.matrix(rows: 4, columns: 100)
        let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
        #expect(p.scales.allSatisfy { Float(Float16($0)) == $0 })
        let y = try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: scheme)
        let layout = try p.layout(for: x.shape, scheme: scheme)
        for i in x.scalars.indices {
            let slot = layout.parameterIndex(ofElement: i)
            let range = p.representableRange(at: slot, scheme: scheme)
            guard range.contains(x.scalars[i]) else { continue }  // in-range values only
            #expect(abs(x.scalars[i] - y.scalars[i]) <= AffineTolerance.halfStep(p.scales[slot], value: x.scalars[i]))
        }
    }

    @Test func raggedLastGroupHasItsOwnScale() throws {
        // [1, 33] in groups of 32: the 33rd element alone sets the second group's scale.
        var values = [Float](repeating: 1, count: 33)
        values[32] = 0.01
        let scheme = try QuantScheme(dataType: .int8, granularity: .perGroup, groupSize: 32)
        let p = try AffineQuantizer.parameters(for: Tensor(shape: [1, 33], scalars: values), scheme: scheme)
        #expect(p.scales == [Float(1) / 127.5, Float(0.01) / 127.5])
    }

    @Test func nonFiniteInputsNameTheElement() throws {
        let scheme = try QuantScheme(dataType: .int8)
        var values = AffineTestData.wave(count: 6)
        values[5] = .nan
        let x = Tensor(shape: [2, 3], scalars: values)
        #expect(throws: QuantError.nonFiniteInput("fake_quantize: element 5 (index [1, 2]) of shape [2, 3] is nan")) {
            try AffineQuantizer.fakeQuantize(x, scheme: scheme)
        }
        #expect(throws: QuantError.nonFiniteInput("parameters: element 5 (index [1, 2]) of shape [2, 3] is nan")) {
            try AffineQuantizer.parameters(for: x, scheme: scheme)
        }
        values[5] = 0
        values[1] = -.infinity
        let y = Tensor(shape: [2, 3], scalars: values)
        let p = try QuantParameters(granularity: .perTensor, shape: [], scales: [0.1], zeroPoints: [0])
        #expect(throws: QuantError.nonFiniteInput("quantize: element 1 (index [0, 1]) of shape [2, 3] is -inf")) {
            try AffineQuantizer.quantize(y, parameters: p, scheme: scheme)
        }
        #expect(throws: QuantError.nonFiniteInput("fake_quantize: element 1 (index [0, 1]) of shape [2, 3] is -inf")) {
            try AffineQuantizer.fakeQuantize(y, parameters: p, scheme: scheme)
        }
        var buffer = values
        #expect(throws: QuantError.nonFiniteInput("fake_quantize: element 1 (index [0, 1]) of shape [2, 3] is -inf")) {
            try buffer.withUnsafeMutableBufferPointer { b in
                try AffineQuantizer.fakeQuantizeRows(b.baseAddress!, rows: 2, columns: 3, parameters: p, scheme: scheme)
            }
        }
        #expect(buffer == values, "static in-place fake quantization checks before writing")
        let perToken = try QuantScheme(dataType: .int8, granularity: .perToken, isDynamic: true)
        #expect(throws: QuantError.nonFiniteInput("fake_quantize: element 1 (index [0, 1]) of shape [2, 3] is -inf")) {
            try buffer.withUnsafeMutableBufferPointer { b in
                try AffineQuantizer.fakeQuantizeRows(b.baseAddress!, rows: 2, columns: 3, scheme: perToken)
            }
        }
    }

    @Test func mismatchedParametersAreRejected() throws {
        let x = AffineTestData.matrix(rows: 2, columns: 8)
        let perChannel = try QuantScheme(dataType: .int8, granularity: .perChannel)
        let p = try AffineQuantizer.parameters(for: x, scheme: perChannel)
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "granularity", reason: "parameters are per_channel(axis: 0) but the scheme asks for per_tensor")
        ) {
            try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: QuantScheme(dataType: .int8))
        }
        #expect(
            throws: QuantError.shapeMismatch(
                "per_channel(axis: 0) parameters hold 2 scales (computed for shape [2, 8]) but shape [3, 8] needs 3")
        ) {
            try AffineQuantizer.fakeQuantize(
                AffineTestData.matrix(rows: 3, columns: 8), parameters: p, scheme: perChannel)
        }
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "dtype", reason: "AffineQuantizer produces integer codes; fp8_e4m3 needs its float codec")
        ) {
            try AffineQuantizer.fakeQuantize(x, scheme: QuantScheme(dataType: .fp8_e4m3))
        }
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "axis", reason: "per_channel axis 2 is out of range for shape [2, 8]")
        ) {
            try AffineQuantizer.parameters(
                for: x, scheme: QuantScheme(dataType: .int8, granularity: .perChannel, axis: 2))
        }
        // Static per-channel activation parameters apply to any number of rows when the channel axis is the last.
        let features = try QuantScheme(dataType: .int8, granularity: .perChannel, axis: 1)
        let q = try AffineQuantizer.parameters(for: x, scheme: features)
        #expect(
            try AffineQuantizer.fakeQuantize(
                AffineTestData.matrix(rows: 5, columns: 8), parameters: q, scheme: features
            ).shape == [5, 8])
    }

    @Test func fp8ParametersFromATensor() throws {
        let x = Tensor(shape: [2, 2], scalars: [1, -896, 0.5, 44.8])
        let p = try AffineQuantizer.parameters(
            for: x, scheme: QuantScheme(dataType: .fp8_e4m3, granularity: .perToken, isDynamic: true),
            formatMaximum: 448)
        #expect(p.scales == [2, 0.1])
        #expect(p.zeroPoints == [0, 0])
    }
}
