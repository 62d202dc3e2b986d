import ArgumentParser
import QuantCore
import Quantization

/// `quanta recipes`: the named presets.
struct Recipes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the named quantization recipes.")

    func run() throws {
        let width = QuantRecipe.presetDescriptions.map(\.name.count).max() ?? 0
        for (name, summary) in QuantRecipe.presetDescriptions {
            print(name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + summary)
        }
    }
}
