"""Reads sigstore_python_verify.py's JSON lines on stdin and criterion's
estimates for the same case names, and prints the ratio."""

import json
import sys

print(f"{'case':<22}{'cragate µs':>12}{'sigstore-python µs wall (cpu)':>32}{'speed-up':>10}")
for line in sys.stdin:
    python = json.loads(line)
    name = python["name"]
    with open(f"target/criterion/verify/{name}/new/estimates.json") as f:
        ours = json.load(f)["mean"]["point_estimate"] / 1000
    wall, cpu = python["wall_us"], python["cpu_us"]
    print(f"{name:<22}{ours:>12.0f}{wall:>20.0f} ({cpu:.0f}){wall / ours:>9.1f}x")
