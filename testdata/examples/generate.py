#!/usr/bin/env python3
"""Generates the example upload used by the README's `cragate serve` section
and by the end-to-end tests: a listing the shipped app-store policy accepts
until its support period ends (2032-12), with one small artifact whose
SHA-256 digest and size the listing declares.

The listing is testdata/cra/app_store_class_i_pass/listing.json with its
artifact replaced. Re-running this script changes nothing.

Usage: python3 testdata/examples/generate.py
"""
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "cra", "app_store_class_i_pass", "listing.json")
ARTIFACT = b"".join(
    b"vaultkey-desktop 3.1.0 example artifact, block %05d\n" % i for i in range(2048)
)


def main():
    with open(SOURCE, encoding="utf-8") as f:
        listing = json.load(f)
    listing["artifacts"] = [
        {
            "name": "vaultkey-3.1.0-example.bin",
            "digest": "sha256:" + hashlib.sha256(ARTIFACT).hexdigest(),
            "size": len(ARTIFACT),
            "media_type": "application/octet-stream",
        }
    ]
    with open(os.path.join(HERE, "accepted-listing.json"), "w", encoding="utf-8") as f:
        json.dump(listing, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(HERE, "accepted-artifact.bin"), "wb") as f:
        f.write(ARTIFACT)


if __name__ == "__main__":
    main()
