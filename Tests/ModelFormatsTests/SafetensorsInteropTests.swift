import Foundation
import ModelFormats
import TensorCore
import Testing

/// Runs scripts/interop/check_safetensors.py, the bridge to the reference `safetensors` Python package.
enum SafetensorsInterop {
    /// Sums are of at most a few hundred small values; float64 summation order differs between numpy and here.
    static let sumTolerance = 1e-6

    static let referenceAvailable: Bool = (try? python(["-c", "import safetensors, numpy"])) != nil

    /// scripts/interop/check_safetensors.py of the checkout this file belongs to (symlinks resolved).
    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/interop/check_safetensors.py").path
    }

    struct ScriptFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs python3 with `arguments` and returns its standard output; throws when it exits non-zero.
    @discardableResult
    static func python(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ScriptFailed(description: "python3 \(arguments.joined(separator: " ")) failed: \(errorText)")
        }
        return data
    }

    struct Report: Decodable {
        struct Entry: Decodable {
            var dtype: String
            var shape: [Int]
            var sum: Double?
        }

        var metadata: [String: String]
        var tensors: [String: Entry]
    }
}

/// Cross-checks against the reference `safetensors` Python package through scripts/interop/check_safetensors.py.
/// Skipped unless `python3 -c "import safetensors, numpy"` succeeds.
@Suite(.enabled(if: SafetensorsInterop.referenceAvailable, "python3 with safetensors and numpy not found"))
struct SafetensorsInteropTests {
    typealias Fixtures = SafetensorsFixtures
    typealias Interop = SafetensorsInterop

    @Test func referenceReadsWhatQuantaWrites() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let metadata = ["format": "pt", "quanta": "é \"quoted\"\n"]
        var writer = SafetensorsWriter(metadata: metadata)
        var expected: [String: (dtype: String, shape: [Int], sum: Double)] = [:]
        func addFloat(_ name: String, shape: [Int], as elementType: ElementType, seed: Int) {
            let tensor = Tensor(shape: shape, scalars: Fixtures.values(count: shape.reduce(1, *), seed: seed))
            writer.add(name, tensor, as: elementType)
            let stored: [Float] = switch elementType {
            case .float16: tensor.scalars.map { Float(Float16($0)) }
            case .bfloat16: tensor.scalars.map { BFloat16($0).floatValue }
            default: tensor.scalars
            }
            expected[name] = (elementType.safetensorsName, shape, stored.reduce(0) { $0 + Double($1) })
        }
        addFloat("layers.0.f32", shape: [7, 3], as: .float32, seed: 0)
        addFloat("layers.0.f16", shape: [31], as: .float16, seed: 1)
        addFloat("layers.0.bf16", shape: [3, 11], as: .bfloat16, seed: 2)
        addFloat("scalar", shape: [], as: .float32, seed: 3)
        addFloat("empty", shape: [0, 5], as: .float16, seed: 4)
        let int8: [Int8] = (0..<13).map { Int8(truncatingIfNeeded: $0 * 41 - 100) }
        writer.add("codes.i8", bytes: int8.map { UInt8(bitPattern: $0) }, elementType: .int8, shape: [13])
        expected["codes.i8"] = ("I8", [13], int8.reduce(0) { $0 + Double($1) })
        let uint8: [UInt8] = (0..<127).map { UInt8(truncatingIfNeeded: $0 * 7) }
        writer.add("codes.u8", bytes: uint8, elementType: .uint8, shape: [127])
        expected["codes.u8"] = ("U8", [127], uint8.reduce(0) { $0 + Double($1) })
        let int32: [Int32] = [-70_000, 3, 1 << 30]
        writer.add("codes.i32", bytes: Fixtures.littleEndianBytes(int32), elementType: .int32, shape: [3, 1])
        expected["codes.i32"] = ("I32", [3, 1], int32.reduce(0) { $0 + Double($1) })
        let int64: [Int64] = [-5, 1 << 40]
        writer.add("ids.i64", bytes: Fixtures.littleEndianBytes(int64), elementType: .int64, shape: [2])
        expected["ids.i64"] = ("I64", [2], int64.reduce(0) { $0 + Double($1) })
        let path = directory + "/quanta.safetensors"
        try writer.write(to: path)

        let report = try JSONDecoder().decode(Interop.Report.self, from: Interop.python([Interop.scriptPath, "read", path]))
        #expect(report.metadata == metadata)
        #expect(Set(report.tensors.keys) == Set(expected.keys))
        for (name, entry) in expected {
            let found = try #require(report.tensors[name])
            #expect(found.dtype == entry.dtype, "\(name)")
            #expect(found.shape == entry.shape, "\(name)")
            let sum = try #require(found.sum)
            #expect(abs(sum - entry.sum) <= Interop.sumTolerance * max(1, abs(entry.sum)), "\(name): reference \(sum), Quanta \(entry.sum)")
        }
    }

    @Test func quantaReadsWhatTheReferenceWrites() throws {
        let directory = try Fixtures.makeDirectory()
        defer { Fixtures.removeDirectory(directory) }
        let path = directory + "/reference.safetensors"
        let report = try JSONDecoder().decode(Interop.Report.self, from: Interop.python([Interop.scriptPath, "write", path]))
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == report.metadata)
        #expect(file.names == report.tensors.keys.sorted())
        for (name, entry) in report.tensors {
            let info = try file.info(name)
            #expect(info.elementType.safetensorsName == entry.dtype, "\(name)")
            #expect(info.shape == entry.shape, "\(name)")
            let expected = (0..<info.elementCount).map { Fixtures.interopValue(dtype: entry.dtype, index: $0) }
            #expect(try file.tensor(name) == Tensor(shape: entry.shape, scalars: expected), "\(name)")
        }
        // Re-writing the reference's tensors with Quanta and reading them back keeps every byte of every tensor.
        var writer = SafetensorsWriter(metadata: file.metadata)
        for name in file.names {
            let info = try file.info(name)
            writer.add(name, bytes: try file.rawBytes(name), elementType: info.elementType, shape: info.shape)
        }
        let copy = directory + "/copy.safetensors"
        try writer.write(to: copy)
        let reread = try SafetensorsFile(path: copy)
        for name in file.names { #expect(Array(try reread.rawBytes(name)) == Array(try file.rawBytes(name))) }
        _ = try Interop.python([Interop.scriptPath, "read", copy])
    }
}
