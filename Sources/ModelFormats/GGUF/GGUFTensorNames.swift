/// The table between llama.cpp's GGUF tensor names and Hugging Face's canonical names for Llama-family decoders
/// (llama.cpp `LLM_TENSOR_NAMES` for LLM_ARCH_LLAMA; transformers `LlamaForCausalLM` state dict).
public enum GGUFTensorNames {
    /// Per-block names: GGUF suffix after `blk.N.` → Hugging Face suffix after `model.layers.N.`.
    static let blockNames: [String: String] = [
        "attn_norm.weight": "input_layernorm.weight",
        "attn_q.weight": "self_attn.q_proj.weight",
        "attn_k.weight": "self_attn.k_proj.weight",
        "attn_v.weight": "self_attn.v_proj.weight",
        "attn_output.weight": "self_attn.o_proj.weight",
        "attn_q.bias": "self_attn.q_proj.bias",
        "attn_k.bias": "self_attn.k_proj.bias",
        "attn_v.bias": "self_attn.v_proj.bias",
        "ffn_norm.weight": "post_attention_layernorm.weight",
        "ffn_gate.weight": "mlp.gate_proj.weight",
        "ffn_up.weight": "mlp.up_proj.weight",
        "ffn_down.weight": "mlp.down_proj.weight",
    ]

    /// Whole-model names.
    static let globalNames: [String: String] = [
        "token_embd.weight": "model.embed_tokens.weight",
        "output_norm.weight": "model.norm.weight",
        "output.weight": "lm_head.weight",
    ]

    /// The Hugging Face name for a Llama GGUF tensor name, or nil when the table has none.
    public static func canonicalName(forLlama name: String) -> String? {
        if let global = globalNames[name] { return global }
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "blk", let block = Int(parts[1]), block >= 0,
              let suffix = blockNames[String(parts[2])] else { return nil }
        return "model.layers.\(block).\(suffix)"
    }

    /// The GGUF name for a Hugging Face Llama tensor name (the inverse table), or nil.
    public static func ggufName(forLlama canonical: String) -> String? {
        if let global = globalNames.first(where: { $0.value == canonical }) { return global.key }
        let parts = canonical.split(separator: ".", maxSplits: 3)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let block = Int(parts[2]),
              let suffix = blockNames.first(where: { $0.value == String(parts[3]) })?.key else { return nil }
        return "blk.\(block).\(suffix)"
    }
}
