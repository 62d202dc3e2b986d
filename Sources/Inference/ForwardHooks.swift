/// Points in a forward pass where calibration observes activations and quantization rewrites them.
///
/// A hook sees each linear layer's input (a private copy the product then reads, so rewriting it in place is
/// fake-quantizing that layer's input alone), each linear's output after the product, and each block's new keys and
/// values before they enter the KV cache. Hooks are called from the thread running the forward pass, in model order.
public protocol ForwardHooks: AnyObject {
    /// `input: [rows, columns]` of the linear layer `layer` (Hugging Face name, e.g. `model.layers.0.mlp.up_proj`).
    func linearInput(_ layer: String, _ input: UnsafeMutablePointer<Float>, rows: Int, columns: Int)
    /// `output: [rows, columns]` of `layer`.
    func linearOutput(_ layer: String, _ output: UnsafeMutablePointer<Float>, rows: Int, columns: Int)
    /// New keys and values of block `layer` (`[rows, keyValueHeadCount · headDimension]` each) before caching.
    func keyValue(layer: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, rows: Int, width: Int)
}

extension ForwardHooks {
    public func linearInput(_ layer: String, _ input: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {}
    public func linearOutput(_ layer: String, _ output: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {}
    public func keyValue(layer: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, rows: Int, width: Int) {}
}
