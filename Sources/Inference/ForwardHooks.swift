/// Points in a forward pass where calibration and the debugger observe activations.
///
/// Hooks only read: what a layer computes (its weights, its activation quantizers) belongs to the layer, so a model
/// runs the same with or without hooks. A hook sees each linear layer's input before and after the layer's input
/// quantizer, each linear's output before its output quantizer, and each block's new keys and values before the KV
/// cache quantizers. Hooks are called from the thread running the forward pass, in model order.
public protocol ForwardHooks: AnyObject {
    /// `input: [rows, columns]` of the linear layer `layer` (Hugging Face name, e.g. `model.layers.0.mlp.up_proj`),
    /// after its online input transform and before its input quantizer.
    func linearInput(_ layer: String, _ input: UnsafePointer<Float>, rows: Int, columns: Int)
    /// The input the product of `layer` reads: after its input quantizer (the same values as `linearInput` when the
    /// layer quantizes no input).
    func linearProductInput(_ layer: String, _ input: UnsafePointer<Float>, rows: Int, columns: Int)
    /// `output: [rows, columns]` of `layer`, before its output quantizer.
    func linearOutput(_ layer: String, _ output: UnsafePointer<Float>, rows: Int, columns: Int)
    /// New keys and values of block `layer` (`[rows, keyValueHeadCount · headDimension]` each) before caching.
    func keyValue(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rows: Int, width: Int)
}

extension ForwardHooks {
    public func linearInput(_ layer: String, _ input: UnsafePointer<Float>, rows: Int, columns: Int) {}
    public func linearProductInput(_ layer: String, _ input: UnsafePointer<Float>, rows: Int, columns: Int) {}
    public func linearOutput(_ layer: String, _ output: UnsafePointer<Float>, rows: Int, columns: Int) {}
    public func keyValue(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rows: Int, width: Int) {}
}
