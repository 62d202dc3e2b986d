import Foundation
import QuantCore
import Quantization
import Testing

/// `input: none` / `output: none` in an override keeps that point in float; leaving the key out inherits.
@Suite struct OverrideFloatTests {
    static func decode(_ json: String) throws -> QuantRecipe {
        try JSONDecoder().decode(QuantRecipe.self, from: Data(json.utf8))
    }

    @Test func noneKeepsThePointInFloatAndALeftOutKeyInherits() throws {
        let recipe = try Self.decode(#"""
            {"weight": {"dtype": "int8"}, "input": {"dtype": "int8"}, "output": {"dtype": "int8"},
             "overrides": [{"pattern": "*.down_proj", "input": "none"}, {"pattern": "*.o_proj", "output": "none"},
                           {"pattern": "*.q_proj", "weight": {"dtype": "int4", "granularity": "per_channel"}}]}
            """#)
        let down = recipe.overrides[0], o = recipe.overrides[1], q = recipe.overrides[2]
        #expect(down.keepsInputFloat && down.input == nil && !down.keepsOutputFloat)
        #expect(o.keepsOutputFloat && o.output == nil && !o.keepsInputFloat)
        #expect(!q.keepsInputFloat && !q.keepsOutputFloat && q.input == nil && q.weight?.dataType == .int4)
    }

    @Test func theFloatKeywordSurvivesEncoding() throws {
        let recipe = try QuantRecipe(
            name: "float-inputs", weight: .init(dataType: .int8), input: .init(dataType: .int8),
            overrides: [.init(pattern: "*.down_proj", keepsInputFloat: true, keepsOutputFloat: true)])
        let data = try JSONEncoder().encode(recipe)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let override = try #require((object["overrides"] as? [[String: Any]])?.first)
        #expect(override["input"] as? String == "none")
        #expect(override["output"] as? String == "none")
        #expect(try JSONDecoder().decode(QuantRecipe.self, from: data) == recipe)
    }

    @Test(arguments: [
        (#"{"pattern": "*.down_proj", "input": null}"#, "overrides[*.down_proj].input",
         "null is ambiguous: leave the key out to keep the recipe's input scheme, or write 'none' to keep it in float"),
        (#"{"pattern": "*.down_proj", "output": "float"}"#, "overrides[*.down_proj].output",
         "'float' is not a scheme; write a scheme object, or 'none' to keep it in float"),
        (#"{"pattern": "*.down_proj", "weight": "none"}"#, "overrides[*.down_proj].weight",
         "'none' is not a scheme; to leave the layers' weights in float use exclude: true"),
        (#"{"pattern": "*.down_proj", "input": {"dtype": "int5"}}"#, "overrides[*.down_proj].input.dtype",
         "unknown data type 'int5'"),
    ])
    func otherPointValuesAreRefused(override: String, field: String, reason: String) throws {
        do {
            _ = try Self.decode(#"{"weight": {"dtype": "int8"}, "input": {"dtype": "int8"}, "overrides": [\#(override)]}"#)
            Issue.record("accepted \(override)")
        } catch let QuantError.invalidConfiguration(actualField, actualReason) {
            #expect(actualField == field)
            #expect(actualReason.hasPrefix(reason), "\(actualReason)")
        }
    }

    @Test func aPointCannotBeBothFloatAndQuantized() throws {
        #expect(throws: QuantError.invalidConfiguration(
            field: "overrides[lm_head]", reason: "a point is either kept in float or given a scheme, not both")) {
            try QuantRecipe(
                name: "both", weight: .init(dataType: .int8),
                overrides: [.init(pattern: "lm_head", input: try .init(dataType: .int8), keepsInputFloat: true)])
        }
    }
}
