"""Baseline for `benches/verify.rs`: sigstore-python's in-process verifier
(`Verifier.verify_artifact`, or `verify_dsse` plus the subject check for DSSE
bundles) on the same bundles. Prints one JSON line per case with the mean
wall-clock and CPU time (this thread's) per cold verification (bundle parse
+ verify).

Usage: python sigstore_python_verify.py CASES.json SECONDS
CASES.json: [{"name", "kind": "message"|"dsse", "bundle", "artifact", "root",
              "identity", "issuer"}]
"""

import hashlib
import json
import sys
import time

from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity


def run(case, seconds):
    verifier = Verifier(trusted_root=TrustedRoot.from_file(case["root"]))
    policy = Identity(identity=case["identity"], issuer=case["issuer"])
    bundle_json = open(case["bundle"], "rb").read()
    artifact = open(case["artifact"], "rb").read()
    digest = hashlib.sha256(artifact).hexdigest()

    def once():
        bundle = Bundle.from_json(bundle_json)
        if case["kind"] == "dsse":
            _, payload = verifier.verify_dsse(bundle, policy)
            subjects = json.loads(payload)["subject"]
            if not any(s["digest"].get("sha256") == digest for s in subjects):
                raise SystemExit(f"{case['name']}: artifact is not a subject")
        else:
            verifier.verify_artifact(artifact, bundle, policy)

    once()
    iterations = 0
    wall_start, cpu_start = time.perf_counter(), time.thread_time()
    while time.perf_counter() - wall_start < seconds:
        once()
        iterations += 1
    wall = (time.perf_counter() - wall_start) / iterations
    cpu = (time.thread_time() - cpu_start) / iterations
    return {"name": case["name"], "iterations": iterations, "wall_us": wall * 1e6, "cpu_us": cpu * 1e6}


def main():
    cases = json.load(open(sys.argv[1]))
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    for case in cases:
        print(json.dumps(run(case, seconds)), flush=True)


if __name__ == "__main__":
    main()
