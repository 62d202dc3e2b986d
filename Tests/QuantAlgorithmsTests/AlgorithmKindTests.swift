import Testing
@testable import QuantAlgorithms
import QuantCore

@Suite struct AlgorithmKindTests {
    @Test(arguments: [("gptq", AlgorithmKind.gptq), ("AWQ", .awq), ("smooth_quant", .smoothquant), ("Smooth-Quant", .smoothquant),
                      ("rotation", .rotation)])
    func parsesUserSpellings(name: String, expected: AlgorithmKind) {
        #expect(AlgorithmKind(name: name) == expected)
    }

    @Test func rejectsUnknownNames() {
        #expect(AlgorithmKind(name: "squeezellm") == nil)
        #expect(AlgorithmKind(name: "") == nil)
    }
}

@Suite struct AlgorithmListTests {
    @Test func recipesAcceptExactlyTheImplementedAlgorithms() {
        #expect(QuantRecipe.availableAlgorithms.sorted() == AlgorithmKind.allCases.map(\.rawValue).sorted())
    }
}
