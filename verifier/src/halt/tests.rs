use std::collections::BTreeMap;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;

use super::*;
use crate::policy::{Policy, PolicyDraft};

const NOTICE: &str = r#"{"format": "cragate.halt/v1", "issuer": "lumatek-psirt", "sequence": 7,
 "issued_at": "2026-12-01T10:00:00Z", "action": "halt",
 "scope": {"products": ["lumacam-c3-pro"], "versions": "<2.9.0", "digests": [], "batches": []},
 "reason": "CVE-2026-1234 actively exploited; units must not be supplied",
 "reference": {"advisory": "https://lumatek.example/csaf/2026/ltk-2026-007.json", "authority_order": null}}"#;

enum Key {
    Ed(Ed25519KeyPair),
    P256(EcdsaKeyPair),
}

impl Key {
    fn ed25519() -> Self {
        Self::Ed(Ed25519KeyPair::generate().unwrap())
    }
    fn p256() -> Self {
        Self::P256(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap())
    }
    fn public_pem(&self) -> Vec<u8> {
        let der = match self {
            Self::Ed(k) => k.public_key().as_der().unwrap().as_ref().to_vec(),
            Self::P256(k) => k.public_key().as_der().unwrap().as_ref().to_vec(),
        };
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(der)
        )
        .into_bytes()
    }
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Ed(k) => k.sign(message).as_ref().to_vec(),
            Self::P256(k) => k
                .sign(&SystemRandom::new(), message)
                .unwrap()
                .as_ref()
                .to_vec(),
        }
    }
}

fn envelope(key: &Key, payload: &[u8]) -> Vec<u8> {
    let sig = key.sign(&pae(HALT_PAYLOAD_TYPE, payload));
    serde_json::to_vec(&Envelope {
        payload: STANDARD.encode(payload),
        payload_type: HALT_PAYLOAD_TYPE.into(),
        signatures: vec![EnvelopeSignature {
            keyid: String::new(),
            sig: STANDARD.encode(sig),
        }],
    })
    .unwrap()
}

fn policy_with(issuers: &str, key: &Key) -> Result<Policy, String> {
    let text = format!("format = \"cragate.policy/v1\"\nname = \"halts\"\n{issuers}");
    let draft = PolicyDraft::parse("policy.toml", text.as_bytes()).map_err(|e| e.to_string())?;
    let files: BTreeMap<String, Vec<u8>> = draft
        .references()
        .iter()
        .map(|r| (r.path.clone(), key.public_pem()))
        .collect();
    draft.compile(&files).map_err(|e| e.to_string())
}

fn policy(key: &Key) -> Policy {
    policy_with(
        "[[halt_issuers]]\nid = \"lumatek-psirt\"\nkey = \"keys/lumatek.pub\"\nproducts = [\"lumacam-*\"]\n",
        key,
    )
    .unwrap()
}

fn at() -> Timestamp {
    "2026-12-01T11:00:00Z".parse().unwrap()
}

#[test]
fn notice_signed_with_the_issuers_ed25519_key_verifies() {
    let key = Key::ed25519();
    let verified = verify(&envelope(&key, NOTICE.as_bytes()), &policy(&key), at()).unwrap();
    let notice = verified.notice();
    assert_eq!(notice.issuer, "lumatek-psirt");
    assert_eq!(notice.sequence, 7);
    assert_eq!(notice.action, Action::Halt);
    assert_eq!(notice.scope.versions.as_ref().unwrap().as_str(), "<2.9.0");
    assert_eq!(verified.payload(), NOTICE.as_bytes());
    assert_eq!(verified.form(), SignedForm::Dsse);
    assert!(verified.signer().starts_with("key sha256:"));
}

#[test]
fn notice_signed_with_a_p256_key_verifies() {
    let key = Key::p256();
    verify(&envelope(&key, NOTICE.as_bytes()), &policy(&key), at()).unwrap();
}

#[test]
fn untrusted_key_is_a_bad_signature() {
    let trusted = Key::ed25519();
    let other = Key::ed25519();
    let error = verify(
        &envelope(&other, NOTICE.as_bytes()),
        &policy(&trusted),
        at(),
    )
    .unwrap_err();
    assert_eq!(error.refusal(), Refusal::BadSignature, "{error}");
}

