#!/usr/bin/env python3
"""Runs an ONNX model Quanta exported with the reference consumers and prints one JSON object on stdout.

  check_onnx.py run MODEL ID,ID,... [options]
      onnx.checker.check_model (full check, external data included), then onnxruntime's CPU provider: a prefill of the
      ids from an empty KV cache (batch 1, position ids 0..n-1), and with --decode ID one more step that feeds the
      prefill's present.N.key/value back as past_key_values. Prints the prefill logits (one row per position) and the
      decode logits, and the operator types of the graph onnxruntime ran after its optimizations.
      --accuracy-level N   session.qdq_matmulnbits_accuracy_level (onnxruntime fuses 4-bit DequantizeLinear+MatMul
                           into MatMulNBits; 0 keeps activations in float, its default 4 quantizes them to int8)
      --no-optimization    graph optimizations off: every node runs as written
      --disable-qdq-fusion session.disable_quant_qdq=1 (onnxruntime 1.23's QDQ fusion has no float8 MatMul kernel)
      --raw PATH           write the prefill logits to PATH as little-endian float32 instead of into the JSON
  check_onnx.py padded MODEL ID,ID,... PAD
      a batch of two: the ids as they are, and the ids left-padded with PAD zeros (attention_mask 0 there, position
      ids counting from the first real token). Prints both rows' logits over the real tokens.

  check_onnx.py apply MODEL IN.f32 ROWS COLUMNS OUT.f32
      runs a one-input graph (x: float [1, ROWS, COLUMNS]) with every optimization off and writes its output y as
      little-endian float32.

Used by Tests/ExportTests/ONNXInteropTests.swift and Tests/ExportTests/ONNXSmolLM2Tests.swift.
"""
import json
import os
import sys
import tempfile


def session(path, accuracy_level=None, optimize=True, qdq_fusion=True):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if not qdq_fusion:
        options.add_session_config_entry("session.disable_quant_qdq", "1")
    if accuracy_level is not None:
        options.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", str(accuracy_level))
    optimized = tempfile.NamedTemporaryFile(suffix=".onnx", delete=False).name
    options.optimized_model_filepath = optimized
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                     os.path.basename(optimized) + ".data")
    sess = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    import onnx

    graph = onnx.load(optimized, load_external_data=False).graph
    ops = sorted({node.op_type for node in graph.node})
    for leftover in (optimized, optimized + ".data"):
        if os.path.exists(leftover):
            os.remove(leftover)
    return sess, ops


def empty_past(sess, batch):
    import numpy as np

    feeds = {}
    for value in sess.get_inputs():
        if value.name.startswith("past_key_values."):
            _, heads, _, head_dim = value.shape
            feeds[value.name] = np.zeros((batch, heads, 0, head_dim), dtype=np.float32)
    return feeds


def run(path, ids, decode=None, accuracy_level=None, optimize=True, raw=None, qdq_fusion=True):
    import numpy as np
    import onnx

    onnx.checker.check_model(path, full_check=True)
    sess, ops = session(path, accuracy_level, optimize, qdq_fusion)
    names = [o.name for o in sess.get_outputs()]
    n = len(ids)
    feeds = {
        "input_ids": np.array([ids], dtype=np.int64),
        "attention_mask": np.ones((1, n), dtype=np.int64),
        "position_ids": np.arange(n, dtype=np.int64)[None, :],
    }
    feeds.update(empty_past(sess, 1))
    outputs = dict(zip(names, sess.run(None, feeds)))
    logits = outputs["logits"][0]
    result = {"ops": ops, "positions": n}
    if raw:
        logits.astype("<f4").tofile(raw)
    else:
        result["logits"] = logits.tolist()
    if decode is not None:
        step = {
            "input_ids": np.array([[decode]], dtype=np.int64),
            "attention_mask": np.ones((1, n + 1), dtype=np.int64),
            "position_ids": np.array([[n]], dtype=np.int64),
        }
        for name, value in outputs.items():
            if name.startswith("present."):
                step["past_key_values." + name[len("present."):]] = value
        decoded = dict(zip(names, sess.run(None, step)))
        result["decode_logits"] = decoded["logits"][0, 0].tolist()
        result["present_length"] = int(decoded["present.0.key"].shape[2])
    return result


def padded(path, ids, pad):
    import numpy as np

    sess, _ = session(path)
    n = len(ids)
    total = n + pad
    input_ids = np.zeros((2, total), dtype=np.int64)
    mask = np.zeros((2, total), dtype=np.int64)
    positions = np.zeros((2, total), dtype=np.int64)
    input_ids[0, :n] = ids
    mask[0, :n] = 1
    positions[0, :n] = np.arange(n)
    input_ids[1, pad:] = ids
    mask[1, pad:] = 1
    positions[1, pad:] = np.arange(n)
    feeds = {"input_ids": input_ids, "attention_mask": mask, "position_ids": positions}
    feeds.update(empty_past(sess, 2))
    logits = sess.run(["logits"], feeds)[0]
    return {"unpadded": logits[0, :n].tolist(), "left_padded": logits[1, pad:].tolist()}


def apply(path, source, rows, columns, destination):
    import numpy as np

    sess, _ = session(path, optimize=False)
    x = np.fromfile(source, dtype="<f4").reshape(1, rows, columns)
    y = sess.run(["y"], {"x": x})[0]
    y.astype("<f4").tofile(destination)
    return {"shape": list(y.shape)}


def main(argv):
    if len(argv) >= 3 and argv[0] == "run":
        options = argv[3:]
        decode = accuracy = raw = None
        optimize = qdq_fusion = True
        i = 0
        while i < len(options):
            if options[i] == "--decode":
                decode, i = int(options[i + 1]), i + 2
            elif options[i] == "--accuracy-level":
                accuracy, i = int(options[i + 1]), i + 2
            elif options[i] == "--raw":
                raw, i = options[i + 1], i + 2
            elif options[i] == "--no-optimization":
                optimize, i = False, i + 1
            elif options[i] == "--disable-qdq-fusion":
                qdq_fusion, i = False, i + 1
            else:
                sys.exit(f"unknown option {options[i]}")
        ids = [int(t) for t in argv[2].split(",")]
        print(json.dumps(run(argv[1], ids, decode, accuracy, optimize, raw, qdq_fusion)))
    elif len(argv) == 4 and argv[0] == "padded":
        print(json.dumps(padded(argv[1], [int(t) for t in argv[2].split(",")], int(argv[3]))))
    elif len(argv) == 6 and argv[0] == "apply":
        print(json.dumps(apply(argv[1], argv[2], int(argv[3]), int(argv[4]), argv[5])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
