#!/usr/bin/env python3
"""Verify a cragate ledger export (cragate.ledger-export/v1) independently of
cragate, with nothing but SHA-256 (hashlib) and Ed25519 (cryptography).

    verify-ledger-export.py EXPORT.jsonl [--key NAME+HASH+BASE64]

Checks: the checkpoint is a C2SP signed note signed by the key (the one
`cragate ledger key` printed; without --key, the one the export names),
every entry's leaf is included in the checkpointed tree (RFC 6962 leaf
hashing, RFC 9162 section 2.1.3.2 proof verification), every entry names
its own index, no entry comes twice and entries are in index order, and
every archived document has its digest. An export of a period (since
and/or until, no product) must hold every entry of the period: an unbroken
run of indexes from entry 0 or just after a boundary entry whose time is
before `since`, to the tree's end or just before a boundary entry whose
time is at or after `until`.
Exit status 0 when everything verifies, 1 otherwise.
"""

import argparse
import base64
import calendar
import hashlib
import json
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "cragate.ledger-export/v1"


class Invalid(Exception):
    pass


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def parse_key(text):
    """A C2SP signed-note verifier key: name+hex(key hash)+base64(0x01 || key)."""
    name, key_hash, key = text.strip().split("+", 2)
    raw = base64.b64decode(key, validate=True)
    if len(raw) != 33 or raw[0] != 0x01:
        raise Invalid("verifier key is not an Ed25519 key")
    expected = sha256(name.encode() + b"\n" + raw)[:4]
    if expected.hex() != key_hash:
        raise Invalid("verifier key hash does not match the key")
    return name, expected, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note, key):
    """Checks the note's signature by key; returns (size, root)."""
    name, key_hash, public = key
    body, blank, signatures = note.partition("\n\n")
    if not blank:
        raise Invalid("checkpoint has no signatures")
    body += "\n"
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            raise Invalid("malformed signature line")
        signer, signature = line[2:].split(" ", 1)
        blob = base64.b64decode(signature, validate=True)
        if signer == name and blob[:4] == key_hash:
            try:
                public.verify(blob[4:], body.encode())
            except InvalidSignature:
                raise Invalid("checkpoint signature does not verify") from None
            break
    else:
        raise Invalid(f"checkpoint is not signed by {name}")
    origin, size, root = body.split("\n")[:3]
    if origin != name:
        raise Invalid(f"checkpoint origin {origin!r} is not {name!r}")
    if str(int(size)) != size:
        raise Invalid("tree size is not canonical")
    root = base64.b64decode(root, validate=True)
    if len(root) != 32:
        raise Invalid("root is not 32 bytes")
    return int(size), root


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def parse_time(text):
    """An RFC 3339 UTC time as cragate writes it (YYYY-MM-DDTHH:MM:SS[.f]Z),
    as (seconds, nanoseconds) for comparing."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise Invalid(f"time {text!r} is not an RFC 3339 UTC time")
    whole, _, fraction = text[:-1].partition(".")
    if fraction and (not fraction.isdigit() or len(fraction) > 9):
        raise Invalid(f"time {text!r} has a malformed fraction")
    try:
        parsed = time.strptime(whole, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise Invalid(f"time {text!r} is not an RFC 3339 UTC time") from None
    return calendar.timegm(parsed), int(fraction.ljust(9, "0")) if fraction else 0


def missing(number, start, end):
    if end == start + 1:
        return Invalid(f"line {number}: entry {start} of the period is missing")
    return Invalid(f"line {number}: entries {start} to {end - 1} of the period are missing")


def check_period(selection, first, last, last_line, boundaries, size):
    """The entries from first to last (None when there are none) are every
    entry of the period, by the boundary entries' times."""
    since = parse_time(selection["since"]) if selection.get("since") is not None else None
    until = parse_time(selection["until"]) if selection.get("until") is not None else None
    before = after = None
    for number, index, when in boundaries:
        earlier = since is not None and when < since
        later = until is not None and when >= until
        if earlier == later:
            raise Invalid(f"line {number}: boundary entry {index} is not outside the period at one end")
        if earlier:
            if before is not None:
                raise Invalid(f"line {number}: two boundaries at the same end of the period")
            before = (number, index)
        else:
            if after is not None:
                raise Invalid(f"line {number}: two boundaries at the same end of the period")
            after = (number, index)
    if first is not None:
        start, end = first, last + 1
    elif before is not None:
        start = end = before[1] + 1
    elif after is not None:
        start = end = after[1]
    else:
        start = end = 0
    line = last_line or 0
    if before is not None:
        if before[1] >= start:
            raise Invalid(f"line {before[0]}: boundary entry {before[1]} lies among the entries of the period")
        if before[1] + 1 < start:
            raise missing(before[0], before[1] + 1, start)
    elif start > 0:
        raise Invalid(f"line {line}: no boundary entry shows that the period starts at entry {start}")
    if after is not None:
        if after[1] < end:
            raise Invalid(f"line {after[0]}: boundary entry {after[1]} lies among the entries of the period")
        if after[1] > end:
            raise missing(after[0], end, after[1])
    elif end < size:
        raise Invalid(f"line {line}: no boundary entry shows that the period ends before entry {end}")


