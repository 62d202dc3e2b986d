#!/usr/bin/env python3
"""Cross-checks a tokenizer.json that Quanta wrote against the reference Hugging Face `tokenizers` package.

Usage:
    check_tokenizer_json.py TOKENIZER_JSON TEXTS_JSON

TEXTS_JSON holds a JSON array of strings. The tokenizer is loaded with `tokenizers.Tokenizer.from_file` (which
rejects a malformed or inconsistent file) and the script prints, as one JSON object:
    {"vocab_size": int (with added tokens),
     "with_special": [[ids], ...],      # encode(text, add_special_tokens=True) per text
     "without_special": [[ids], ...],   # encode(text, add_special_tokens=False)
     "decoded": [str, ...],             # decode(with_special ids, skip_special_tokens=False)
     "decoded_skipping_special": [str, ...]}

Tested with tokenizers 0.23.3 (`pip install tokenizers`).
"""

import json
import sys

from tokenizers import Tokenizer


def main(tokenizer_path, texts_path):
    tokenizer = Tokenizer.from_file(tokenizer_path)
    with open(texts_path, encoding="utf-8") as handle:
        texts = json.load(handle)
    with_special = [encoding.ids for encoding in tokenizer.encode_batch(texts, add_special_tokens=True)]
    without_special = [encoding.ids for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]
    report = {
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "with_special": with_special,
        "without_special": without_special,
        "decoded": [tokenizer.decode(ids, skip_special_tokens=False) for ids in with_special],
        "decoded_skipping_special": [tokenizer.decode(ids, skip_special_tokens=True) for ids in with_special],
    }
    json.dump(report, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
