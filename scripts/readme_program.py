#!/usr/bin/env python3
"""Prints the README's embedding program: the first ```rs block under the heading
"Embedding in a kube-rs operator". Used by scripts/consumer.sh (which compiles it against the
packaged crates) and benches/build-cost.sh (which measures its cold build).

usage: scripts/readme_program.py README.md
"""
import re
import sys

section = open(sys.argv[1]).read().split("## Embedding in a kube-rs operator", 1)[1]
print(re.search(r"```rs\n(.*?)```", section, re.S).group(1), end="")
