import Foundation
import ModelFormats
import TensorCore
import Testing

/// Sharded models: splitting, the index file, lookups, and every way an index and its shards can disagree.
@Suite struct SafetensorsShardedTests {
    typealias Fixtures = SafetensorsFixtures

    /// Five tensors of 12, 28, 4, 40 and 8 data bytes, named so that name order is a, b, c, d, e.
    private func fiveTensors() -> SafetensorsWriter {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        writer.add("e", bytes: [1, 2, 3, 4, 5, 6, 7, 8], elementType: .uint8, shape: [2, 4])
        writer.add("a", Tensor(shape: [3], scalars: [1, 2, 3]))
        writer.add("b", Tensor(shape: [7, 2], scalars: Fixtures.values(count: 14)), as: .bfloat16)
        writer.add("c", Tensor(shape: [], scalars: [-4]))
        writer.add("d", Tensor(shape: [2, 5], scalars: Fixtures.values(count: 10, seed: 1)))
        return writer
    }

    private func read(_ path: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
    }

    @Test func writerSplitsByByteCountAndWritesTheIndex() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let writer = fiveTensors()
        let shards = try ShardedSafetensors.write(writer, toDirectory: directory, maxShardByteCount: 40)
        // a(12) + b(28) = 40 fits; c(4) would pass 40; c + d(40) would too; d alone is 40; e(8) is left.
        #expect(shards == [
            "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
            "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors",
        ])
        #expect(try Fixtures.listing(directory) == (shards + [ShardedSafetensors.indexFileName]).sorted())
        let index = try read(directory + "/" + ShardedSafetensors.indexFileName)
        #expect(index == """
            {
              "metadata": {
                "total_size": 92
              },
              "weight_map": {
                "a": "model-00001-of-00004.safetensors",
                "b": "model-00001-of-00004.safetensors",
                "c": "model-00002-of-00004.safetensors",
                "d": "model-00003-of-00004.safetensors",
                "e": "model-00004-of-00004.safetensors"
              }
            }

            """)

        let model = try ShardedSafetensors(directory: directory)
        #expect(model.names == ["a", "b", "c", "d", "e"])
        #expect(model.shardFileNames == shards)
        #expect(model.metadata == ["total_size": "92"])
        #expect(model.indexPath == directory + "/" + ShardedSafetensors.indexFileName)
        #expect(try model.shardFileName(for: "d") == "model-00003-of-00004.safetensors")
        #expect(try model.shard("model-00002-of-00004.safetensors").metadata == ["format": "pt"])
        #expect(try model.file(containing: "b").names == ["a", "b"])
        #expect(try model.tensor("a") == Tensor(shape: [3], scalars: [1, 2, 3]))
        #expect(try model.info("b").elementType == .bfloat16)
        #expect(Array(try model.rawBytes("e")) == [1, 2, 3, 4, 5, 6, 7, 8])

        // Every tensor reads back exactly as the single-file writer would store it.
        let single = directory + "/single.safetensors"
        try writer.write(to: single)
        let reference = try SafetensorsFile(path: single)
        #expect(try model.tensors() == reference.tensors())
        for name in reference.names { #expect(Array(try model.rawBytes(name)) == Array(try reference.rawBytes(name))) }
    }

    @Test(arguments: [1, 4, 1_000])
    func everyShardLimitKeepsAllTensors(maxShardByteCount: Int) throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let shards = try ShardedSafetensors.write(fiveTensors(), toDirectory: directory, maxShardByteCount: maxShardByteCount)
        #expect(shards.count == (maxShardByteCount == 1_000 ? 1 : 5))
        let model = try ShardedSafetensors(directory: directory)
        #expect(model.names == ["a", "b", "c", "d", "e"])
        #expect(try model.tensor("d") == Tensor(shape: [2, 5], scalars: Fixtures.values(count: 10, seed: 1)))
    }

    @Test func singleFileFolderOpensWithoutIndex() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        try fiveTensors().write(to: directory + "/" + ShardedSafetensors.singleFileName)
        let model = try ShardedSafetensors(directory: directory + "/")
        #expect(model.indexPath == nil && model.metadata.isEmpty)
        #expect(model.shardFileNames == [ShardedSafetensors.singleFileName])
        #expect(model.names == ["a", "b", "c", "d", "e"])
        #expect(try model.tensor("c") == Tensor(shape: [], scalars: [-4]))
        #expect(throws: FormatError.missingTensor(file: directory + "/model.safetensors", tensor: "f")) {
            try model.tensor("f")
        }
    }

    @Test func emptyFolderIsUnreadable() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        #expect(throws: FormatError.unreadable(
            file: directory, reason: "neither model.safetensors.index.json nor model.safetensors is in the folder")
        ) { try ShardedSafetensors(directory: directory) }
    }

    @Test func nonPositiveShardLimitIsRejected() throws {
        #expect(throws: FormatError.writeFailed(
            file: "/nowhere/model.safetensors.index.json", reason: "maxShardByteCount must be > 0, got 0")
        ) { try ShardedSafetensors.write(fiveTensors(), toDirectory: "/nowhere", maxShardByteCount: 0) }
    }

    @Test func duplicateNamesAreRejectedBeforeAnythingIsWritten() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        var writer = fiveTensors()
        writer.add("a", bytes: [0], elementType: .int8, shape: [1])
        #expect(throws: FormatError.duplicateTensor(file: directory + "/model.safetensors.index.json", tensor: "a")) {
            try ShardedSafetensors.write(writer, toDirectory: directory, maxShardByteCount: 8)
        }
        #expect(try Fixtures.listing(directory).isEmpty)
    }

    // MARK: - Index and shards that disagree

    /// A folder with shards `s1` (tensors a, b) and `s2` (tensor c), and `index` as its index file.
    private func folder(index: String) throws -> (directory: String, indexPath: String) {
        let directory = try Fixtures.makeDirectory()
        var first = SafetensorsWriter()
        first.add("a", Tensor(shape: [1], scalars: [1]))
        first.add("b", Tensor(shape: [1], scalars: [2]))
        try first.write(to: directory + "/s1.safetensors")
        var second = SafetensorsWriter()
        second.add("c", Tensor(shape: [1], scalars: [3]))
        try second.write(to: directory + "/s2.safetensors")
        let indexPath = directory + "/" + ShardedSafetensors.indexFileName
        try Data(index.utf8).write(to: URL(fileURLWithPath: indexPath))
        return (directory, indexPath)
    }

    @Test func consistentHandWrittenIndexOpens() throws {
        let (directory, _) = try folder(index: """
            {"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"},
             "metadata": {"total_size": 12, "format": "pt", "sharded": true, "ratio": 0.5}}
            """)
        defer { Fixtures.removeDirectory(directory) }
        let model = try ShardedSafetensors(directory: directory)
        #expect(model.metadata == ["total_size": "12", "format": "pt", "sharded": "true", "ratio": "0.5"])
        #expect(try model.tensor("c") == Tensor(shape: [1], scalars: [3]))
    }

    @Test func missingShardIsUnreadable() throws {
        let (directory, indexPath) = try folder(index: """
            {"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors", "d": "s3.safetensors"}}
            """)
        defer { Fixtures.removeDirectory(directory) }
        #expect(throws: FormatError.unreadable(
            file: directory + "/s3.safetensors", reason: "No such file or directory (shard of tensor 'd' in \(indexPath))")
        ) { try ShardedSafetensors(directory: directory) }
    }

    @Test func tensorMissingFromItsShardIsMissing() throws {
        let (directory, _) = try folder(index: """
            {"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors", "x": "s2.safetensors"}}
            """)
        defer { Fixtures.removeDirectory(directory) }
        #expect(throws: FormatError.missingTensor(file: directory + "/s2.safetensors", tensor: "x")) {
            try ShardedSafetensors(directory: directory)
        }
    }

    @Test func tensorInAShardButNotInTheIndexIsInvalid() throws {
        let (directory, indexPath) = try folder(index: #"{"weight_map": {"a": "s1.safetensors", "c": "s2.safetensors"}}"#)
        defer { Fixtures.removeDirectory(directory) }
        #expect(throws: FormatError.invalidHeader(
            file: indexPath, reason: "weight_map does not list tensor 'b', which s1.safetensors holds")
        ) { try ShardedSafetensors(directory: directory) }
    }

    @Test func tensorListedForAnotherShardIsInvalid() throws {
        let (directory, indexPath) = try folder(index: """
            {"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}}
            """)
        defer { Fixtures.removeDirectory(directory) }
        var second = SafetensorsWriter()
        second.add("a", Tensor(shape: [1], scalars: [9]))
        second.add("c", Tensor(shape: [1], scalars: [3]))
        try second.write(to: directory + "/s2.safetensors")
        #expect(throws: FormatError.invalidHeader(
            file: indexPath, reason: "tensor 'a' is listed in s1.safetensors but s2.safetensors holds it too")
        ) { try ShardedSafetensors(directory: directory) }
    }

    @Test func duplicateIndexEntryIsRejected() throws {
        let (directory, indexPath) = try folder(index: """
            {"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors", "a": "s2.safetensors"}}
            """)
        defer { Fixtures.removeDirectory(directory) }
        #expect(throws: FormatError.duplicateTensor(file: indexPath, tensor: "a")) {
            try ShardedSafetensors(directory: directory)
        }
    }

    static let malformedIndexes: [(index: String, reason: String)] = [
        ("{", "JSON syntax error at byte 1: expected a string key"),
        ("[]", "expected a JSON object, found an array"),
        (#"{"metadata": {}}"#, #"missing key "weight_map""#),
        (#"{"weight_map": []}"#, "weight_map must be an object, found an array"),
        (#"{"weight_map": {}, "weight_map": {}}"#, #"key "weight_map" appears more than once"#),
        (#"{"weight_map": {}, "tensors": {}}"#, #"unknown key "tensors""#),
        (#"{"weight_map": {"a": 1}}"#, #"weight_map value of "a" must be a file name string, found the number 1"#),
        (#"{"weight_map": {"a": "../s1.safetensors"}}"#,
         #"weight_map puts "a" in "../s1.safetensors", which is not a plain file name"#),
        (#"{"weight_map": {"a": ""}}"#, #"weight_map puts "a" in "", which is not a plain file name"#),
        (#"{"weight_map": {}, "metadata": {"total_size": [1]}}"#,
         #"metadata value of "total_size" must be a string, number or boolean, found an array"#),
        (#"{"weight_map": {}, "metadata": {"k": 1, "k": 2}}"#, #"metadata key "k" appears more than once"#),
    ]

    @Test(arguments: malformedIndexes)
    func malformedIndexIsInvalid(index: String, reason: String) throws {
        let (directory, indexPath) = try folder(index: index)
        defer { Fixtures.removeDirectory(directory) }
        #expect(throws: FormatError.invalidHeader(file: indexPath, reason: reason)) {
            try ShardedSafetensors(directory: directory)
        }
    }
}
