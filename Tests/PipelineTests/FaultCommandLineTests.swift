import Foundation
import Inference
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Interrupted and failed writes leave nothing behind: the built binary is signalled, killed, pointed at a full disk
/// or a read-only folder, and the output folder's parent is checked for outputs and `.NAME.quanta-tmp-*` leftovers.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"), .serialized)
struct FaultCommandLineTests {
    /// A model large enough that quantizing and saving take a noticeable time (about 13 M parameters, 52 MB of
    /// float32), with a calibration text long enough for many windows.
    static func slowFixture() throws -> (model: String, text: String, directory: String) {
        let directory = Fixtures.temporaryDirectory()
        let model = directory + "/big.gguf"
        let small = TinyModelFiles.configuration()
        let configuration = try LlamaConfiguration(
            hiddenSize: 512, intermediateSize: 1376, layerCount: 4, attentionHeadCount: 8, keyValueHeadCount: 4,
            vocabularySize: small.vocabularySize, rmsNormEpsilon: 1e-5, ropeTheta: 10_000, maxPositionEmbeddings: 256)
        try TinyModelFiles.writeGGUF(to: model, configuration: configuration)
        let text = directory + "/t.txt"
        try String(repeating: "the theme in the text, then the other thing. ", count: 400).write(
            toFile: text, atomically: true, encoding: .utf8)
        return (model, text, directory)
    }

    /// A running `quanta` whose stderr is collected as it comes.
    final class Running: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var collected = Data()

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: RealData.quantaExecutable!)
            process.arguments = arguments
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            err.fileHandleForReading.readabilityHandler = { [self] handle in
                let data = handle.availableData
                lock.lock()
                collected.append(data)
                lock.unlock()
            }
            try process.run()
        }

        var stderr: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: collected, as: UTF8.self)
        }

        /// Polls every millisecond until `condition` holds or the process ends; true when it held first.
        func wait(until condition: () -> Bool, timeout: TimeInterval = 120) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline {
                if condition() { return true }
                usleep(1000)
            }
            return false
        }

        func finish() -> Int32 {
            process.waitUntilExit()
            usleep(50_000)  // the last stderr bytes
            return process.terminationStatus
        }
    }

    static func leftovers(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".quanta-tmp-") }
    }

    static func quantizeArguments(_ fixture: (model: String, text: String, directory: String), out: String) -> [String] {
        ["quantize", fixture.model, "--recipe", "w4a16-g32", "--algorithm", "gptq", "--calib", fixture.text,
         "--samples", "16", "--seq-len", "128", "--out", out]
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalDuringQuantizeLeavesNoOutput(signal: Int32) throws {
        let fixture = try Self.slowFixture()
        let out = fixture.directory + "/q"
        let run = try Running(Self.quantizeArguments(fixture, out: out))
        let started = run.wait { run.stderr.contains("calibration") || run.stderr.contains("blocks") }
        #expect(started, "no progress before the end: \(run.stderr)")
        kill(run.process.processIdentifier, signal)
        let status = run.finish()
        #expect(status == 128 + signal, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("error: interrupted by \(signal == SIGINT ? "SIGINT" : "SIGTERM")"), "stderr: \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try Self.leftovers(fixture.directory).isEmpty)
    }

    /// Signals (or kills) a quantize into `out` as soon as its temporary folder appears; retries a few times if the
    /// run finishes before the temporary is seen. Returns the run, or nil when it never was caught mid-save.
    static func catchWhileSaving(_ arguments: [String], directory: String, signal: Int32) throws -> (Running, Int32)? {
        for _ in 0..<3 {
            let run = try Running(arguments)
            let seen = run.wait { ((try? leftovers(directory)) ?? []).contains { $0.hasPrefix(".q.quanta-tmp-") } }
            if seen {
                kill(run.process.processIdentifier, signal)
                return (run, run.finish())
            }
            _ = run.finish()
            try? FileManager.default.removeItem(atPath: directory + "/q")
        }
        return nil
    }

    @Test func aSignalWhileSavingRemovesTheTemporaryAndKeepsTheOldOutput() throws {
        let fixture = try Self.slowFixture()
        let out = fixture.directory + "/q"
        // An existing output, written by a quick recipe; the interrupted --overwrite run must leave it as it was.
        let first = try CommandLineTests.run(["quantize", fixture.model, "--recipe", "w8a16", "--out", out])
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/quantization.json"))
        let arguments = Self.quantizeArguments(fixture, out: out) + ["--overwrite"]
        let caught = try Self.catchWhileSaving(arguments, directory: fixture.directory, signal: SIGTERM)
        let (run, status) = try #require(caught, "the run was never caught while saving")
        #expect(status == 128 + SIGTERM, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("removed the unfinished output"), "stderr: \(run.stderr)")
        #expect(try Self.leftovers(fixture.directory).isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/quantization.json")) == before)
    }

    @Test func aKilledRunsTemporaryIsNotOutputAndTheNextRunRemovesIt() throws {
        let fixture = try Self.slowFixture()
        let out = fixture.directory + "/q"
        let arguments = Self.quantizeArguments(fixture, out: out)
        let caught = try Self.catchWhileSaving(arguments, directory: fixture.directory, signal: SIGKILL)
        let (_, status) = try #require(caught, "the run was never caught while saving")
        #expect(status == SIGKILL)  // Process reports the signal number for a signalled process
        let stale = try Self.leftovers(fixture.directory)
        #expect(stale.count == 1 && stale[0].hasPrefix(".q.quanta-tmp-"), "\(stale)")
        // The leftover is not taken for the output...
        #expect(!FileManager.default.fileExists(atPath: out))
        let eval = try CommandLineTests.run(["info", out])
        #expect(eval.status != 0 && eval.stderr.contains("no such file"), "stderr: \(eval.stderr)")
        // ...and the next run into the same output removes it.
        let again = try CommandLineTests.run(["quantize", fixture.model, "--recipe", "w8a16", "--out", out])
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(try Self.leftovers(fixture.directory).isEmpty)
        #expect(FileManager.default.fileExists(atPath: out + "/quantization.json"))
    }

    @Test func aFullDiskGivesOneErrorAndLeavesTheExistingOutput() throws {
        let (model, _, _) = try TinyModelFiles.modelAndCalibrationText()
        guard let disk = ScratchDisk.mount(size: "1m") else { return }
        defer { ScratchDisk.unmount(disk) }
        let out = disk + "/q"
        let first = try CommandLineTests.run(["quantize", model, "--recipe", "w8a16", "--out", out])
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let before = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        let description = try Data(contentsOf: URL(fileURLWithPath: out + "/quantization.json"))
        ScratchDisk.fill(disk, leaving: 8 * 1024)
        let full = try CommandLineTests.run(["quantize", model, "--recipe", "w4a16-g32", "--out", out, "--overwrite"])
        #expect(full.status == 1)
        let lines = full.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(lines.count == 1, "stderr: \(full.stderr)")
        #expect(full.stderr.contains("No space left on device"), "stderr: \(full.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/quantization.json")) == description)
        #expect(try Self.leftovers(disk).isEmpty)
    }

    @Test func anUnwritableFolderGivesOneErrorNamingTheOutput() throws {
        let (model, _, _) = try TinyModelFiles.modelAndCalibrationText()
        guard let readOnly = ScratchDisk.mount(size: "64k", readOnly: true) else { return }
        defer { ScratchDisk.unmount(readOnly) }
        let out = readOnly + "/q"
        let run = try CommandLineTests.run(["quantize", model, "--recipe", "w8a16", "--out", out])
        #expect(run.status == 1)
        let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1, "stderr: \(run.stderr)")
        #expect(errors.first?.hasPrefix("error: \(out): write failed: cannot create temporary folder") == true, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("Read-only file system"), "stderr: \(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: readOnly).isEmpty)
    }

    @Test func anExistingOutputIsReplacedOnlyWithOverwrite() throws {
        let (model, _, directory) = try TinyModelFiles.modelAndCalibrationText()
        let out = directory + "/q"
        #expect(try CommandLineTests.run(["quantize", model, "--recipe", "w8a16", "--out", out]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors"))
        let refused = try CommandLineTests.run(["quantize", model, "--recipe", "w4a16-g32", "--out", out])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("already exists"), "stderr: \(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors")) == before)
        let replaced = try CommandLineTests.run(["quantize", model, "--recipe", "w4a16-g32", "--out", out, "--overwrite"])
        #expect(replaced.status == 0, "stderr: \(replaced.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors")) != before)
        #expect(try Self.leftovers(directory).isEmpty)
    }
}

