import Foundation
import JSONCore
import TensorCore

/// A model folder in the Hugging Face layout: safetensors shards plus `model.safetensors.index.json`
/// (`{"metadata": {…}, "weight_map": {tensor: shard file name}}`), or a single `model.safetensors`.
///
/// Opening maps every shard and checks that the index and the shards agree: each shard the index names exists and
/// is a valid safetensors file, each tensor of `weight_map` is in the shard it names, and each tensor of a shard is
/// listed for that shard. `total_size` in the index metadata is kept as text but not checked, since converters
/// disagree on what it counts.
public final class ShardedSafetensors: Sendable {
    /// The index file name of a sharded model.
    public static let indexFileName = "model.safetensors.index.json"
    /// The file name of an unsharded model.
    public static let singleFileName = "model.safetensors"

    /// The folder, as given.
    public let directory: String
    /// Path of the index file; `nil` when the folder holds a single `model.safetensors`.
    public let indexPath: String?
    /// The index's `metadata` (strings as they are, numbers and booleans as their JSON text); empty without index.
    public let metadata: [String: String]
    /// All tensor names, sorted.
    public let names: [String]
    /// The shard file names, sorted.
    public let shardFileNames: [String]

    private let weightMap: [String: String]
    private let shards: [String: SafetensorsFile]

    /// Opens the model in `directory`: through its index when there is one, else its `model.safetensors`.
    /// - Throws: `FormatError.unreadable` when neither file exists or a shard is missing (naming the index);
    ///   `.invalidHeader` for a malformed index (bad JSON, wrong types, a shard name with a `/`) or a tensor a shard
    ///   holds but the index does not list for it; `.duplicateTensor` for a name listed twice; `.missingTensor` when
    ///   a listed tensor is not in its shard; and any error of `SafetensorsFile(path:)` for a shard.
    public init(directory: String) throws(FormatError) {
        self.directory = directory
        let indexPath = Self.join(directory, Self.indexFileName)
        let singlePath = Self.join(directory, Self.singleFileName)
        if FileManager.default.fileExists(atPath: indexPath) {
            let index = try Self.parseIndex(path: indexPath)
            var shards: [String: SafetensorsFile] = [:]
            for (tensor, fileName) in index.weightMap.sorted(by: { $0.key < $1.key }) where shards[fileName] == nil {
                let shardPath = Self.join(directory, fileName)
                do {
                    shards[fileName] = try SafetensorsFile(path: shardPath)
                } catch let .unreadable(file, reason) {
                    throw .unreadable(file: file, reason: "\(reason) (shard of tensor '\(tensor)' in \(indexPath))")
                }
            }
            for (tensor, fileName) in index.weightMap.sorted(by: { $0.key < $1.key }) {
                guard let shard = shards[fileName], shard.contains(tensor) else {
                    throw .missingTensor(file: Self.join(directory, fileName), tensor: tensor)
                }
            }
            for (fileName, shard) in shards.sorted(by: { $0.key < $1.key }) {
                for tensor in shard.names where index.weightMap[tensor] != fileName {
                    let reason = if let listed = index.weightMap[tensor] {
                        "tensor '\(tensor)' is listed in \(listed) but \(fileName) holds it too"
                    } else {
                        "weight_map does not list tensor '\(tensor)', which \(fileName) holds"
                    }
                    throw .invalidHeader(file: indexPath, reason: reason)
                }
            }
            self.indexPath = indexPath
            self.metadata = index.metadata
            self.weightMap = index.weightMap
            self.shards = shards
        } else if FileManager.default.fileExists(atPath: singlePath) {
            let file = try SafetensorsFile(path: singlePath)
            self.indexPath = nil
            self.metadata = [:]
            self.weightMap = Dictionary(uniqueKeysWithValues: file.names.map { ($0, Self.singleFileName) })
            self.shards = [Self.singleFileName: file]
        } else {
            throw .unreadable(
                file: directory, reason: "neither \(Self.indexFileName) nor \(Self.singleFileName) is in the folder")
        }
        self.names = weightMap.keys.sorted()
        self.shardFileNames = shards.keys.sorted()
    }

    /// The shard file name that holds `name`.
    /// - Throws: `FormatError.missingTensor` (naming the index, or the single file) when no shard holds `name`.
    public func shardFileName(for name: String) throws(FormatError) -> String {
        guard let fileName = weightMap[name] else {
            throw .missingTensor(file: indexPath ?? Self.join(directory, Self.singleFileName), tensor: name)
        }
        return fileName
    }

