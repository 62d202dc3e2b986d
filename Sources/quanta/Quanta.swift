import ArgumentParser
import Foundation
import Pipeline
import TensorCore
import Quantization

/// The version `quanta --version` prints.
let quantaVersion = "0.4.0"

/// `quanta`: load, run, evaluate and quantize transformer models.
@main
struct Quanta: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quanta",
        abstract: "Post-training quantization toolkit for transformer models.",
        version: quantaVersion,
        subcommands: [
            Evaluate.self, Generate.self, Quantize.self, Analyze.self, Tune.self, ExportCommand.self, Recipes.self, Bench.self,
            Info.self,
        ])

    /// ArgumentParser's `main`, except that a mistyped option is named even when a required one is also missing
    /// (ArgumentParser reports the missing one first, so `--output` for `--out` read as "Missing expected argument").
    static func main() {
        restartWithFastBLASKernels()
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            if let unknown = UnknownOption.find(in: arguments) {
                FileHandle.standardError.write(Data((unknown.message + "\n").utf8))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
            exit(withError: error)
        }
        Interruption.install()
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
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

/// Prints an Encodable as one line of sorted-key JSON on standard output, with `paths` (the files and folders the
/// command wrote, by key) added beside its fields. Slashes are not escaped, so paths read as typed.
func printJSON(_ value: some Encodable, paths: [String: String] = [:]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    print(String(decoding: try encoder.encode(WithPaths(value: value, paths: paths)), as: UTF8.self))
}

/// A JSON object's fields plus string fields for paths.
private struct WithPaths<Value: Encodable>: Encodable {
    let value: Value
    let paths: [String: String]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        guard !paths.isEmpty else { return }
        // The encoder hands back the object `value` just wrote to, so the paths join its fields.
        var container = encoder.container(keyedBy: Key.self)
        for (key, path) in paths { try container.encode(path, forKey: Key(stringValue: key)) }
    }
}

/// llama-quantize refuses to requantize without `--allow-requantize`; Quanta warns: the source's rounding errors add to
/// the recipe's, and measured accuracy is then against the already-quantized weights.
func warnIfRequantizing(_ loaded: LoadedModel) {
    guard let source = loaded.quantizedSource else { return }
    let line = "warning: \(loaded.path) is already quantized (\(source)); the recipe rounds those weights again, and "
        + "errors are measured against them, not the original float model. Quantize the float model if you have it "
        + "(--allow-requantize silences this).\n"
    FileHandle.standardError.write(Data(line.utf8))
}

/// Restarts the program once with `OPENBLAS_CORETYPE` set when OpenBLAS chose kernels narrower than the CPU's (see
/// `BLASKernels`): the variable is read only when the library loads, before `main`.
func restartWithFastBLASKernels() {
    guard let core = BLASKernels.recommendedCoreType() else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    // The executable's own path (not /proc/self/exe, which would make `ps` show the process as "exe").
    let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/proc/self/exe"
    execv(path, CommandLine.unsafeArgv)
    // execv returns only on failure: carry on with the kernels already loaded.
}

/// How runners (eval, generate, bench) load models: packed weights unless `QUANTA_PACKED=0` asks for the float path
/// (every quantized weight dequantized on load), for comparisons.
func runnerLoadOptions() -> ModelLoader.Options {
    ProcessInfo.processInfo.environment["QUANTA_PACKED"] == "0" ? .float : .packed
}