/// A NaN that appears in activations stops calibration and evaluation, naming where, instead of a NaN perplexity.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct NonFiniteActivationTests {
    /// The tiny model with block 1's attention norm at the largest float: its inputs overflow to infinity and
    /// attention to NaN.
    static func overflowingModel() throws -> (model: String, text: String, directory: String) {
        let fixture = try TinyModelFiles.modelAndCalibrationText()
        try SavedFolderValidationTests.patchGGUF(fixture.model, tensor: "blk.1.attn_norm.weight") { _ in .greatestFiniteMagnitude }
        return fixture
    }

    @Test func evaluationStopsAtTheFirstNonFiniteWindow() throws {
        let (model, text, _) = try Self.overflowingModel()
        let run = try CommandLineTests.run(["eval", model, "--text", text, "--seq-len", "16", "--windows", "2"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("window 0's logits"), "stderr: \(run.stderr)")
        #expect(!run.stdout.lowercased().contains("nan"), "stdout: \(run.stdout)")
    }

    @Test(arguments: [["--recipe", "w8a8-int8-static"], ["--recipe", "w8a16", "--algorithm", "gptq"]])
    func calibrationStopsNamingTheBlockOrLayer(recipe: [String]) throws {
        let (model, text, directory) = try Self.overflowingModel()
        let run = try CommandLineTests.run(
            ["quantize", model] + recipe + ["--calib", text, "--samples", "2", "--seq-len", "16", "--out", directory + "/q"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("block 1") || run.stderr.contains("model.layers.1."), "stderr: \(run.stderr)")
        #expect(run.stderr.contains("non-finite"), "stderr: \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/q"))
    }
}
