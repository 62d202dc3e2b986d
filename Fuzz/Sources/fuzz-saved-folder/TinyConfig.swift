/// The config.json of the tiny model (`make-fuzz-seeds`' `SeedModel.configuration`) that the saved-folder seeds
/// were quantized from; `make-fuzz-seeds` checks that it still matches.
enum TinyConfig {
    static let json = """
        {"head_dim":8,"hidden_size":32,"intermediate_size":64,"max_position_embeddings":64,"model_type":"llama",\
        "num_attention_heads":4,"num_hidden_layers":1,"num_key_value_heads":2,"rms_norm_eps":1e-05,"rope_theta":10000,\
        "tie_word_embeddings":true,"vocab_size":32}
        """
}