#[test]
fn payload_altered_after_signing_is_a_bad_signature() {
    let key = Key::ed25519();
    let signed = envelope(&key, NOTICE.as_bytes());
    let mut envelope: Envelope = serde_json::from_slice(&signed).unwrap();
    let altered = NOTICE.replace("\"sequence\": 7", "\"sequence\": 8");
    envelope.payload = STANDARD.encode(altered);
    let error = verify(&serde_json::to_vec(&envelope).unwrap(), &policy(&key), at()).unwrap_err();
    assert_eq!(error.refusal(), Refusal::BadSignature, "{error}");
}

#[test]
fn issuer_without_an_entry_is_not_trusted() {
    let key = Key::ed25519();
    let notice = NOTICE.replace("lumatek-psirt", "someone-else");
    let error = verify(&envelope(&key, notice.as_bytes()), &policy(&key), at()).unwrap_err();
    assert!(matches!(error, HaltError::UnknownIssuer { .. }), "{error}");
    assert_eq!(error.refusal(), Refusal::NotTrusted);
}

#[test]
fn product_outside_the_issuers_globs_is_not_trusted() {
    let key = Key::ed25519();
    let notice = NOTICE.replace("lumacam-c3-pro", "othercam-1");
    let error = verify(&envelope(&key, notice.as_bytes()), &policy(&key), at()).unwrap_err();
    assert!(
        matches!(&error, HaltError::ProductNotTrusted { product, .. } if product == "othercam-1"),
        "{error}"
    );
}

#[test]
fn action_the_issuer_may_not_take_is_not_trusted() {
    let key = Key::ed25519();
    let policy = policy_with(
        "[[halt_issuers]]\nid = \"lumatek-psirt\"\nkey = \"k.pub\"\nproducts = [\"*\"]\nactions = [\"recall\"]\n",
        &key,
    )
    .unwrap();
    let error = verify(&envelope(&key, NOTICE.as_bytes()), &policy, at()).unwrap_err();
    assert!(
        matches!(error, HaltError::ActionNotTrusted { .. }),
        "{error}"
    );
}

#[test]
fn malformed_notices_say_what_is_wrong() {
    let key = Key::ed25519();
    let policy = policy(&key);
    let cases = [
        (
            NOTICE.replace("cragate.halt/v1", "cragate.halt/v2"),
            "format",
        ),
        (NOTICE.replace("\"halt\"", "\"pause\""), "action"),
        (NOTICE.replace("\"<2.9.0\"", "\"<<2\""), "semver"),
        (
            NOTICE.replace("\"lumacam-c3-pro\"", ""),
            "scope.products is empty",
        ),
        (NOTICE.replace("\"halt\"", "\"lift\""), "lifts"),
        (
            NOTICE.replace("\"digests\": []", "\"digests\": [\"md5:00\"]"),
            "scope.digests[0]",
        ),
        (
            NOTICE.replace("\"reason\"", "\"extra\": 1, \"reason\""),
            "extra",
        ),
        (
            NOTICE.replace("2026-12-01T10:00:00Z", "yesterday"),
            "issued_at",
        ),
    ];
    for (notice, needle) in cases {
        let error = verify(&envelope(&key, notice.as_bytes()), &policy, at()).unwrap_err();
        assert_eq!(error.refusal(), Refusal::Malformed, "{error}");
        assert!(error.to_string().contains(needle), "{needle}: {error}");
    }
    let error = verify(b"{\"hello\": 1}", &policy, at()).unwrap_err();
    assert_eq!(error.refusal(), Refusal::Malformed);
    let error = verify(b"not json", &policy, at()).unwrap_err();
    assert_eq!(error.refusal(), Refusal::Malformed);
}

#[test]
fn other_payload_types_are_refused() {
    let key = Key::ed25519();
    let signed = envelope(&key, NOTICE.as_bytes());
    let mut envelope: Envelope = serde_json::from_slice(&signed).unwrap();
    envelope.payload_type = "application/vnd.in-toto+json".into();
    let error = verify(&serde_json::to_vec(&envelope).unwrap(), &policy(&key), at()).unwrap_err();
    assert!(error.to_string().contains("payloadType"), "{error}");
}

