#!/usr/bin/env python3
"""Splits a protoc-gen-swift file into files of at most --max lines, cut between top-level declarations. The generated
extensions read their structs' fileprivate storage and a fileprivate package-name constant from other parts of the
file, so `fileprivate` becomes module-internal (the module holds only generated code); the file's preamble (comments,
imports) is repeated in every part. Used by scripts/gen-onnx-proto.sh.

    python3 scripts/split_generated_swift.py Sources/ONNXProto/onnx.pb.swift [--max 400]
"""
import argparse
import os
import re


def blocks(lines):
    """Top-level declarations with their leading comments/attributes: (root type name, lines)."""
    out, current, depth, started = [], [], 0, False
    for line in lines:
        current.append(line)
        depth += line.count("{") - line.count("}")
        if re.match(r"^\S", line) and not line.startswith("//") and not line.startswith("#") and "{" in line:
            started = True
        if started and depth == 0:
            head = next(l for l in current if re.match(r"^\S", l) and not l.startswith("//") and not l.startswith("#"))
            match = re.search(r"(?:struct|enum|class|extension)\s+([A-Za-z0-9_]+)", head)
            out.append((match.group(1) if match else "", current))
            current, started = [], False
    return out, current


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--max", type=int, default=400)
    args = parser.parse_args()
    text = re.sub(r"\bfileprivate (?!nonisolated struct _GeneratedWithProtocGenSwiftVersion)", "", open(args.path).read())
    lines = text.split("\n")
    first = next(i for i, l in enumerate(lines) if l.startswith("import SwiftProtobuf"))
    preamble = lines[:first + 1]
    decls, tail = blocks(lines[first + 1:])
    parts, current = [], []
    for _, body in decls:
        if current and len(preamble) + len(current) + len(body) > args.max:
            parts.append(current)
            current = []
        current += body
    parts.append(current + tail)
    stem = args.path[:-len(".swift")]
    for old in os.listdir(os.path.dirname(args.path)):
        if re.match(re.escape(os.path.basename(stem)) + r"\+\d+\.swift$", old):
            os.remove(os.path.join(os.path.dirname(args.path), old))
    for index, part in enumerate(parts):
        path = args.path if index == 0 else f"{stem}+{index}.swift"
        content = "\n".join(preamble + part).rstrip("\n") + "\n"
        with open(path + ".tmp", "w") as f:
            f.write(content)
        os.replace(path + ".tmp", path)
        print(f"{path}: {content.count(chr(10))} lines")


if __name__ == "__main__":
    main()