    /// The opened shard called `fileName` (one of `shardFileNames`), for its metadata or its tensors.
    /// - Throws: `FormatError.unreadable` when the model has no such shard.
    public func shard(_ fileName: String) throws(FormatError) -> SafetensorsFile {
        guard let shard = shards[fileName] else {
            throw .unreadable(file: Self.join(directory, fileName), reason: "not a shard of this model")
        }
        return shard
    }

    /// The opened shard that holds `name`.
    /// - Throws: `FormatError.missingTensor` when no shard holds `name`.
    public func file(containing name: String) throws(FormatError) -> SafetensorsFile {
        try shard(shardFileName(for: name))
    }

    /// Where and how `name` is stored, within its shard (see `SafetensorsFile.info(_:)`).
    public func info(_ name: String) throws(FormatError) -> SafetensorsFile.TensorInfo {
        try file(containing: name).info(name)
    }

    /// The stored bytes of `name`, viewed in place; valid while this object is alive (see
    /// `SafetensorsFile.rawBytes(_:)`).
    public func rawBytes(_ name: String) throws(FormatError) -> UnsafeRawBufferPointer {
        try file(containing: name).rawBytes(name)
    }

    /// Decodes `name` to float32 (see `SafetensorsFile.tensor(_:)`).
    public func tensor(_ name: String) throws(FormatError) -> Tensor {
        try file(containing: name).tensor(name)
    }

    /// Decodes every tensor of every shard, keyed by name.
    /// - Throws: the first error of `tensor(_:)`, in name order.
    public func tensors() throws(FormatError) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for name in names { result[name] = try tensor(name) }
        return result
    }

    static func join(_ directory: String, _ fileName: String) -> String {
        directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
    }
}

extension ShardedSafetensors {
    private struct Index {
        var metadata: [String: String] = [:]
        var weightMap: [String: String] = [:]
    }

    private static func parseIndex(path: String) throws(FormatError) -> Index {
        let file = try MappedFile(path: path)
        guard file.byteCount <= SafetensorsFile.maxHeaderByteCount else {
            let limit = SafetensorsFile.maxHeaderByteCount
            throw .invalidHeader(file: path, reason: "index of \(file.byteCount) bytes exceeds the limit of \(limit)")
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(file.bytes)
        } catch {
            throw .invalidHeader(file: path, reason: "JSON syntax error at byte \(error.offset): \(error.reason)")
        }
        guard case let .object(members) = root else {
            throw .invalidHeader(file: path, reason: "expected a JSON object, found \(root.kindDescription)")
        }
        var index = Index()
        var seen: Set<String> = []
        for member in members {
            guard ["metadata", "weight_map"].contains(member.key) else {
                throw .invalidHeader(file: path, reason: "unknown key \(JSONValue.quoted(member.key))")
            }
            guard seen.insert(member.key).inserted else {
                throw .invalidHeader(file: path, reason: "key \(JSONValue.quoted(member.key)) appears more than once")
            }
            guard case let .object(pairs) = member.value else {
                throw .invalidHeader(
                    file: path, reason: "\(member.key) must be an object, found \(member.value.kindDescription)")
            }
            if member.key == "metadata" {
                index.metadata = try parseIndexMetadata(pairs, path: path)
            } else {
                index.weightMap = try parseWeightMap(pairs, path: path)
            }
        }
        guard seen.contains("weight_map") else { throw .invalidHeader(file: path, reason: "missing key \"weight_map\"") }
        return index
    }

    private static func parseIndexMetadata(
        _ pairs: [JSONValue.Member], path: String
    ) throws(FormatError) -> [String: String] {
        var metadata: [String: String] = [:]
        for pair in pairs {
            let text: String
            switch pair.value {
            case let .string(string): text = string
            case let .number(literal): text = literal
            case let .bool(flag): text = String(flag)
            default:
                let found = pair.value.kindDescription
                throw .invalidHeader(
                    file: path,
                    reason: "metadata value of \(JSONValue.quoted(pair.key)) must be a string, number or boolean, found \(found)")
            }
            guard metadata.updateValue(text, forKey: pair.key) == nil else {
                throw .invalidHeader(file: path, reason: "metadata key \(JSONValue.quoted(pair.key)) appears more than once")
            }
        }
        return metadata
    }

