import Foundation
import Testing
import Tokenization

/// Runs scripts/interop/check_tokenizer_json.py, the bridge to the reference Hugging Face `tokenizers` package.
enum TokenizerInterop {
    static let referenceAvailable: Bool = (try? python(["-c", "import tokenizers"])) != nil

    /// scripts/interop/check_tokenizer_json.py of the checkout this file belongs to (symlinks resolved).
    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/interop/check_tokenizer_json.py").path
    }

    struct ScriptFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// What the script prints (its docstring describes the fields).
    struct Report: Decodable {
        var vocabularySize: Int
        var withSpecial: [[Int]]
        var withoutSpecial: [[Int]]
        var decoded: [String]
        var decodedSkippingSpecial: [String]
        enum CodingKeys: String, CodingKey {
            case decoded
            case vocabularySize = "vocab_size"
            case withSpecial = "with_special"
            case withoutSpecial = "without_special"
            case decodedSkippingSpecial = "decoded_skipping_special"
        }
    }

    /// Runs python3 with `arguments` and returns its standard output; throws with its standard error when it exits
    /// non-zero. Standard error goes to a file, so a chatty run cannot fill the pipe and stall.
    @discardableResult
    static func python(_ arguments: [String]) throws -> Data {
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("quanta-\(UUID().uuidString).err")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil) else {
            throw ScriptFailed(description: "cannot create \(errorFile.path)")
        }
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let errorText = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            throw ScriptFailed(description: "python3 \(arguments.joined(separator: " ")) failed: \(errorText)")
        }
        return data
    }

    /// Writes `tokenizer`'s `tokenizer.json` and `texts` to a temporary folder and runs the script on them.
    static func report(_ tokenizer: ByteLevelBPETokenizer, texts: [String]) throws -> Report {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("quanta-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let textsURL = directory.appendingPathComponent("texts.json")
        try tokenizer.tokenizerJSON().write(to: tokenizerURL)
        try JSONEncoder().encode(texts).write(to: textsURL)
        let output = try python([scriptPath, tokenizerURL.path, textsURL.path])
        return try JSONDecoder().decode(Report.self, from: output)
    }

    /// Expects Hugging Face's ids and text for `texts` to be Quanta's, recording the first differences.
    static func expectAgreement(
        _ tokenizer: ByteLevelBPETokenizer, texts: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let report = try report(tokenizer, texts: texts)
        #expect(report.vocabularySize == tokenizer.vocabularySize, sourceLocation: sourceLocation)
        try #require(report.withSpecial.count == texts.count && report.withoutSpecial.count == texts.count)
        var mismatches: [String] = []
        for (index, text) in texts.enumerated() {
            let shown =
                text.utf8.count > 80
                ? "\(String(text.prefix(60)).debugDescription)... (\(text.utf8.count) bytes)" : text.debugDescription
            let withSpecial = tokenizer.encode(text)
            if withSpecial != report.withSpecial[index] {
                let at = zip(withSpecial, report.withSpecial[index]).prefix { $0 == $1 }.count
                mismatches.append(
                    "\(shown): ids differ from #\(at): Quanta \(withSpecial[at...].prefix(8)), Hugging Face "
                        + "\(report.withSpecial[index][at...].prefix(8))")
            }
            if tokenizer.encode(text, addSpecialTokens: false) != report.withoutSpecial[index] {
                mismatches.append("\(shown): ids without special tokens differ")
            }
            if try tokenizer.decode(withSpecial) != report.decoded[index] {
                mismatches.append("\(shown): decoded text differs")
            }
            if try tokenizer.decode(withSpecial, skipSpecialTokens: true) != report.decodedSkippingSpecial[index] {
                mismatches.append("\(shown): decoded text without special tokens differs")
            }
        }
        #expect(
            mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(3))",
            sourceLocation: sourceLocation)
    }
}

/// Exported `tokenizer.json` files loaded by Hugging Face tokenizers (`Tokenizer.from_file`) give Quanta's ids.
/// Skipped unless `python3 -c "import tokenizers"` succeeds.
@Suite(.enabled(if: TokenizerInterop.referenceAvailable, "python3 with tokenizers not found (pip install tokenizers)"))
struct TokenizerInteropTests {
    /// Scalars come from long-assigned blocks only: the test is about the export, not about which Unicode version
    /// Oniguruma and Rust's `char::is_numeric` classify newly assigned scalars with.
    @Test(arguments: ExportFixtures.Case.allCases)
    func huggingFaceReadsTheSyntheticTokenizers(_ testCase: ExportFixtures.Case) throws {
        let tokenizer = try ExportFixtures.ggufTokenizer(testCase)
        let texts =
            ExportFixtures.trickyStrings
            + ExportFixtures.randomTexts(count: 300, seed: UInt64(testCase.rawValue.utf8.count), anyScalar: false)
        try TokenizerInterop.expectAgreement(tokenizer, texts: texts)
    }

    @Test(.enabled(if: Fixtures.hasSmolLM2GGUF, "needs SmolLM2-135M-Instruct.Q4_1.gguf: run scripts/fetch-models.sh"))
    func huggingFaceReadsSmolLM2() throws {
        let tokenizer = try Fixtures.smolLM2FromGGUF()
        var texts = Fixtures.reference.hardStrings.map(\.text) + Fixtures.reference.chats.map(\.text)
        if let bytes = Fixtures.wikiTestRawBytes, let wiki = String(validating: bytes, as: UTF8.self) {
            texts.append(wiki.replacingOccurrences(of: "\r\n", with: "\n"))
        }
        texts += ExportFixtures.randomTexts(count: 300, seed: 3, anyScalar: false)
        try TokenizerInterop.expectAgreement(tokenizer, texts: texts)
    }
}
