#!/usr/bin/env python3
"""Validates JSON documents against cragate's published JSON Schemas.

Usage: validate-json-schema.py SCHEMA_DIR MAIN_SCHEMA FILE...

Loads every `*.schema.json` in SCHEMA_DIR (so that `$ref`s between them
resolve by their `$id`), validates each FILE against MAIN_SCHEMA with the
`jsonschema` package (JSON Schema draft 2020-12) and prints one JSON object
per line: {"file": ..., "verdict": "valid" | "invalid" | "not-json" |
"duplicate-keys", "errors": [...]}. A document with duplicate keys is not
judged: a schema sees only one of the values (RFC 8259 s.4), so whether it is
refused is the reader's business. Exits 2 when the tools are missing.
"""
import json
import os
import sys

try:
    import jsonschema
    from referencing import Registry, Resource
except ImportError as error:
    print("validate-json-schema.py needs the jsonschema package (scripts/test installs it): %s" % error,
          file=sys.stderr)
    sys.exit(2)


class DuplicateKey(ValueError):
    pass


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise DuplicateKey(", ".join(duplicated))
    return dict(pairs)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    schema_dir, main_name, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    schemas = {}
    for name in sorted(os.listdir(schema_dir)):
        if name.endswith(".schema.json"):
            with open(os.path.join(schema_dir, name), encoding="utf-8") as f:
                schemas[name] = json.load(f)
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values())
    main_schema = schemas[main_name]
    jsonschema.Draft202012Validator.check_schema(main_schema)
    validator = jsonschema.Draft202012Validator(main_schema, registry=registry)
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        try:
            document = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)
        except DuplicateKey as error:
            result = {"verdict": "duplicate-keys", "errors": [str(error)]}
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            result = {"verdict": "not-json", "errors": [str(error)[:200]]}
        else:
            errors = ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "$", e.message[:300])
                      for e in validator.iter_errors(document)]
            result = {"verdict": "invalid" if errors else "valid", "errors": errors}
        result["file"] = path
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
