import Foundation
import ModelFormats
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The shared write mechanism: recognizable temporary names, stale temporaries of dead processes removed, an existing
/// output replaced only once the new one is complete, and a full disk or an unwritable folder reported once with the
/// target untouched.
@Suite struct TemporaryOutputTests {
    typealias Fixtures = SafetensorsFixtures

    /// The PID of a process that has exited (and been reaped), so `kill(pid, 0)` reports it gone.
    static func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 0"]
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func temporaryNamesAreHiddenAndCarryThePID() {
        let name = TemporaryOutput.path(for: "/some/dir/out")
        #expect(name.hasPrefix("/some/dir/.out.quanta-tmp-\(getpid())-"))
        #expect(name != TemporaryOutput.path(for: "/some/dir/out"))
    }

    @Test func staleTemporariesOfDeadProcessesAreRemovedByTheNextWrite() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let dead = try Self.deadPID()
        let stale = directory + "/.out.quanta-tmp-\(dead)-1f"
        let live = directory + "/.out.quanta-tmp-\(getpid())-2e"
        let other = directory + "/.other.quanta-tmp-\(dead)-3d"
        for path in [stale, live, other] {
            try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        }
        try AtomicFolder.write(to: directory + "/out") { temporary in
            try Data([1]).write(to: URL(fileURLWithPath: temporary + "/a"))
        }
        // The dead process's leftover for this output is gone; a live process's, and another output's, are not ours.
        #expect(try Fixtures.listing(directory) == [".other.quanta-tmp-\(dead)-3d", ".out.quanta-tmp-\(getpid())-2e", "out"])
        #expect(try Fixtures.listing(directory + "/out") == ["a"])
        // A file write cleans up the same way.
        let staleFile = directory + "/.f.bin.quanta-tmp-\(dead)-4c"
        #expect(FileManager.default.createFile(atPath: staleFile, contents: Data([0])))
        try AtomicFile.write(Data([2]), to: directory + "/f.bin")
        #expect(!FileManager.default.fileExists(atPath: staleFile))
    }

    @Test func anExistingFolderIsReplacedOnlyByACompleteOne() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let out = directory + "/out"
        try AtomicFolder.write(to: out) { try Data([1]).write(to: URL(fileURLWithPath: $0 + "/old")) }
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try AtomicFolder.write(to: out) { temporary in
                try Data([2]).write(to: URL(fileURLWithPath: temporary + "/new"))
                // While the new folder is being built the old one is still in place.
                #expect(try Fixtures.listing(out) == ["old"])
                throw Stop()
            }
        }
        #expect(try Fixtures.listing(directory) == ["out"])
        #expect(try Fixtures.listing(out) == ["old"])
        try AtomicFolder.write(to: out) { try Data([2]).write(to: URL(fileURLWithPath: $0 + "/new")) }
        #expect(try Fixtures.listing(directory) == ["out"])
        #expect(try Fixtures.listing(out) == ["new"])
    }

    @Test func aFullDiskGivesOneErrorAndLeavesTheTargetUntouched() throws {
        guard let disk = ScratchDisk.mount(size: "64k") else { return }
        defer { ScratchDisk.unmount(disk) }
        let path = disk + "/file.bin"
        try AtomicFile.write(Data([1, 2, 3]), to: path)
        let error = #expect(throws: FormatError.self) { try AtomicFile.write(Data(count: 1 << 20), to: path) }
        guard case let .writeFailed(file, reason)? = error else {
            Issue.record("expected writeFailed, got \(String(describing: error))")
            return
        }
        #expect(file == path)
        #expect(reason.contains("No space left on device"), "reason: \(reason)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
        #expect(try Fixtures.listing(disk) == ["file.bin"])

        let folder = disk + "/folder"
        try AtomicFolder.write(to: folder) { try Data([7]).write(to: URL(fileURLWithPath: $0 + "/a")) }
        #expect(throws: FormatError.self) {
            try AtomicFolder.write(to: folder) { temporary in try AtomicFile.write(Data(count: 1 << 20), to: temporary + "/big") }
        }
        #expect(try Fixtures.listing(disk) == ["file.bin", "folder"])
        #expect(try Fixtures.listing(folder) == ["a"])
    }

    @Test func anUnwritableFolderGivesOneErrorNamingThePath() throws {
        guard let readOnly = ScratchDisk.mount(size: "64k", readOnly: true) else { return }
        defer { ScratchDisk.unmount(readOnly) }
        let folder = readOnly + "/out"
        let error = #expect(throws: FormatError.self) { try AtomicFolder.write(to: folder) { _ in } }
        guard case let .writeFailed(file, reason)? = error else {
            Issue.record("expected writeFailed, got \(String(describing: error))")
            return
        }
        #expect(file == folder)
        #expect(reason.hasPrefix("cannot create temporary folder \(readOnly)/.out.quanta-tmp-"), "reason: \(reason)")
        #expect(reason.hasSuffix(": Read-only file system"), "reason: \(reason)")
        #expect(throws: FormatError.self) { try AtomicFile.write(Data([1]), to: readOnly + "/f") }
        #expect(try Fixtures.listing(readOnly).isEmpty)
    }
}
