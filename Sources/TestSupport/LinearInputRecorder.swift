import Inference

/// Forward hooks that keep a copy of the last input every linear layer saw (by layer name) and change nothing.
public final class LinearInputRecorder: ForwardHooks {
    public var inputs: [String: [Float]] = [:]

    public init() {}

    public func linearInput(_ layer: String, _ input: UnsafePointer<Float>, rows: Int, columns: Int) {
        inputs[layer] = Array(UnsafeBufferPointer(start: input, count: rows * columns))
    }
}
