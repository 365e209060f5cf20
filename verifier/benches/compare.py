"""Best round of cragate and of sigstore-python per case (CPU time per cold
verification, from verify_cpu and sigstore_python_verify.py) and the ratio."""

import json
import sys


def best(path):
    rounds = {}
    for line in open(path):
        result = json.loads(line)
        previous = rounds.get(result["name"])
        if previous is None or result["cpu_us"] < previous["cpu_us"]:
            rounds[result["name"]] = result
    return rounds


ours, theirs = best(sys.argv[1]), best(sys.argv[2])
print(f"{'case':<20}{'cragate µs cpu':>16}{'sigstore-python µs cpu':>25}{'speed-up':>10}")
for name, mine in ours.items():
    other = theirs[name]
    print(f"{name:<20}{mine['cpu_us']:>16.0f}{other['cpu_us']:>25.0f}{other['cpu_us'] / mine['cpu_us']:>9.1f}x")
