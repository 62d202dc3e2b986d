import Foundation
import ModelFormats
import Testing

/// AtomicFile replaces a file completely or not at all, and never leaves its temporary file behind.
@Suite struct AtomicFileTests {
    typealias Fixtures = SafetensorsFixtures

    private func contents(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func writesAndReplaces() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let path = directory + "/file.bin"
        try AtomicFile.write(Data([1, 2, 3]), to: path)
        #expect(try contents(path) == [1, 2, 3])
        try AtomicFile.write(Data(), to: path)
        #expect(try contents(path) == [])
        try AtomicFile.write(to: path) { (output: inout AtomicFile.Output) throws(FormatError) in
            try output.append([9, 8])
            try output.append(Data([7]))
            #expect(output.byteCount == 3)
        }
        #expect(try contents(path) == [9, 8, 7])
        #expect(try Fixtures.listing(directory) == ["file.bin"])
    }

    @Test func failingBodyLeavesTheOldFile() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let path = directory + "/file.bin"
        try AtomicFile.write(Data([1, 2, 3]), to: path)
        let failure = FormatError.writeFailed(file: path, reason: "stopped halfway")
        #expect(throws: failure) {
            try AtomicFile.write(to: path) { (output: inout AtomicFile.Output) throws(FormatError) in
                try output.append([4, 5, 6, 7])
                throw failure
            }
        }
        #expect(try contents(path) == [1, 2, 3])
        #expect(try Fixtures.listing(directory) == ["file.bin"])
    }

    @Test func renameOntoAFolderFailsAndCleansUp() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let path = directory + "/occupied"
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        let error = #expect(throws: FormatError.self) { try AtomicFile.write(Data([1]), to: path) }
        guard case let .writeFailed(file, reason)? = error else {
            Issue.record("expected writeFailed, got \(String(describing: error))")
            return
        }
        #expect(file == path)
        #expect(reason.hasPrefix("rename from \(directory)/.occupied.quanta-tmp-\(getpid())-"))
        #expect(try Fixtures.listing(directory) == ["occupied"])
    }

    @Test func missingFolderFails() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let path = directory + "/absent/file.bin"
        #expect(throws: FormatError.self) { try AtomicFile.write(Data([1]), to: path) }
        #expect(try Fixtures.listing(directory).isEmpty)
    }
}
