import Foundation
import QuantCore
import Quantization
import Testing

@Suite struct KeySuggestionTests {
    @Test(arguments: [
        ("granularty", "granularity", 1), ("symetric", "symmetric", 1), ("obsrver", "observer", 1),
        ("sacle_type", "scale_type", 1), ("Granularity", "granularity", 0), ("kitten", "sitting", 3),
        ("", "axis", 4), ("axis", "", 4), ("ca", "abc", 3),
    ])
    func distanceCountsEditsAndNeighbourSwaps(a: String, b: String, expected: Int) {
        #expect(KeySuggestion.distance(a, b) == expected)
        #expect(KeySuggestion.distance(b, a) == expected)
    }

    @Test func onlyCloseNamesAreSuggested() {
        let keys = ["axis", "dtype", "granularity", "group_size", "observer", "symmetric"]
        #expect(KeySuggestion.nearest(to: "granularty", among: keys) == "granularity")
        #expect(KeySuggestion.nearest(to: "groupsize", among: keys) == "group_size")
        #expect(KeySuggestion.nearest(to: "colour", among: keys) == nil)
        #expect(KeySuggestion.nearest(to: "xyz", among: keys) == nil)
        // Long names tolerate a third of their length: "granularity_mode" is 5 edits from "granularity".
        #expect(KeySuggestion.tolerance(for: "granularity_mode") == 5)
        #expect(KeySuggestion.nearest(to: "granularity_mode", among: keys) == "granularity")
    }
}

/// Every level of a recipe rejects an unknown key with its full path and the nearest allowed key.
@Suite struct RecipeKeyTests {
    static func decode(_ json: String) throws -> QuantRecipe {
        try JSONDecoder().decode(QuantRecipe.self, from: Data(json.utf8))
    }

    @Test(arguments: [
        (#"{"weight": {"dtype": "int8", "granularty": "per_channel"}}"#, "weight.granularty", "granularity"),
        (#"{"input": {"dtype": "int8", "symetric": true}}"#, "input.symetric", "symmetric"),
        (#"{"weight": {"dtype": "int8", "obsrver": "minmax"}}"#, "weight.obsrver", "observer"),
        (#"{"output": {"dtype": "int8", "scale_tpye": "float16"}}"#, "output.scale_tpye", "scale_type"),
        (#"{"kv_cache": {"dtype": "fp8_e4m3", "dynamc": true}}"#, "kv_cache.dynamc", "dynamic"),
        (#"{"input": {"dtype": "int8", "observer": {"method": "percentile", "percentil": 99.9}}}"#,
         "input.observer.percentil", "percentile"),
        (#"{"weight": {"dtype": "int8"}, "overrides": [{"pattern": "*.down_proj", "exlude": true}]}"#,
         "overrides[*.down_proj].exlude", "exclude"),
        (#"{"weight": {"dtype": "int8"}, "overrides": [{"pattern": "*.down_proj", "weight": {"dtype": "int4", "group_sise": 8}}]}"#,
         "overrides[*.down_proj].weight.group_sise", "group_size"),
        (#"{"weight": {"dtype": "int8"}, "calibration": {"sample": 8}}"#, "calibration.sample", "samples"),
        (#"{"weight": {"dtype": "int8"}, "calibration": {"seq_length": 64}}"#, "calibration.seq_length", "seq_len"),
        (#"{"wieght": {"dtype": "int8"}}"#, "wieght", "weight"),
        (#"{"weight": {"dtype": "int8"}, "kv-cache": {"dtype": "int8"}}"#, "kv-cache", "kv_cache"),
    ])
    func misspeltKeysNameThePathAndTheNearestKey(json: String, field: String, suggestion: String) throws {
        do {
            _ = try Self.decode(json)
            Issue.record("accepted \(json)")
        } catch let QuantError.invalidConfiguration(actualField, reason) {
            #expect(actualField == field)
            #expect(reason.contains("did you mean '\(suggestion)'?"), "\(reason)")
            #expect(reason.contains("(allowed: "), "\(reason)")
        }
    }

    @Test func unrelatedKeysGetTheAllowedListWithoutAGuess() throws {
        #expect(throws: QuantError.invalidConfiguration(
            field: "weight.colour",
            reason: "unknown scheme field (allowed: axis, dtype, dynamic, granularity, group_size, narrow_range, observer, "
                + "rounding, scale_mode, scale_type, symmetric)")) {
            try Self.decode(#"{"weight": {"dtype": "int8", "colour": "red"}}"#)
        }
        #expect(throws: QuantError.invalidConfiguration(
            field: "calibration.tokens", reason: "unknown calibration field (allowed: file, samples, seed, seq_len, token_file)")) {
            try Self.decode(#"{"weight": {"dtype": "int8"}, "calibration": {"tokens": 8}}"#)
        }
    }

    @Test func anOverrideWithoutAPatternNamesItsIndex() throws {
        #expect(throws: QuantError.invalidConfiguration(
            field: "overrides[1].pattern", reason: "missing: each override needs an exact layer name or a glob")) {
            try Self.decode(#"""
                {"weight": {"dtype": "int8"},
                 "overrides": [{"pattern": "lm_head", "exclude": true}, {"weight": {"dtype": "int4"}}]}
                """#)
        }
    }

    /// Every key a recipe writes is one it reads back, observer settings included.
    @Test(arguments: [
        ObserverKind.minMax, .movingAverageMinMax(momentum: 0.1), .percentile(99.9), .mse, .histogramKL(bins: 256),
        .hybrid(bins: 512),
    ])
    func encodedRecipesDecodeAgain(observer: ObserverKind) throws {
        let recipe = try QuantRecipe(
            name: "round-trip", weight: .init(dataType: .int4, granularity: .perGroup, groupSize: 32),
            input: .init(dataType: .int8, observer: observer), kvCache: .init(dataType: .fp8_e4m3),
            overrides: [.init(pattern: "*.down_proj", weight: try .init(dataType: .int8, granularity: .perChannel))],
            calibration: .init(file: "calib.txt", samples: 4, sequenceLength: 16, seed: 7))
        #expect(try JSONDecoder().decode(QuantRecipe.self, from: try JSONEncoder().encode(recipe)) == recipe)
    }
}