def proven_record(number, line, size, root):
    """The record of an entry or boundary line, its leaf checked against the tree."""
    data = line["leaf"].encode("utf-8")
    record = json.loads(data)
    if record["index"] != line["index"]:
        raise Invalid(f"line {number}: leaf names another index")
    proof = [base64.b64decode(h, validate=True) for h in line["inclusion"]]
    if not verify_inclusion(line["index"], size, leaf_hash(data), proof, root):
        raise Invalid(f"line {number}: entry {line['index']} is not in the tree")
    return record


def verify(lines, pinned):
    header = json.loads(lines[0])
    if header.get("type") != "header" or header.get("format") != FORMAT:
        raise Invalid(f"line 1 is not a {FORMAT} header")
    key = parse_key(pinned or header["verifier_key"])
    checkpoint = json.loads(lines[1])
    if checkpoint.get("type") != "checkpoint":
        raise Invalid("line 2 is not the checkpoint")
    size, root = open_checkpoint(checkpoint["note"], key)
    selection = header.get("selection") or {}
    period = selection.get("product") is None and (
        selection.get("since") is not None or selection.get("until") is not None
    )
    entries, documents, wanted = 0, 0, set()
    first = last = last_line = None
    boundaries = []
    for number, text in enumerate(lines[2:], start=3):
        line = json.loads(text)
        if line["type"] == "entry":
            record = proven_record(number, line, size, root)
            index = line["index"]
            if last is not None:
                if index == last:
                    raise Invalid(f"line {number}: entry {index} appears twice (first on line {last_line})")
                if index < last:
                    raise Invalid(f"line {number}: entry {index} comes after entry {last}: entries are in index order")
                if period and index != last + 1:
                    raise missing(number, last + 1, index)
            else:
                first = index
            last, last_line = index, number
            if record["body"]["kind"] == "document":
                wanted.add(record["body"]["digest"])
            entries += 1
        elif line["type"] == "boundary":
            if not period:
                raise Invalid(f"line {number}: only a period export has boundary lines")
            if len(boundaries) == 2:
                raise Invalid(f"line {number}: a period export has at most two boundary lines")
            record = proven_record(number, line, size, root)
            boundaries.append((number, line["index"], parse_time(record["time"])))
        elif line["type"] == "document":
            content = base64.b64decode(line["content"], validate=True)
            if "sha256:" + hashlib.sha256(content).hexdigest() != line["digest"]:
                raise Invalid(f"line {number}: document does not have its digest")
            wanted.discard(line["digest"])
            documents += 1
        else:
            raise Invalid(f"line {number}: unexpected {line['type']!r} line")
    if period:
        check_period(selection, first, last, last_line, boundaries, size)
    if wanted:
        raise Invalid(f"document {sorted(wanted)[0]} is named but not exported")
    return entries, documents, size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export")
    parser.add_argument("--key", help="the ledger's verifier key")
    args = parser.parse_args()
    with open(args.export, encoding="utf-8") as file:
        # Split on "\n" only: a record may hold U+2028, which splitlines() breaks on.
        lines = [line for line in file.read().split("\n") if line]
    try:
        entries, documents, size = verify(lines, args.key)
    except (Invalid, ValueError, KeyError, IndexError) as error:
        print(f"export not verified: {error}", file=sys.stderr)
        return 1
    print(f"export verified: {entries} entries and {documents} documents in the tree of size {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
