import Foundation
import Pipeline
import Quantization
import QuantCore
import Testing
import TestSupport

/// Recipe files: misspelt keys in YAML, and syntax errors that say where (file:line:column).
@Suite struct RecipeLoaderTests {
    /// Writes `text` to a fresh file called `name` and returns its path.
    static func write(_ text: String, as name: String) throws -> String {
        let path = Fixtures.temporaryDirectory() + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func invalidArgument(_ body: () throws -> QuantRecipe) -> String? {
        do {
            _ = try body()
            return nil
        } catch let PipelineError.invalidArgument(message) {
            return message
        } catch {
            return "other error: \(error)"
        }
    }

    @Test func misspeltYAMLKeyNamesItsPathAndTheNearestKey() throws {
        let path = try Self.write("weight:\n  dtype: int8\n  granularty: per_channel\n", as: "recipe.yaml")
        #expect(throws: QuantError.invalidConfiguration(
            field: "weight.granularty",
            reason: "unknown scheme field; did you mean 'granularity'? (allowed: axis, dtype, dynamic, granularity, "
                + "group_size, narrow_range, observer, rounding, scale_mode, scale_type, symmetric)")) {
            try RecipeLoader.load(path)
        }
    }

    /// libyaml's marks: line and column of the problem, 1-based, columns in Unicode scalars.
    @Test(arguments: [
        ("weight:\n  dtype: int8\n   granularity: per_channel\n", "3:15",
         "YAML syntax error: mapping values are not allowed in this context"),
        ("weight:\n  dtype: \"int8\n", "3:1",
         "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at 2:10)"),
        ("name: é\nweight: {dtype: \u{1}int8}\n", "2:17", "YAML syntax error: control characters are not allowed"),
    ])
    func yamlSyntaxErrorsGiveLineAndColumn(text: String, position: String, message: String) throws {
        let path = try Self.write(text, as: "recipe.yaml")
        #expect(Self.invalidArgument { try RecipeLoader.load(path) } == "\(path):\(position): \(message)")
    }

    /// Foundation reports a UTF-8 byte offset; the message turns it into line and column (the é is one column).
    @Test(arguments: [
        ("{\n  \"weight\": {\"dtype\": \"int8\",\n  \"granularity\" \"per_channel\"}\n}\n", "3:17",
         "JSON syntax error: Invalid value"),
        ("{\"name\": \"é-recipe\" \"weight\": {\"dtype\": \"int8\"}}", "1:21", "JSON syntax error: Invalid value"),
        ("{\"weight\": {\"dtype\": \"int8\"}", "1:29", "JSON syntax error: Unexpected end of file during JSON parse."),
    ])
    func jsonSyntaxErrorsGiveLineAndColumn(text: String, position: String, message: String) throws {
        let path = try Self.write(text, as: "recipe.json")
        #expect(Self.invalidArgument { try RecipeLoader.load(path) } == "\(path):\(position): \(message)")
    }

    @Test func wrongTypesNameTheField() throws {
        let yaml = try Self.write("weight: {dtype: int8}\ncalibration: {samples: many}\n", as: "r.yaml")
        #expect(Self.invalidArgument { try RecipeLoader.load(yaml) } == "\(yaml): calibration.samples: expected Int")
        let json = try Self.write(#"{"weight": {"dtype": "int8"}, "overrides": [{"pattern": 3}]}"#, as: "r.json")
        #expect(Self.invalidArgument { try RecipeLoader.load(json) } == "\(json): overrides[0].pattern: expected String")
        let list = try Self.write("- weight\n- input\n", as: "r.yml")
        #expect(Self.invalidArgument { try RecipeLoader.load(list) }?.contains("a recipe is a mapping of fields") == true)
    }

    /// Other extensions: `{` first means JSON (so its errors are JSON's), anything else YAML; presets still win.
    @Test func otherFilesAreJudgedByTheirFirstCharacter() throws {
        let json = try Self.write("  {\"name\": \"from-json\", \"weight\": {\"dtype\": \"int8\"}}", as: "recipe.txt")
        #expect(try RecipeLoader.load(json).name == "from-json")
        let yaml = try Self.write("name: from-yaml\nweight:\n  dtype: int8\n", as: "recipe.conf")
        #expect(try RecipeLoader.load(yaml).name == "from-yaml")
        let broken = try Self.write("{\"name\": \"x\",\n \"weight\" {}}", as: "recipe")
        #expect(Self.invalidArgument { try RecipeLoader.load(broken) } == "\(broken):2:11: JSON syntax error: Invalid value")
        #expect(try RecipeLoader.load("w8a16").name == "w8a16")
    }

    /// Found by the `recipe` fuzz target (Fixtures/fuzz/recipe-base-sixty-overflow.yaml, its input without the
    /// first byte): Yams reads an integer field's value with colons as YAML 1.1 base 60 and traps on overflow.
    @Test func baseSixtyIntegersThatWouldTrapAreErrors() throws {
        let url = try #require(
            Bundle.module.url(
                forResource: "recipe-base-sixty-overflow", withExtension: "yaml", subdirectory: "Fixtures/fuzz"))
        let message = try #require(Self.invalidArgument { try RecipeLoader.load(url.path) })
        #expect(message.hasPrefix("\(url.path):4:12: value (seq_len) '5999w999b_type"), "\(message)")
        #expect(message.hasSuffix("reads as a YAML 1.1 base-60 integer (1:30 = 90) too large for 64 bits"))
        // Eleven parts overflow the base; a negative seed would trap in the unsigned field.
        let long = try Self.write("calibration:\n  samples: 1:2:3:4:5:6:7:8:9:10:11\n", as: "long.yaml")
        #expect(Self.invalidArgument { try RecipeLoader.load(long) }?.contains("2:12: value (samples) '1:2:3") == true)
        let seed = try Self.write("calibration:\n  seed: -1:30\n", as: "seed.yaml")
        #expect(
            Self.invalidArgument { try RecipeLoader.load(seed) }
                == "\(seed):2:9: value (seed) '-1:30' reads as a negative base-60 integer in an unsigned field")
        // What fits still reads as YAML 1.1 says: 1:30 is 90.
        let fits = try Self.write("weight: {dtype: int8}\ncalibration:\n  samples: 1:30\n", as: "fits.yaml")
        #expect(try RecipeLoader.load(fits).calibration.samples == 90)
    }

    @Test func lineAndColumnCountScalarsAndLineEnds() {
        #expect(TextFile.lineAndColumn(atEndOf: "") == (1, 1))
        #expect(TextFile.lineAndColumn(atEndOf: "ab") == (1, 3))
        #expect(TextFile.lineAndColumn(atEndOf: "a\r\nbé") == (2, 3))
        #expect(TextFile.lineAndColumn(atEndOf: "a\n\n") == (3, 1))
    }
}
