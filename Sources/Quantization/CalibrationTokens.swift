import Foundation

/// Calibration windows given as token ids, so that two toolkits can be fed identical data: a JSON array of windows
/// (`[[id, ...], ...]`) or a NumPy `.npy` array of shape `[windows, tokens]` (`CalibrationTokens+NPY.swift`). The
/// windows are used as they are: no resampling, no BOS added, every window the same length.
public enum CalibrationTokens {
    /// Reads the windows of `path` (`.npy` by its magic bytes, else JSON).
    /// - Returns: N ≥ 1 windows of T ≥ 1 token ids each.
    /// - Throws: `QuantizationError.invalidCalibrationTokens` naming the file and the problem: unreadable, not JSON or
    ///   not an array of arrays of integers, a bad `.npy` header, dtype, shape or length, no windows, an empty window,
    ///   windows of different lengths (ragged), or a negative id.
    public static func read(_ path: String) throws(QuantizationError) -> [[Int]] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .invalidCalibrationTokens(path: path, reason: (error as NSError).localizedDescription)
        }
        let windows = try data.starts(with: NPYArray.magic)
            ? NPYArray.windows(from: [UInt8](data), path: path) : windows(fromJSON: data, path: path)
        try checkShape(windows, path: path)
        return windows
    }

    /// Reads `path` and checks every id against the model's vocabulary.
    /// - Throws: what `read(_:)` throws, and `invalidCalibrationTokens` for an id ≥ `vocabularySize`.
    public static func read(_ path: String, vocabularySize: Int) throws(QuantizationError) -> [[Int]] {
        let windows = try read(path)
        try checkVocabulary(windows, vocabularySize: vocabularySize, path: path)
        return windows
    }

    /// Every id in [0, vocabularySize).
    /// - Throws: `invalidCalibrationTokens` naming the first id outside, its window and position.
    public static func checkVocabulary(_ windows: [[Int]], vocabularySize: Int, path: String) throws(QuantizationError) {
        for (index, window) in windows.enumerated() {
            if let position = window.firstIndex(where: { $0 < 0 || $0 >= vocabularySize }) {
                throw .invalidCalibrationTokens(
                    path: path,
                    reason: "window \(index), position \(position): id \(window[position]) is outside the model's vocabulary [0, \(vocabularySize))")
            }
        }
    }

    /// At least one window, none empty, all the same length.
    static func checkShape(_ windows: [[Int]], path: String) throws(QuantizationError) {
        guard let first = windows.first else { throw .invalidCalibrationTokens(path: path, reason: "no windows") }
        if let empty = windows.firstIndex(where: \.isEmpty) {
            throw .invalidCalibrationTokens(path: path, reason: "window \(empty) is empty")
        }
        if let ragged = windows.firstIndex(where: { $0.count != first.count }) {
            throw .invalidCalibrationTokens(
                path: path,
                reason: "ragged windows: window 0 has \(first.count) tokens, window \(ragged) has \(windows[ragged].count) (all must have the same length)")
        }
        for (index, window) in windows.enumerated() {
            if let position = window.firstIndex(where: { $0 < 0 }) {
                throw .invalidCalibrationTokens(
                    path: path, reason: "window \(index), position \(position): id \(window[position]) is negative")
            }
        }
    }

    /// `[[id, ...], ...]`: integers only (no fractions, exponents, strings, Booleans or deeper nesting), read by a
    /// small strict scanner (Foundation's reader turns `true` into 1 and cannot tell 1 from 1.0).
    static func windows(fromJSON data: Data, path: String) throws(QuantizationError) -> [[Int]] {
        let bytes = [UInt8](data)
        func fail(_ reason: String) -> QuantizationError { .invalidCalibrationTokens(path: path, reason: reason) }
        var index = 0
        func skipSpace() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
        func next() throws(QuantizationError) -> UInt8 {
            skipSpace()
            guard index < bytes.count else { throw fail("the JSON ends early at byte \(index)") }
            return bytes[index]
        }
        skipSpace()
        guard index < bytes.count else { throw fail("the file is empty") }
        guard bytes[index] == UInt8(ascii: "[") else { throw fail("expected a JSON array of windows ([[id, ...], ...])") }
        index += 1
        var windows: [[Int]] = []
        if try next() == UInt8(ascii: "]") {
            index += 1
        } else {
            while true {
                guard try next() == UInt8(ascii: "[") else { throw fail("window \(windows.count) is not an array of token ids") }
                index += 1
                var window: [Int] = []
                if try next() == UInt8(ascii: "]") {
                    index += 1
                } else {
                    while true {
                        _ = try next()
                        let start = index
                        while index < bytes.count, "+-.0123456789eE".utf8.contains(bytes[index]) { index += 1 }
                        let text = String(decoding: bytes[start..<index], as: UTF8.self)
                        guard !text.isEmpty else {
                            throw fail("window \(windows.count), position \(window.count): expected a token id at byte \(start)")
                        }
                        guard let id = Int(text), !text.hasPrefix("+") else {
                            throw fail("window \(windows.count), position \(window.count): \(text) is not an integer token id")
                        }
                        window.append(id)
                        let separator = try next()
                        index += 1
                        if separator == UInt8(ascii: "]") { break }
                        guard separator == UInt8(ascii: ",") else { throw fail("expected ',' or ']' at byte \(index - 1)") }
                    }
                }
                windows.append(window)
                let separator = try next()
                index += 1
                if separator == UInt8(ascii: "]") { break }
                guard separator == UInt8(ascii: ",") else { throw fail("expected ',' or ']' at byte \(index - 1)") }
            }
        }
        skipSpace()
        guard index == bytes.count else { throw fail("unexpected text after the windows at byte \(index)") }
        return windows
    }
}
