#!/usr/bin/env bash
# Verifies every signed vector here with sigstore-python, an implementation
# independent of the one cragate uses, so the test signer cannot drift from
# the real Sigstore format unnoticed.
#
# Usage: verify_with_sigstore_python.sh [PYTHON]
#   PYTHON (or $SIGSTORE_PYTHON) is a Python interpreter with the `sigstore`
#   package installed, e.g. from a virtualenv:
#     python3 -m venv "$VENV" && "$VENV/bin/pip" install sigstore
#     testdata/signed/verify_with_sigstore_python.sh "$VENV/bin/python"
#
# Everything is offline: the trust comes from trust_config.json (the test
# instance's trusted root and signing config), never from a TUF repository.
set -euo pipefail

python="${1:-${SIGSTORE_PYTHON:-python3}}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
config="$here/trust_config.json"

if ! "$python" -c 'import sigstore' 2>/dev/null; then
    echo "error: $python has no 'sigstore' package (pip install sigstore)" >&2
    exit 2
fi
echo "sigstore-python $("$python" -c 'import sigstore; print(sigstore.__version__)')"

verify() { # case_dir identity issuer
    COLUMNS=1000 "$python" -m sigstore --trust-config "$config" verify identity --offline \
        --cert-identity "$2" --cert-oidc-issuer "$3" \
        --bundle "$1/bundle.sigstore.json" "$1/artifact"
}

failures=0
passed=0
cases=0
for dir in "$here"/*_pass; do
    name="$(basename "$dir")"
    cases=$((cases + 1))
    identity="$(cat "$dir/identity")"
    issuer="$(cat "$dir/issuer")"
    if verify "$dir" "$identity" "$issuer" >/dev/null 2>"$dir.stderr"; then
        echo "ok    $name"
        passed=$((passed + 1))
    else
        echo "FAIL  $name"; cat "$dir.stderr"; failures=$((failures + 1))
    fi
    rm -f "$dir.stderr"
    # A check that passes everything proves nothing: a wrong identity must fail.
    if verify "$dir" "someone-else@example.test" "$issuer" >/dev/null 2>&1; then
        echo "FAIL  $name verified for the wrong identity"; failures=$((failures + 1))
    fi
    if [[ -f "$dir/claims.json" ]]; then
        if "$python" - "$config" "$dir" "$identity" "$issuer" <<'PY'
import inspect, json, sys
from pathlib import Path

from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier, policy

config, case, identity, issuer = sys.argv[1:]
case = Path(case)
by_oid = {
    cls.oid.dotted_string: cls
    for _, cls in inspect.getmembers(policy, inspect.isclass)
    if issubclass(cls, policy._SingleX509ExtPolicyV2) and hasattr(cls, "oid")
}
rules = [policy.Identity(identity=identity, issuer=issuer)]
for oid, value in json.loads((case / "claims.json").read_text()).items():
    rules.append(by_oid[oid](value))
verifier = Verifier(trusted_root=ClientTrustConfig.from_json(Path(config).read_text()).trusted_root)
bundle = Bundle.from_json((case / "bundle.sigstore.json").read_bytes())
verifier.verify_artifact((case / "artifact").read_bytes(), bundle, policy.AllOf(rules))
PY
        then
            echo "ok    $name claims.json"
            passed=$((passed + 1))
        else
            echo "FAIL  $name claims.json"; failures=$((failures + 1))
        fi
    fi
done

for dir in "$here"/*_fail; do
    [[ -d "$dir" ]] || continue
    name="$(basename "$dir")"
    cases=$((cases + 1))
    if verify "$dir" "$(cat "$dir/identity")" "$(cat "$dir/issuer")" >/dev/null 2>"$dir.stderr"; then
        echo "FAIL  $name verified, but must not"; failures=$((failures + 1))
    else
        reason="$(grep 'ERROR' "$dir.stderr" | grep -v 'FAIL:' | head -n 1 |
            sed -E 's/.*ERROR +//; s/ +[a-z_]+\.py:[0-9]+ *$//')"
        echo "ok    $name refused: $reason"
        passed=$((passed + 1))
    fi
    rm -f "$dir.stderr"
done

# The bundles embedded in the signed CRA listings (../cra-signed): in every
# _pass case, each artifact signature and attestation must verify for the
# manufacturer's release identity.
for dir in "$here"/../cra-signed/*_pass; do
    [[ -d "$dir" ]] || continue
    name="cra-signed/$(basename "$dir")"
    cases=$((cases + 1))
    if "$python" - "$here/trusted_root.json" "$dir/listing.json" 2>"$here/.stderr" <<'PY'
import json, sys

from sigstore.hashes import Hashed
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity
from sigstore_models.common.v1 import HashAlgorithm

root, listing_path = sys.argv[1:]
verifier = Verifier(trusted_root=TrustedRoot.from_file(root))
policy = Identity(identity="release@bastion-secure.example",
                  issuer="https://accounts.bastion-secure.example")
listing = json.load(open(listing_path))
checked = 0
for artifact in listing["artifacts"]:
    digest = bytes.fromhex(artifact["digest"].removeprefix("sha256:"))
    bundle = Bundle.from_json(json.dumps(artifact["signature"]))
    verifier.verify_artifact(Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest), bundle, policy)
    checked += 1
for attestation in listing["attestations"]:
    _, payload = verifier.verify_dsse(Bundle.from_json(json.dumps(attestation)), policy)
    subjects = {s["digest"]["sha256"] for s in json.loads(payload)["subject"]}
    for artifact in listing["artifacts"]:
        assert artifact["digest"].removeprefix("sha256:") in subjects, "artifact not a subject"
    checked += 1
assert checked > 0, "no bundle in the listing"
PY
    then
        echo "ok    $name"
        passed=$((passed + 1))
    else
        echo "FAIL  $name"; cat "$here/.stderr"; failures=$((failures + 1))
    fi
    rm -f "$here/.stderr"
done

if [[ $cases -eq 0 ]]; then
    echo "error: no cases under $here" >&2
    exit 2
fi
echo "sigstore-python: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
