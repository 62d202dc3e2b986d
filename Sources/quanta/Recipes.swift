import ArgumentParser
import Foundation
import Pipeline
import QuantCore
import Quantization

/// `quanta recipes`: the named presets, one as the recipe file it is equivalent to, or all as JSON.
struct Recipes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the named quantization recipes; --show NAME prints one as an editable YAML recipe.")

    @Option(help: "Print this preset as the YAML recipe file it is equivalent to (save it, edit it, pass it to --recipe).")
    var show: String?
    @Flag(help: "Print every preset as JSON: name, summary and the full recipe.") var json = false

    func validate() throws {
        if show != nil && json { throw ValidationError("--show and --json exclude each other") }
    }

    func run() throws {
        try reportingErrors {
            if let show {
                print(try RecipeLoader.yaml(try QuantRecipe.preset(show)), terminator: "")
            } else if json {
                let entries = try QuantRecipe.presetDescriptions.map { entry in
                    PresetEntry(name: entry.name, summary: entry.summary, recipe: try QuantRecipe.preset(entry.name))
                }
                try printJSON(entries)
            } else {
                let width = QuantRecipe.presetDescriptions.map(\.name.count).max() ?? 0
                for (name, summary) in QuantRecipe.presetDescriptions {
                    print(name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + summary)
                }
            }
        }
    }

    struct PresetEntry: Encodable {
        var name: String
        var summary: String
        var recipe: QuantRecipe
    }
}
