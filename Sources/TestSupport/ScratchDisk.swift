import Foundation

/// Small tmpfs mounts for fault tests: a full disk (a few kilobytes) or a read-only folder. Mounting needs root;
/// where it is not permitted the helpers return nil and the caller skips with the printed reason.
public enum ScratchDisk {
    /// Mounts a tmpfs of `size` (as `mount -o size=`, e.g. "64k") at a fresh folder; nil (with a message) when
    /// mounting is not permitted here.
    public static func mount(size: String, readOnly: Bool = false) -> String? {
        let directory = Fixtures.temporaryDirectory()
        let status = run("/bin/mount", ["-t", "tmpfs", "-o", (readOnly ? "ro," : "") + "size=\(size)", "tmpfs", directory])
        guard status == 0 else {
            print("skipping: cannot mount a tmpfs at \(directory) (needs root); mount exited with \(status)")
            try? FileManager.default.removeItem(atPath: directory)
            return nil
        }
        return directory
    }

    /// Unmounts `directory` and removes the folder.
    public static func unmount(_ directory: String) {
        _ = run("/bin/umount", [directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Fills `directory`'s file system until at most about `leaving` bytes are free.
    public static func fill(_ directory: String, leaving: Int) {
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: directory)
        let free = (attributes?[.systemFreeSize] as? NSNumber)?.intValue ?? 0
        FileManager.default.createFile(atPath: directory + "/filler", contents: Data(count: max(0, free - leaving)))
    }

    private static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
