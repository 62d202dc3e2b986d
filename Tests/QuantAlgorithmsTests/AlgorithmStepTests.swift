import Foundation
import QuantAlgorithms
import QuantCore
import Testing

@Suite struct AlgorithmStepTests {
    static func decode(_ json: String) throws -> AlgorithmStep {
        try JSONDecoder().decode(AlgorithmStep.self, from: Data(json.utf8))
    }

    @Test(arguments: [("gptq", "gptq"), ("AWQ", "awq"), ("smooth_quant", "smoothquant"), ("Smooth-Quant", "smoothquant"),
                      ("rotation", "rotation")])
    func parsesUserSpellings(typed: String, name: String) throws {
        #expect(try AlgorithmStep.named(typed).name == name)
    }

    @Test func unknownNamesListTheAvailableOnes() {
        #expect(throws: QuantError.invalidConfiguration(
            field: "algorithms", reason: "'squeezellm' is not available (available: rotation, smoothquant, awq, gptq)")) {
            try AlgorithmStep.named("squeezellm")
        }
    }

    @Test func everyRegistrationBuildsItsOwnCase() throws {
        for registration in AlgorithmStep.registry {
            let step = try AlgorithmStep.named(registration.name)
            #expect(step.name == registration.name)
            #expect(step.stage == registration.stage)
            #expect(!registration.settingKeys.isEmpty)
        }
        #expect(Set(AlgorithmStep.names).count == AlgorithmStep.registry.count)
    }

    @Test func everyStepPlaysTheRoleOfItsStage() throws {
        for name in AlgorithmStep.names {
            let step = try AlgorithmStep.named(name)
            switch (step.role, step.stage) {
            case (.modelTransform, .wholeModel), (.scaleMigration, .scaleMigration), (.weightRounding, .weightRounding): break
            default: Issue.record("\(name): role does not match stage \(step.stage)")
            }
        }
    }

    @Test func settingsDecodeIntoTheConfiguration() throws {
        let step = try Self.decode(#"{"name": "gptq", "act_order": true, "mse": true, "block_size": 64}"#)
        #expect(step == .gptq(try GPTQ.Configuration(blockSize: 64, actOrder: true, searchesRange: true)))
        #expect(try Self.decode(#""awq""#) == .awq(try AWQ.Configuration()))
    }

    @Test(arguments: [
        (#"{"name": "gptq", "actorder": true}"#, "algorithms.gptq.actorder", "unknown setting; allowed:"),
        (#"{"name": "smoothquant", "alpha": "high"}"#, "algorithms.smoothquant.alpha", "expected"),
        (#"{"name": "smoothquant", "alpha": 1.5}"#, "smoothquant.alpha", "must lie in [0, 1]"),
        (#"{"alpha": 0.5}"#, "algorithms", "needs a \"name\""),
    ])
    func badSettingsNameTheField(json: String, field: String, reason: String) throws {
        do {
            _ = try Self.decode(json)
            Issue.record("accepted \(json)")
        } catch let QuantError.invalidConfiguration(actualField, actualReason) {
            #expect(actualField == field)
            #expect(actualReason.contains(reason), "\(actualReason)")
        }
    }

    @Test func defaultStepsEncodeAsTheirNameOthersWithEverySetting() throws {
        let steps: [AlgorithmStep] = [
            try .named("rotation"), .smoothQuant(try SmoothQuant.Configuration(alpha: 0.7)),
            .gptq(try GPTQ.Configuration(actOrder: true)),
        ]
        let data = try JSONEncoder().encode(steps)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [Any])
        #expect(object[0] as? String == "rotation")
        #expect((object[1] as? [String: Any])?["alpha"] as? Double == 0.7)
        #expect((object[2] as? [String: Any])?["act_order"] as? Bool == true)
        #expect(try JSONDecoder().decode([AlgorithmStep].self, from: data) == steps)
    }

    @Test(arguments: [
        (["gptq", "awq"], "gptq rounds the weights and must come last"),
        (["awq", "rotation"], "rotation transforms the whole model and must come first"),
        (["awq", "awq"], "'awq' is listed more than once"),
    ])
    func orderRulesLiveInOnePlace(names: [String], reason: String) throws {
        let steps = try names.map { try AlgorithmStep.named($0) }
        #expect(throws: QuantError.invalidConfiguration(field: "algorithms", reason: reason)) {
            try AlgorithmStep.validate(steps, weightSchemes: [try QuantScheme(dataType: .int8, granularity: .perChannel)])
        }
    }
}
