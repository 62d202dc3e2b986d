import Foundation
import QuantCore
import TestSupport
import Testing

@testable import Quantization

/// `CalibrationTokens`: JSON and `.npy` windows read as they are, and every malformed file refused with one message
/// that names the file and the problem.
@Suite struct CalibrationTokensTests {
    static let windows = [[1, 2, 3, 4], [5, 6, 7, 8], [0, 9, 63, 10]]

    static func write(_ bytes: [UInt8], as name: String) throws -> String {
        let path = Fixtures.temporaryDirectory() + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func write(_ text: String, as name: String) throws -> String {
        try write(Array(text.utf8), as: name)
    }

    /// A `.npy` file as numpy.save writes it: version 1.0, header padded with spaces to a multiple of 64 bytes.
    static func npy(
        _ windows: [[Int]], descr: String = "<i4", shape: String? = nil, fortran: String = "False", version: UInt8 = 1,
        dropping: Int = 0
    ) -> [UInt8] {
        let itemSize = descr.hasSuffix("8") ? 8 : 4
        let shapeText = shape ?? "(\(windows.count), \(windows.first?.count ?? 0))"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shapeText), }"
        let preamble = version == 1 ? 10 : 12
        while (preamble + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        let length = header.utf8.count
        bytes += version == 1
            ? [UInt8(length & 0xFF), UInt8(length >> 8)]
            : [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
        bytes += Array(header.utf8)
        let bigEndian = descr.hasPrefix(">")
        for id in windows.joined() {
            var item = (0..<itemSize).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: Int64(id)) >> (8 * UInt64($0))) }
            if bigEndian { item.reverse() }
            bytes += item
        }
        return Array(bytes.dropLast(dropping))
    }

    static func error(_ path: String, vocabularySize: Int = 64) -> String? {
        do {
            _ = try CalibrationTokens.read(path, vocabularySize: vocabularySize)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func jsonAndEveryNPYDtypeGiveTheSameWindows() throws {
        let json = try Self.write("[[1, 2, 3, 4],\n [5, 6, 7, 8], [0, 9, 63, 10]]\n", as: "w.json")
        #expect(try CalibrationTokens.read(json, vocabularySize: 64) == Self.windows)
        for descr in ["<i4", "<i8", "<u4"] {
            let path = try Self.write(Self.npy(Self.windows, descr: descr), as: "w\(descr.dropFirst()).npy")
            #expect(try CalibrationTokens.read(path, vocabularySize: 64) == Self.windows, "\(descr)")
        }
        let version2 = try Self.write(Self.npy(Self.windows, version: 2), as: "w2.npy")
        #expect(try CalibrationTokens.read(version2) == Self.windows)
        // The extension does not matter: .npy is recognized by its magic bytes.
        let unnamed = try Self.write(Self.npy(Self.windows), as: "windows.bin")
        #expect(try CalibrationTokens.read(unnamed) == Self.windows)
    }

    @Test(arguments: [
        ("[[1, 2, 3], [4, 5]]", "ragged windows: window 0 has 3 tokens, window 1 has 2 (all must have the same length)"),
        ("", "the file is empty"),
        ("  \n", "the file is empty"),
        ("[]", "no windows"),
        ("[[]]", "window 0 is empty"),
        ("[[1, 2], []]", "window 1 is empty"),
        ("[[1, 2], [3, -1]]", "window 1, position 1: id -1 is negative"),
        ("[[1, 2], [3, 64]]", "window 1, position 1: id 64 is outside the model's vocabulary [0, 64)"),
        ("[[1, 2.5]]", "window 0, position 1: 2.5 is not an integer token id"),
        ("[[1, \"a\"]]", "window 0, position 1: expected a token id at byte 5"),
        ("[[1, true]]", "window 0, position 1: expected a token id at byte 5"),
        ("[[1, 1e3]]", "window 0, position 1: 1e3 is not an integer token id"),
        ("[[1, 2]] x", "unexpected text after the windows at byte 9"),
        ("[[1 2]]", "expected ',' or ']' at byte 4"),
        ("[1, 2]", "window 0 is not an array of token ids"),
        ("{\"windows\": []}", "expected a JSON array of windows ([[id, ...], ...])"),
    ])
    func badJSONIsRefused(text: String, message: String) throws {
        let path = try Self.write(text, as: "bad.json")
        #expect(Self.error(path) == "\(path): calibration token windows: \(message)")
    }

    @Test func unparsableJSONNamesTheFile() throws {
        let path = try Self.write("[[1, 2", as: "cut.json")
        #expect(Self.error(path) == "\(path): calibration token windows: the JSON ends early at byte 6")
        #expect(Self.error("/nonexistent/w.json")?.hasPrefix("/nonexistent/w.json: calibration token windows: ") == true)
    }

    @Test(arguments: [
        (npy(windows, dropping: 1), "npy: truncated data: shape [3, 4] of <i4 needs 48 bytes, 47 present"),
        (npy(windows) + [0], "npy: 1 bytes after the 48 the shape [3, 4] of <i4 needs"),
        (npy(windows, descr: "<f4"), "npy: dtype '<f4' is not a little-endian int32, int64 or uint32 ('<i4', '<i8', '<u4')"),
        (npy(windows, descr: ">i4"), "npy: dtype '>i4' is not a little-endian int32, int64 or uint32 ('<i4', '<i8', '<u4')"),
        (npy(windows, shape: "(12,)"), "npy: shape [12] is not 2-D [windows, tokens]"),
        (npy(windows, fortran: "True"), "npy: Fortran (column-major) order; write the array in C order"),
        (npy([], shape: "(0, 4)"), "no windows"),
        (npy([[], []], shape: "(2, 0)"), "window 0 is empty"),
        (npy([[1, 70]]), "window 0, position 1: id 70 is outside the model's vocabulary [0, 64)"),
        (npy([[1, -2]], descr: "<i8"), "window 0, position 1: id -2 is negative"),
        (Array(npy(windows).prefix(8)), "npy: truncated: 8 bytes, shorter than the 10-byte preamble"),
        (Array(npy(windows).prefix(40)), "npy: truncated header: 118 bytes announced, 30 present"),
        (npy(windows, version: 4), "npy: format version 4.0 is not 1.0, 2.0 or 3.0"),
    ])
    func badNPYIsRefused(bytes: [UInt8], message: String) throws {
        let path = try Self.write(bytes, as: "bad.npy")
        #expect(Self.error(path) == "\(path): calibration token windows: \(message)")
    }

    /// `uint32` ids above Int32's range are read as unsigned (and then refused as out of vocabulary, not negative).
    @Test func uint32IdsAreUnsigned() throws {
        let path = try Self.write(Self.npy([[1, 3_000_000_000]], descr: "<u4"), as: "u.npy")
        #expect(try CalibrationTokens.read(path) == [[1, 3_000_000_000]])
    }

    @Test func recipeTakesATokenFileAndRefusesConflictingKeys() throws {
        let decode = { (json: String) throws -> QuantRecipe in
            try JSONDecoder().decode(QuantRecipe.self, from: Data(json.utf8))
        }
        let recipe = try decode(#"{"weight": {"dtype": "int8"}, "calibration": {"token_file": "w.npy"}}"#)
        #expect(recipe.calibration.tokenFile == "w.npy")
        // Written back without the sample count, length and seed the file replaces, and read back the same.
        let encoded = try JSONEncoder().encode(recipe)
        #expect(try JSONDecoder().decode(QuantRecipe.self, from: encoded).calibration == recipe.calibration)
        #expect(!String(decoding: encoded, as: UTF8.self).contains("seq_len"))
        #expect(throws: QuantError.invalidConfiguration(
            field: "calibration.samples",
            reason: "token_file gives the windows as they are (their count and length); leave samples out")) {
            try decode(#"{"weight": {"dtype": "int8"}, "calibration": {"token_file": "w.npy", "samples": 8}}"#)
        }
        #expect(throws: QuantError.invalidConfiguration(
            field: "calibration.token_file",
            reason: "give either a text file (file) or token windows (token_file), not both")) {
            try decode(#"{"weight": {"dtype": "int8"}, "calibration": {"token_file": "w.npy", "file": "t.txt"}}"#)
        }
    }
}