#[test]
fn a_lift_names_earlier_sequences() {
    let lift = NOTICE
        .replace("\"halt\"", "\"lift\", \"lifts\": [7]")
        .replace("\"sequence\": 7", "\"sequence\": 8");
    let notice = HaltNotice::from_json(lift.as_bytes()).unwrap();
    assert_eq!(notice.lifts, vec![7]);
    assert!(!notice.action.blocks());
    let one = lift.replace("[7]", "7");
    assert_eq!(
        HaltNotice::from_json(one.as_bytes()).unwrap().lifts,
        vec![7]
    );
    let later = lift.replace("[7]", "[9]");
    assert!(HaltNotice::from_json(later.as_bytes()).is_err());
}

#[test]
fn scope_narrows_by_version_digest_and_batch() {
    let notice = HaltNotice::from_json(NOTICE.as_bytes()).unwrap();
    let unit = |version| Unit {
        product: "lumacam-c3-pro",
        version,
        ..Unit::default()
    };
    assert!(notice.blocks(&unit(Some("2.8.4"))));
    assert!(notice.blocks(&unit(Some("v1.0.0"))));
    assert!(!notice.blocks(&unit(Some("2.9.0"))));
    assert!(!notice.blocks(&unit(Some("3.0.0"))));
    // Unknown or non-semver versions stay in scope (fail closed).
    assert!(notice.blocks(&unit(None)));
    assert!(notice.blocks(&unit(Some("build-77"))));
    assert!(!notice.blocks(&Unit {
        product: "lumacam-c2",
        ..Unit::default()
    }));
    let digest = crate::Digest::of(b"firmware");
    let narrowed = NOTICE.replace("\"digests\": []", &format!("\"digests\": [\"{digest}\"]"));
    let narrowed = narrowed.replace("\"batches\": []", "\"batches\": [\"B7\"]");
    let notice = HaltNotice::from_json(narrowed.as_bytes()).unwrap();
    let other = crate::Digest::of(b"other");
    let unit = |digests: &'static [crate::Digest], batch| Unit {
        product: "lumacam-c3-pro",
        version: None,
        digests,
        batch,
    };
    let digests: &'static [crate::Digest] = Box::leak(Box::new([digest]));
    let others: &'static [crate::Digest] = Box::leak(Box::new([other]));
    assert!(notice.blocks(&unit(digests, None)));
    assert!(!notice.blocks(&unit(others, None)));
    assert!(notice.blocks(&unit(&[], Some("B7"))));
    assert!(!notice.blocks(&unit(&[], Some("B8"))));
}

#[test]
fn halt_issuer_entries_are_checked() {
    let key = Key::ed25519();
    let cases = [
        (
            "[[halt_issuers]]\nkey = \"k.pub\"\nproducts = [\"*\"]\n",
            "needs an id",
        ),
        (
            "[[halt_issuers]]\nid = \"a\"\nproducts = [\"*\"]\n",
            "exactly one of key",
        ),
        (
            "[[halt_issuers]]\nid = \"a\"\nkey = \"k.pub\"\n",
            "needs products",
        ),
        (
            "[[halt_issuers]]\nid = \"a\"\nkey = \"k.pub\"\nproducts = [\"a/b\"]\n",
            "product glob",
        ),
        (
            "[[halt_issuers]]\nid = \"a\"\nkey = \"k.pub\"\nproducts = [\"*\"]\nactions = [\"stop\"]\n",
            "action \"stop\"",
        ),
        (
            "[[halt_issuers]]\nid = \"a\"\nkey = \"k.pub\"\nproducts = [\"*\"]\ncolour = 1\n",
            "unknown key \"colour\"",
        ),
        (
            "[[halt_issuers]]\nid = \"a\"\nidentity = { san = \"x\", issuer = \"y\" }\nproducts = [\"*\"]\n",
            "no trusted root",
        ),
        (
            "[[halt_issuers]]\nid = \"a\"\nkey = \"k.pub\"\nproducts = [\"*\"]\n[[halt_issuers]]\nid = \"a\"\nkey = \"k.pub\"\nproducts = [\"*\"]\n",
            "given twice",
        ),
    ];
    for (issuers, needle) in cases {
        let error = policy_with(issuers, &key).unwrap_err();
        assert!(error.contains(needle), "{needle}: {error}");
    }
}
