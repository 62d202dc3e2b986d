import ArgumentParser
import QuantCore

/// Finds a `--name` the chosen subcommand does not define, for the one case ArgumentParser words badly: when a
/// required option is missing too, it reports that first ("Missing expected argument '--out <out>'" for a mistyped
/// `--output`). Consulted only after parsing failed, so a valid command line never depends on it.
enum UnknownOption {
    /// The first unknown long option after the subcommand's name, as ArgumentParser words it, with the nearest known
    /// option (within `KeySuggestion.tolerance`, or one that starts the other), the usage line and the help hint.
    /// - Returns: nil when there is no subcommand or every long option is known.
    static func find(in arguments: [String]) -> (name: String, message: String)? {
        guard let name = arguments.first,
            let command = Quanta.configuration.subcommands.first(where: { $0._commandName == name })
        else { return nil }
        let known = knownOptions(of: command)
        for argument in arguments.dropFirst() {
            if argument == "--" { break }  // the rest are values
            guard argument.hasPrefix("--"), argument.count > 2 else { continue }
            let option = String(argument.dropFirst(2).prefix { $0 != "=" })
            guard !known.contains(option) else { continue }
            let candidates = known.sorted()
            let suggestion =
                KeySuggestion.nearest(to: option, among: candidates)
                ?? candidates.first { option.count >= 3 && (option.hasPrefix($0) || $0.hasPrefix(option)) }
            let hint = suggestion.map { ". Did you mean '--\($0)'?" } ?? ""
            return (
                "--" + option,
                "Error: Unknown option '--\(option)'\(hint)\nUsage: \(Quanta.usageString(for: command))\n"
                    + "  See 'quanta \(name) --help' for more information.")
        }
        return nil
    }

    /// Long option names (without `--`) that the command's full help mentions, the built-in ones included.
    static func knownOptions(of command: any ParsableCommand.Type) -> Set<String> {
        let help = Quanta.helpMessage(for: command, includeHidden: true, columns: 10_000)
        let words = help.split { !($0.isLetter || $0.isNumber || $0 == "-") }
        return Set(words.filter { $0.hasPrefix("--") && $0.count > 2 }.map { String($0.dropFirst(2)) })
            .union(["help", "version"])
    }
}
