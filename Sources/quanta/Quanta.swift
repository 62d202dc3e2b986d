import ArgumentParser
import Foundation
import Pipeline

/// `quanta`: load, run, evaluate and quantize transformer models.
@main
struct Quanta: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quanta",
        abstract: "Post-training quantization toolkit for transformer models.",
        subcommands: [Evaluate.self, Generate.self, Quantize.self, Analyze.self, Recipes.self, Bench.self, Info.self])
}

/// Runs `body`, printing any error as one `error: …` line on standard error and exiting with status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

/// Prints an Encodable as one line of sorted-key JSON on standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
