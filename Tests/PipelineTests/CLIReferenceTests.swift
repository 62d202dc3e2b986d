import Foundation
import Testing
import TestSupport

/// docs/CLI.md is the built binary's `--help`, command by command (regenerate with scripts/gen_cli_reference.py).
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct CLIReferenceTests {
    static func help(_ arguments: [String]) throws -> String {
        let outcome = try CommandLineTests.run(arguments + ["--help"], environment: ["COLUMNS": "100"])
        #expect(outcome.status == 0)
        return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func referenceMatchesEveryCommandsHelp() throws {
        let reference = try String(contentsOfFile: RealData.repositoryRoot + "/docs/CLI.md", encoding: .utf8)
        let top = try Self.help([])
        let subcommands = top.components(separatedBy: "SUBCOMMANDS:").last!.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first,
                  name.allSatisfy({ $0.isLowercase || $0 == "-" }) else { return nil }
            return String(name)
        }
        #expect(subcommands.count >= 9, "subcommands: \(subcommands)")
        let documented = reference.split(separator: "\n").filter { $0.hasPrefix("## `quanta ") }
            .map { $0.dropFirst("## `quanta ".count).dropLast().description }
        #expect(documented == subcommands, "docs/CLI.md lists \(documented); the binary has \(subcommands)")
        for (name, arguments) in [("quanta", [String]())] + subcommands.map({ ($0, [$0]) }) {
            let text = try Self.help(arguments)
            #expect(reference.contains("```text\n" + text + "\n```"),
                    "docs/CLI.md is stale for \(name): run python3 scripts/gen_cli_reference.py")
        }
    }
}