    private static func parseWeightMap(_ pairs: [JSONValue.Member], path: String) throws(FormatError) -> [String: String] {
        var weightMap: [String: String] = [:]
        for pair in pairs {
            guard case let .string(fileName) = pair.value else {
                let found = pair.value.kindDescription
                throw .invalidHeader(
                    file: path, reason: "weight_map value of \(JSONValue.quoted(pair.key)) must be a file name string, found \(found)")
            }
            // Shards must sit in the model folder: a path could reach any file the process can read.
            guard !fileName.isEmpty, fileName != ".", fileName != "..", !fileName.contains("/"), !fileName.contains("\0")
            else {
                let (tensor, shard) = (JSONValue.quoted(pair.key), JSONValue.quoted(fileName))
                throw .invalidHeader(
                    file: path, reason: "weight_map puts \(tensor) in \(shard), which is not a plain file name")
            }
            guard weightMap.updateValue(fileName, forKey: pair.key) == nil else {
                throw .duplicateTensor(file: path, tensor: pair.key)
            }
        }
        return weightMap
    }
}

extension ShardedSafetensors {
    /// Writes `writer`'s tensors into `directory` (which must exist) as shards plus `model.safetensors.index.json`.
    ///
    /// Tensors go into shards in name order; a shard is closed before a tensor that would take its data past
    /// `maxShardByteCount` (a tensor larger than that gets a shard of its own, as in Hugging Face's splitter). Shards
    /// are named `<baseName>-00001-of-0000N.safetensors` and carry `writer.metadata`; the index holds
    /// `metadata.total_size` (the data bytes of all shards) and the sorted `weight_map`, as indented JSON. Every file
    /// is written atomically and the index last, so an interrupted export never has an index that names missing
    /// shards. Shards of an earlier export with more shards are left in place.
    /// - Returns: the shard file names, in order.
    /// - Throws: `FormatError.writeFailed` when `maxShardByteCount` is not positive or a write fails, and the errors of
    ///   `SafetensorsWriter.write(to:)`.
    @discardableResult
    public static func write(
        _ writer: SafetensorsWriter, toDirectory directory: String, maxShardByteCount: Int, baseName: String = "model"
    ) throws(FormatError) -> [String] {
        let indexPath = join(directory, indexFileName)
        guard maxShardByteCount > 0 else {
            throw .writeFailed(file: indexPath, reason: "maxShardByteCount must be > 0, got \(maxShardByteCount)")
        }
        try writer.validate(file: indexPath)
        var groups: [[SafetensorsWriter.Entry]] = []
        var groupByteCount = 0
        for entry in writer.entries.sorted(by: { $0.name < $1.name }) {
            let byteCount = SafetensorsWriter.storedByteCount(of: entry)
            if groups.isEmpty || (groupByteCount > 0 && groupByteCount + byteCount > maxShardByteCount) {
                groups.append([])
                groupByteCount = 0
            }
            groups[groups.count - 1].append(entry)
            groupByteCount += byteCount
        }
        func digits(_ number: Int) -> String {
            let text = String(number)
            return String(repeating: "0", count: max(0, 5 - text.count)) + text
        }
        var fileNames: [String] = []
        var weightMap: [(tensor: String, fileName: String)] = []
        for (position, group) in groups.enumerated() {
            let fileName = "\(baseName)-\(digits(position + 1))-of-\(digits(groups.count)).safetensors"
            var shard = SafetensorsWriter(metadata: writer.metadata)
            shard.entries = group
            try shard.write(to: join(directory, fileName))
            fileNames.append(fileName)
            weightMap += group.map { ($0.name, fileName) }
        }
        // Hugging Face writes json.dumps(index, indent=2, sort_keys=True) + "\n"; this produces the same shape.
        let mapLines = weightMap.map { "    \(JSONValue.quoted($0.tensor)): \(JSONValue.quoted($0.fileName))" }
        let mapText = mapLines.isEmpty ? "{}" : "{\n" + mapLines.joined(separator: ",\n") + "\n  }"
        let index = """
            {
              "metadata": {
                "total_size": \(writer.dataByteCount)
              },
              "weight_map": \(mapText)
            }

            """
        try AtomicFile.write(Data(index.utf8), to: indexPath)
        return fileNames
    }
}
