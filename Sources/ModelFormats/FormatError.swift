/// Everything that can be wrong with a model file's bytes or layout. Messages name the file, the place and the
/// expected versus found values.
public enum FormatError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case unreadable(file: String, reason: String)
    /// A read needed `needed` bytes at offset `at` but only `available` remain.
    case truncated(file: String, at: Int, needed: Int, available: Int)
    /// The header is malformed (bad magic, bad JSON, bad version, inconsistent counts).
    case invalidHeader(file: String, reason: String)
    /// A tensor's data lies (partly) outside the file's data section.
    case tensorOutOfBounds(file: String, tensor: String, begin: Int, end: Int, available: Int)
    /// Two tensors claim the same bytes.
    case overlappingTensors(file: String, first: String, second: String)
    /// A dtype or tensor type this reader does not know or does not support.
    case unsupportedType(file: String, tensor: String, type: String)
    /// Dimensions that are negative, overflow, or exceed the sanity limit.
    case absurdShape(file: String, tensor: String, shape: [Int])
    /// Declared byte count disagrees with shape times element size.
    case byteCountMismatch(file: String, tensor: String, expected: Int, found: Int)
    /// A tensor that was asked for is not in the file.
    case missingTensor(file: String, tensor: String)
    /// A metadata key that was required is absent or has the wrong type.
    case missingMetadata(file: String, key: String, expected: String)
    /// A tensor name appears twice.
    case duplicateTensor(file: String, tensor: String)
    /// Writing failed.
    case writeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            "\(file): cannot read: \(reason)"
        case let .truncated(file, at, needed, available):
            "\(file): truncated at byte \(at): needed \(needed) bytes, \(available) remain"
        case let .invalidHeader(file, reason):
            "\(file): invalid header: \(reason)"
        case let .tensorOutOfBounds(file, tensor, begin, end, available):
            "\(file): tensor '\(tensor)' spans bytes \(begin)..<\(end) but the data section holds only \(available) bytes"
        case let .overlappingTensors(file, first, second):
            "\(file): tensors '\(first)' and '\(second)' overlap"
        case let .unsupportedType(file, tensor, type):
            "\(file): tensor '\(tensor)' has unsupported type \(type)"
        case let .absurdShape(file, tensor, shape):
            "\(file): tensor '\(tensor)' has an impossible shape \(shape)"
        case let .byteCountMismatch(file, tensor, expected, found):
            "\(file): tensor '\(tensor)' needs \(expected) bytes for its shape and dtype, but its extent is \(found) bytes"
        case let .missingTensor(file, tensor):
            "\(file): tensor '\(tensor)' not found"
        case let .missingMetadata(file, key, expected):
            "\(file): metadata key '\(key)' missing or not \(expected)"
        case let .duplicateTensor(file, tensor):
            "\(file): tensor '\(tensor)' appears more than once"
        case let .writeFailed(file, reason):
            "\(file): write failed: \(reason)"
        }
    }
}
