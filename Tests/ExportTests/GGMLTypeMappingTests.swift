import ModelFormats
import QuantCore
import Quantization
import Testing

@testable import Export

/// The mapping table's decisions, and refusals that name the nearest type.
@Suite struct GGMLTypeMappingTests {
    typealias Decision = GGMLTypeMapping.Decision

    static func scheme(
        _ type: QuantDataType, _ granularity: QuantScheme.Granularity, group: Int? = nil, axis: Int = 0,
        symmetric: Bool = true
    ) -> QuantScheme {
        try! QuantScheme(dataType: type, granularity: granularity, groupSize: group, axis: axis, isSymmetric: symmetric)
    }

    @Test(arguments: [
        (scheme(.int4, .perGroup, group: 32), GGMLType.q4_0),
        (scheme(.uint4, .perGroup, group: 32), .q4_0),
        (scheme(.uint4, .perGroup, group: 32, symmetric: false), .q4_1),
        (scheme(.int4, .perGroup, group: 32, symmetric: false), .q4_1),
        // A group of 64 or 128 is two or four blocks sharing one scale: still exact.
        (scheme(.uint4, .perGroup, group: 128, symmetric: false), .q4_1),
        (scheme(.int3, .perChannel), .q4_0),
        (scheme(.uint2, .perTensor, symmetric: false), .q4_1),
        (scheme(.int8, .perChannel), .q8_0),
        (scheme(.int8, .perTensor), .q8_0),
        (scheme(.uint8, .perGroup, group: 32), .q8_0),
        (scheme(.float16, .perTensor), .f16),
        (scheme(.bfloat16, .perTensor), .bf16),
    ])
    func exactSchemes(scheme: QuantScheme, type: GGMLType) {
        #expect(GGMLTypeMapping.decide(scheme, shape: [64, 576]) == .exact(type))
    }

    @Test(arguments: [
        (scheme(.int8, .perChannel, symmetric: false), GGMLType.q8_0, "minimum"),
        (scheme(.uint4, .perGroup, group: 16, symmetric: false), .q4_1, "groups of 16"),
        (scheme(.int4, .perGroup, group: 48), .q4_0, "groups of 48"),
        (scheme(.int8, .perChannel, axis: 1), .q8_0, "axis 1"),
        (scheme(.fp8_e4m3, .perChannel), .q8_0, "FP8"),
        (scheme(.mxfp4_e2m1, .perBlock), .q4_0, "MX"),
        (scheme(.mxfp8_e4m3, .perBlock), .q8_0, "MX"),
    ])
    func refusedSchemesNameTheNearestType(scheme: QuantScheme, nearest: GGMLType, reason: String) throws {
        guard case let .refused(why, type) = GGMLTypeMapping.decide(scheme, shape: [64, 576]) else {
            Issue.record("\(scheme) was not refused")
            return
        }
        #expect(type == nearest)
        #expect(why.contains(reason), "\(why)")
    }

    @Test func rowsThatAreNotWholeBlocksAreRefused() {
        let decision = GGMLTypeMapping.decide(Self.scheme(.int8, .perChannel), shape: [8, 48])
        guard case let .refused(reason, nearest) = decision else {
            Issue.record("\(decision)")
            return
        }
        #expect(nearest == .f16 && reason.contains("48"))
    }

    @Test func theTableHasOneRowPerWrittenType() {
        #expect(Set(GGMLTypeMapping.table.map(\.type)) == Set(GGUFExport.writableTypes))
        #expect(GGMLTypeMapping.table.count == GGUFExport.writableTypes.count)
    }
}
