#!/usr/bin/env python3
"""Checks that every target in Package.swift declares exactly the project modules (and Yams, ArgumentParser, SwiftProtobuf) that its
sources import. Exits non-zero naming each mismatch."""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
package = open(os.path.join(ROOT, "Package.swift")).read()
targets = re.findall(r'\.(?:target|testTarget|executableTarget)\(name: "(\w+)",\s*dependencies: \[(.*?)\]', package, re.S)
own = set(re.findall(r'\.(?:target|systemLibrary)\(name: "(\w+)"', package)) | {"Yams", "ArgumentParser", "SwiftProtobuf"}
problems = []
for name, dependencies in targets:
    declared = {d for d in re.findall(r'"(\w+)"', dependencies) if d in own}
    folder = os.path.join(ROOT, "Tests" if name.endswith("Tests") else "Sources", name)
    imported = set()
    for path in glob.glob(os.path.join(folder, "**", "*.swift"), recursive=True):
        imported |= set(re.findall(r"^(?:@testable )?import (\w+)", open(path).read(), re.M))
    imported &= own
    if imported != declared:
        problems.append(f"{name}: imported but not declared {sorted(imported - declared)}, declared but not imported {sorted(declared - imported)}")
print("\n".join(problems) or f"Package.swift: {len(targets)} targets declare exactly what they import")
sys.exit(1 if problems else 0)
