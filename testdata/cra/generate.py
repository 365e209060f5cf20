#!/usr/bin/env python3
"""Generates the CRA content-check vectors in this folder.

Each case is a folder `<case>_pass` or `<case>_fail` with `listing.json`, a
README saying why, and `expected.json`: the decision (or `"unusable": true`
for input that must be refused with exit 2) and the exact set of failed
check ids, evaluated with `--at` AT under policies/content-only.toml unless
the case names another policy. A case with its own policy has `policy.toml`
beside the listing, and the lists it reads (harmonised standards, schemes)
when they are the case's own. Re-running this script changes nothing.

The products, companies, addresses and notified bodies are invented; the
notified-body numbers are illustrative. So are the entries of the case-only
lists of harmonised standards, common specifications and certification
schemes: as of their dates, none is published under Regulation (EU)
2024/2847 (policies/harmonised/ holds the shipped, real lists).

Usage: python3 testdata/cra/generate.py [--out DIR]
(--out writes the cases to DIR instead of this folder, to compare.)
"""
import copy
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
AT = "2027-06-01T00:00:00Z"
CRA = {"act": "Regulation (EU) 2024/2847", "reference": "OJ L, 2024/2847, 20.11.2024"}
RED = {"act": "Directive 2014/53/EU", "reference": "OJ L 153, 22.5.2014, p. 62"}
SOLE = "This declaration of conformity is issued under the sole responsibility of the provider."
NB_0123 = {"name": "Prüfstelle Beispiel Cybersicherheit GmbH", "number": "0123"}
EU27 = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"]


def gtin(body):
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def operator(name, address, email, website, country):
    return {"name": name, "postal_address": address, "email": email, "website": website, "country": country}


def doc(product, maker, procedure, standards=(), certifications=(), nb=None, certificate=None,
        legislation=(CRA,), signed_date="2026-10-15", type_=None):
    p = product["product"]
    m = product["operators"]["manufacturer"]
    ids = {k: v for k, v in p["identifiers"].items() if k in ("purl", "gtin", "model")}
    assessment = {"procedure": procedure}
    if nb:
        assessment["notified_body"] = nb
    if certificate:
        assessment["certificate"] = certificate
    return {
        "format": "cragate.doc/v1",
        "product": {"name": p["name"], "type": type_ or p["identifiers"].get("model", p["name"]),
                    "version": p["version"], "identifiers": ids},
        "manufacturer": {"name": m["name"], "postal_address": m["postal_address"]},
        "authorised_representative": None,
        "sole_responsibility": SOLE,
        "object": {"description": maker, "identifiers": ids, "photo": None},
        "legislation": list(legislation),
        "standards": list(standards),
        "common_specifications": [],
        "certifications": list(certifications),
        "conformity_assessment": assessment,
        "additional_information": "",
        "signed": {"for": m["name"], "place": m["postal_address"].split(",")[-2].strip().split(" ")[-1],
                   "date": signed_date, "name": "Dr. Ines Vogel", "function": "Head of Product Compliance"},
    }


def listing(pid, name, version, kind, category, identifiers, manufacturer, importer, supplier,
            ce, languages=("en", "de"), support_end="2032-12", placed="2026-11-01", extra=None):
    site = manufacturer["website"]
    out = {
        "format": "cragate.listing/v1",
        "product": {"id": pid, "name": name, "version": version, "kind": kind, "category": category,
                    "identifiers": identifiers},
        "operators": {"manufacturer": manufacturer, "supplier": dict(supplier)},
        "placed_on_market": placed,
        "support_period": {"end": support_end},
        "security": {"contact": "mailto:psirt@" + site.split("//")[1].split("/")[0],
                     "cvd_policy": site + "/security/disclosure-policy",
                     "security_txt": site + "/.well-known/security.txt"},
        "ce_marking": ce,
        "user_information": {"url": site + "/manuals/" + pid, "languages": list(languages)},
        "declaration_of_conformity": None,
        "artifacts": [],
        "attestations": [],
        "sbom": None,
    }
    if importer:
        out["operators"]["importer"] = dict(importer)
    if extra:
        out["product"].update(extra)
    return out


DIGEST = "sha256:" + "3b" * 32

# --- the products ---------------------------------------------------------

def camera():
    maker = operator("Shenzhen Lumora Technology Co., Ltd.",
                     "Building 7, Keyuan Road 12, Nanshan District, 518057 Shenzhen, China",
                     "compliance@lumora-tech.example", "https://www.lumora-tech.example", "CN")
    importer = operator("Lumora Europe Import GmbH", "Hafenstraße 21, 20457 Hamburg, Germany",
                        "import@lumora-europe.example", "https://www.lumora-europe.example", "DE")
    l = listing("lumora-cam-x200", "Lumora Cam X200", "4.2.1", "hardware", "class-i:17",
                {"gtin": gtin("694123456789"), "model": "LC-X200", "batch": "2026-W40"},
                maker, importer, importer,
                {"affixed": True, "placement": "product", "website": None, "notified_body": None})
    l["artifacts"] = [{"name": "lc-x200-fw-4.2.1.bin", "digest": DIGEST, "size": 18874368,
                       "media_type": "application/octet-stream"}]
    # As a real manufacturer's DoC: the type line says what the product is,
    # the standards are those of the Radio Equipment Directive, and with no
    # harmonised standard published under the CRA a class I product goes
    # through module B+C.
    l["declaration_of_conformity"] = {
        "full": doc(l, "Indoor Wi-Fi security camera with motion detection, firmware 4.2.1", "B+C",
                    standards=["EN 18031-1:2024", "EN 303 645 V3.1.3"], legislation=(CRA, RED),
                    nb=NB_0123, certificate="0123-CRA-EUTEC-2026-0388",
                    type_="Indoor Wi-Fi security camera"),
        "url": "https://www.lumora-tech.example/doc/LC-X200.pdf", "simplified": None}
    return l


def password_manager():
    maker = operator("Vaultkey Software GmbH", "Torstraße 140, 10119 Berlin, Germany",
                     "hello@vaultkey.example", "https://vaultkey.example", "DE")
    l = listing("vaultkey-desktop", "Vaultkey Password Manager", "3.1.0", "software", "class-i:3",
                {"purl": "pkg:generic/vaultkey/vaultkey-desktop@3.1.0"}, maker, None, maker,
                {"affixed": True, "placement": "website", "website": "https://vaultkey.example/conformity",
                 "notified_body": None})
    l["artifacts"] = [{"name": "vaultkey-3.1.0-x86_64.AppImage", "digest": DIGEST, "size": 94371840,
                       "media_type": "application/vnd.appimage"}]
    l["declaration_of_conformity"] = {
        "full": doc(l, "Password manager for desktop operating systems, release 3.1.0", "B+C",
                    nb=NB_0123, certificate="0123-CRA-EUTEC-2026-0188"),
        "url": "https://vaultkey.example/conformity/doc-3.1.pdf", "simplified": None}
    return l


def router():
    maker = operator("Nordlicht Networks AB", "Kungsgatan 44, 111 35 Stockholm, Sweden",
                     "support@nordlicht-networks.example", "https://nordlicht-networks.example", "SE")
    distributor = operator("Elektro Großhandel Weber KG", "Industriestraße 9, 70565 Stuttgart, Germany",
                           "einkauf@weber-elektro.example", "https://weber-elektro.example", "DE")
    l = listing("nordlicht-r7", "Nordlicht R7 Router", "7.0.3", "hardware", "class-i:12",
                {"gtin": gtin("735000123456"), "model": "NL-R7", "serial": "R7-2026-0004411"},
                maker, None, distributor,
                {"affixed": True, "placement": "product", "website": None, "notified_body": "0123"},
                languages=("en", "de", "sv"))
    l["declaration_of_conformity"] = {
        "full": doc(l, "Wi-Fi 7 home router, firmware 7.0.3", "H", nb=NB_0123,
                    certificate="0123-CRA-QS-2026-0032", legislation=(CRA, RED)),
        "url": "https://nordlicht-networks.example/doc/NL-R7.pdf", "simplified": None,
        "languages": ["en", "de", "sv"]}
    return l


def firewall():
    maker = operator("Bastion Secure Systems Oy", "Mannerheimintie 12 B, 00100 Helsinki, Finland",
                     "compliance@bastion-secure.example", "https://bastion-secure.example", "FI")
    l = listing("bastion-fw-9000", "Bastion FW 9000", "9.4.0", "hardware", "class-ii:2",
                {"gtin": gtin("641999000123"), "model": "BFW-9000"}, maker, None, maker,
                {"affixed": True, "placement": "product", "website": None, "notified_body": None},
                languages=("en", "fi", "sv", "de"), support_end="2036-12")
    l["declaration_of_conformity"] = {
        "full": doc(l, "Next-generation firewall appliance, firmware 9.4.0", "B+C", nb=NB_0123,
                    certificate="0123-CRA-EUTEC-2026-0451"),
        "url": "https://bastion-secure.example/doc/BFW-9000.pdf", "simplified": None}
    return l


def foss_library():
    maker = operator("Quillwork Software B.V.", "Keizersgracht 221, 1016 DV Amsterdam, Netherlands",
                     "maintainers@quillwork.example", "https://quillwork.example", "NL")
    l = listing("quillparse", "quillparse", "2.8.1", "software", "default",
                {"purl": "pkg:cargo/quillparse@2.8.1"}, maker, None, maker,
                {"affixed": True, "placement": "doc", "website": None, "notified_body": None},
                languages=("en",), extra={"free_open_source": True})
    l["declaration_of_conformity"] = {
        "full": doc(l, "Streaming document parser library for Rust, release 2.8.1", "A"),
        "url": "https://quillwork.example/quillparse/doc-2.8.pdf", "simplified": None}
    return l


def foss_vpn():
    maker = operator("Tunnelwerk Software GmbH", "Mariahilfer Straße 88, 1070 Wien, Austria",
                     "team@tunnelwerk.example", "https://tunnelwerk.example", "AT")
    l = listing("tunnelwerk", "Tunnelwerk VPN", "1.14.2", "software", "class-i:5",
                {"purl": "pkg:github/tunnelwerk/tunnelwerk@v1.14.2"}, maker, None, maker,
                {"affixed": True, "placement": "website", "website": "https://tunnelwerk.example/ce",
                 "notified_body": None},
                extra={"free_open_source": True,
                       "technical_documentation": "https://tunnelwerk.example/compliance/technical-documentation"})
    l["declaration_of_conformity"] = {
        "full": doc(l, "Open-source WireGuard-compatible VPN client, release 1.14.2", "A"),
        "url": "https://tunnelwerk.example/compliance/doc-1.14.pdf", "simplified": None}
    return l


def smartcard():
    maker = operator("Carte Sûre SA", "12 rue de la Monnaie, 13002 Marseille, France",
                     "certification@cartesure.example", "https://cartesure.example", "FR")
    l = listing("cartesure-id-p4", "Carte Sûre ID P4", "P4.1", "hardware", "critical:3",
                {"gtin": gtin("376000042001"), "model": "CS-IDP4", "batch": "L2026-118"}, maker, None, maker,
                {"affixed": True, "placement": "packaging", "website": None, "notified_body": "0123"},
                languages=("en", "fr"), support_end="2036-06")
    # No delegated act under Art. 8(1) requires a certificate yet, so a
    # critical product takes a class II route (Art. 32(4)): module H here.
    l["declaration_of_conformity"] = {
        "full": doc(l, "Dual-interface smartcard with secure element, applet suite P4.1", "H",
                    nb=NB_0123, certificate="0123-CRA-QS-2026-0077"),
        "url": "https://cartesure.example/doc/CS-IDP4.pdf", "simplified": None}
    return l


def cyclonedx(name, version="1.6", components=2, root_version=None, **root):
    component = {"type": "application", "name": name}
    if root_version:
        component["version"] = root_version
    component.update(root)
    return {"bomFormat": "CycloneDX", "specVersion": version, "version": 1,
            "metadata": {"component": component},
            "components": [{"type": "library", "name": n, "version": v,
                            "purl": "pkg:cargo/%s@%s" % (n, v)}
                           for n, v in [("ring", "0.17.8"), ("serde", "1.0.219"), ("zeroize", "1.8.1")][:components]]}


def spdx2(name, spdx_version="SPDX-2.3", **root):
    package = {"SPDXID": "SPDXRef-root", "name": name, "versionInfo": "2.8.1",
               "downloadLocation": "NOASSERTION"}
    package.update(root)
    return {"spdxVersion": spdx_version, "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
            "name": name + "-sbom", "documentNamespace": "https://quillwork.example/spdx/" + name + "-2.8.1",
            "creationInfo": {"created": "2026-10-01T00:00:00Z", "creators": ["Tool: cargo-sbom"]},
            "packages": [package,
                         {"SPDXID": "SPDXRef-memchr", "name": "memchr", "versionInfo": "2.7.4",
                          "downloadLocation": "NOASSERTION"}],
            "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                               "relatedSpdxElement": "SPDXRef-root"}]}


def spdx30(name):
    return {"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
            "@graph": [{"type": "software_Sbom", "spdxId": "urn:tw:sbom", "rootElement": ["urn:tw:root"]},
                       {"type": "software_Package", "spdxId": "urn:tw:root", "name": name,
                        "software_packageVersion": "1.14.2"},
                       {"type": "software_Package", "spdxId": "urn:tw:boringtun", "name": "boringtun",
                        "software_packageVersion": "0.6.0"}]}


# --- lists and policies of single cases -----------------------------------

def presumption_list(kind, entries, as_of="2027-05-01"):
    return json.dumps({
        "format": "cragate.presumption-list/v1", "kind": kind, "as_of": as_of,
        "source": "ILLUSTRATIVE ONLY, for this test case: as if these references had been published "
                  "under Regulation (EU) 2024/2847. None of them is (see policies/harmonised/ for the real lists).",
        "entries": entries}, indent=2, ensure_ascii=False) + "\n"


HORIZONTAL = [
    {"reference": "EN 40000-1-2:2026", "title": "Cybersecurity requirements for products with digital elements: principles for cyber resilience",
     "published": "ILLUSTRATIVE: OJ L, 2027/0000, 1.5.2027", "covers": ["Annex I Part I"]},
    {"reference": "EN 40000-1-3:2026", "title": "Cybersecurity requirements for products with digital elements: vulnerability handling",
     "published": "ILLUSTRATIVE: OJ L, 2027/0000, 1.5.2027", "covers": ["Annex I Part II"]},
]
COMMON_SPEC = [{"reference": "Implementing Regulation (EU) 2027/0000", "title": "common specifications for smart-home security products",
                "published": "ILLUSTRATIVE: OJ L, 2027/0000, 1.5.2027", "covers": ["Annex I Part I", "Annex I Part II"]}]
EUCC = {"reference": "EUCC", "regulation": "Implementing Regulation (EU) 2024/482",
        "published": "ILLUSTRATIVE: as if a delegated act under Art. 27(9) specified it, OJ L, 2027/0000, 1.5.2027",
        "covers": ["Annex I Part I", "Annex I Part II"], "assurance_levels": ["substantial", "high"]}

EMPTY_STANDARDS = presumption_list("harmonised-standards", [])
EMPTY_SPECS = presumption_list("common-specifications", [])
LISTS_ILLUSTRATIVE_STANDARDS = {"standards.json": presumption_list("harmonised-standards", HORIZONTAL),
                                "common-specifications.json": EMPTY_SPECS,
                                "certification-schemes.json": presumption_list("certification-schemes", [])}
LISTS_ILLUSTRATIVE_SPEC = {"standards.json": EMPTY_STANDARDS,
                           "common-specifications.json": presumption_list("common-specifications", COMMON_SPEC),
                           "certification-schemes.json": presumption_list("certification-schemes", [])}
LISTS_EUCC = {"standards.json": EMPTY_STANDARDS, "common-specifications.json": EMPTY_SPECS,
              "certification-schemes.json": presumption_list("certification-schemes", [EUCC])}
LISTS_EUCC_MANDATORY = {"standards.json": EMPTY_STANDARDS, "common-specifications.json": EMPTY_SPECS,
                        "certification-schemes.json": presumption_list(
                            "certification-schemes", [dict(EUCC, mandatory_for=["critical:3"])])}

LOCAL_LISTS = '''
[conformity]
harmonised_standards = "standards.json"
common_specifications = "common-specifications.json"
certification_schemes = "certification-schemes.json"
'''
SHIPPED_LISTS = '''
[conformity]
harmonised_standards = "../../../policies/harmonised/standards.json"
common_specifications = "../../../policies/harmonised/common-specifications.json"
certification_schemes = "../../../policies/harmonised/certification-schemes.json"
'''


def policy(name, body="", lists=SHIPPED_LISTS):
    return 'format = "cragate.policy/v1"\nname = "%s"\nmode = "enforce"\n%s%s' % (name, body, lists)


# --- the cases ------------------------------------------------------------

CASES = []


def case(name, base, why, failed=(), mutate=None, decision=None, policy=None, unusable=None, raw=None,
         files=None):
    CASES.append((name, base, why, sorted(failed), mutate, decision, policy, unusable, raw, files))


def d(l):
    return l["declaration_of_conformity"]["full"]


def setp(path, value):
    def apply(l):
        node = l
        for key in path[:-1]:
            node = node[key]
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return apply


DELETE = object()
ANNEX_V = ["doc.product", "doc.manufacturer", "doc.sole-responsibility", "doc.object",
           "doc.conformity-statement", "doc.standards", "doc.conformity-assessment", "doc.signature",
           "doc.cites-cra", "doc.other-acts", "doc.matches-listing"]
SBOM_CONTENT = ["sbom.present", "sbom.format", "sbom.components", "sbom.describes-product"]


def seq(*fs):
    def apply(l):
        for f in fs:
            f(l)
    return apply


def in_doc(*path_value):
    *path, value = path_value
    def apply(l):
        setp(path, value)(d(l))
    return apply


def simplified_only(text, url):
    return setp(["declaration_of_conformity"], {"full": None, "url": None,
                                                "simplified": {"text": text, "url": url}})


QUILL_SIMPLIFIED = ("Hereby, Quillwork Software B.V. declares that the product with digital elements type "
                    "quillparse 2.8.1 is in compliance with Regulation (EU) 2024/2847. The full text of the EU "
                    "declaration of conformity is available at the following internet address:")
QUILL_DOC = "https://quillwork.example/quillparse/doc-2.8.pdf"
EUCC_PASSWORD_MANAGER = seq(
    in_doc("conformity_assessment", {"procedure": "EUCC", "certificate": "EUCC-BSI-2026-0117"}),
    in_doc("certifications", [{"scheme": "EUCC", "certificate": "EUCC-BSI-2026-0117", "assurance_level": "substantial"}]))
MODULE_A = in_doc("conformity_assessment", {"procedure": "A"})
STEWARD = {"name": "Quillwork Foundation", "postal_address": "Keizersgracht 221, 1016 DV Amsterdam, Netherlands",
           "email": "foundation@quillwork.example", "website": "https://foundation.quillwork.example", "country": "NL"}
STEWARD_ONLY = seq(setp(["operators", "manufacturer"], DELETE), setp(["operators", "steward"], STEWARD),
                   setp(["declaration_of_conformity"], None), setp(["ce_marking"], None),
                   setp(["support_period"], None), setp(["user_information"], None))
REPRESENTATIVE = {"name": "Lumora EU Representative B.V.", "postal_address": "Stationsplein 45, 3013 AK Rotterdam, Netherlands",
                  "email": "representative@lumora-eu.example", "country": "NL"}
AS_APPLICABLE = policy("as-applicable", 'enforce = "as-applicable"\n')

# Products that pass as they are.
case("camera_non_eu_maker", camera, "Smart camera (class I, Annex III point 17) from a Chinese manufacturer, imported by a German importer, module B+C; its DoC's type line says what the product is (\"Indoor Wi-Fi security camera\") and lists the Radio Equipment Directive's standards, as real DoCs do. Every content check passes.")
case("password_manager_module_bc", password_manager, "Password manager app (class I, point 3) under module B+C; CE marking on the accompanying website.")
case("router_module_h", router, "Router (class I, point 12) assessed under module H; notified body 0123 follows the CE marking and is named in the DoC.")
case("firewall_class_ii_bc", firewall, "Class II firewall (Annex III class II point 2) under module B+C with the EU-type examination certificate identified.")
case("foss_library_default", foss_library, "Free and open-source library in the default category, module A, CE marking on the DoC.")
case("foss_vpn_class_i_module_a", foss_vpn, "Free and open-source VPN client (class I, point 5) under module A with its technical documentation public (Art. 32(5)).")
case("smartcard_critical_module_h", smartcard, "Smartcard (critical, Annex IV point 3) under module H: no delegated act under Art. 8(1) requires a certificate, so any class II route is open (Art. 32(4)); CE marking with the notified body number on the packaging.")

# Rule 1: product identity between DoC and listing (Annex V(1))
case("doc_type_descriptive", router, "The DoC's type line describes the product (\"Wi-Fi 7 home router\"); its model and GTIN agree with the listing.",
     [], in_doc("product", "type", "Wi-Fi 7 home router"))
case("doc_type_other_model", router, "The DoC's type is another model (NL-R8) and it carries no model, GTIN, purl or CPE: nothing identifies the listed router.",
     ["doc.matches-listing"], seq(in_doc("product", "type", "NL-R8"), in_doc("product", "identifiers", {}), in_doc("object", "identifiers", {"batch": "2026-W40"})))
case("doc_no_strong_identifier", camera, "The DoC names the camera with a descriptive type but gives only a batch number: no model, GTIN, purl or CPE agrees.",
     ["doc.matches-listing"], seq(in_doc("product", "identifiers", {}), in_doc("object", "identifiers", {"batch": "2026-W40"})))
case("doc_gtin_only_agrees", camera, "The DoC's only strong identifier is the GTIN, which agrees; its type is descriptive.",
     [], seq(in_doc("product", "identifiers", {"gtin": gtin("694123456789")}), in_doc("object", "identifiers", {"gtin": gtin("694123456789")})))
case("doc_other_gtin", camera, "The DoC's GTIN is another product's, although the model agrees: a contradiction.",
     ["doc.matches-listing"], in_doc("product", "identifiers", "gtin", gtin("694123456790")))
case("doc_other_model_identifier", camera, "The DoC's model identifier is LC-X300, the listing's LC-X200, although the GTIN agrees.",
     ["doc.matches-listing"], in_doc("product", "identifiers", "model", "LC-X300"))
case("doc_cpe_agrees", password_manager, "The listing and the DoC identify the app by the same CPE name, and nothing else.",
     [], seq(setp(["product", "identifiers", "cpe"], "cpe:2.3:a:vaultkey:vaultkey_desktop:3.1.0:*:*:*:*:*:*:*"),
             in_doc("product", "identifiers", {"cpe": "cpe:2.3:a:vaultkey:vaultkey_desktop:3.1.0:*:*:*:*:*:*:*"}),
             in_doc("object", "identifiers", {"cpe": "cpe:2.3:a:vaultkey:vaultkey_desktop:3.1.0:*:*:*:*:*:*:*"})))
case("doc_purl_other_version", password_manager, "The DoC's purl is of release 3.0.0, the listing's of 3.1.0.",
     ["doc.matches-listing"], in_doc("product", "identifiers", "purl", "pkg:generic/vaultkey/vaultkey-desktop@3.0.0"))
case("doc_other_product_name", password_manager, "The DoC is for a different product (\"Vaultkey Mobile\").",
     ["doc.matches-listing"], in_doc("product", "name", "Vaultkey Mobile"))
case("doc_other_version", firewall, "The DoC declares firmware 9.3.0; the listing is 9.4.0.",
     ["doc.matches-listing"], in_doc("product", "version", "9.3.0"))
case("doc_version_range_covers", firewall, "The DoC declares versions 9.x, which covers the listed 9.4.0.",
     [], in_doc("product", "version", "9.x"))
case("doc_rebranded", camera, "The listing names the manufacturer as an EU brand while the DoC is issued by the Chinese maker: a rebrand makes the listing party a manufacturer (Art. 21).",
     ["doc.matches-listing"], seq(setp(["operators", "manufacturer", "name"], "Hamburg Home Security GmbH"), setp(["operators", "manufacturer", "country"], "CN")))
case("doc_firmware_identifier", camera, "The DoC names the firmware among its identifiers (\"firmware\"), an other identifier Art. 13(15) allows: the reader and the published schema both accept it.",
     [], in_doc("product", "identifiers", "firmware", "LC-X200-FW-4.2.1"))
case("product_identifier_missing", foss_library, "No product identifier at all (Art. 13(15)), so nothing can tie the DoC to the listing either.",
     ["product.identifier", "doc.matches-listing"], setp(["product", "identifiers"], {}))

# Rule 2: SBOM subject (Annex I Part II(1))
case("sbom_firmware_name", camera, "The camera's SBOM is that of its firmware: the root component \"Lumora Cam X200 firmware\" has the listed version.",
     [], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Lumora Cam X200 firmware", root_version="4.2.1", type="firmware")}))
case("sbom_firmware_other_version", camera, "The firmware SBOM is of version 4.1.0, the listing of 4.2.1.",
     ["sbom.describes-product"], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Lumora Cam X200 firmware", root_version="4.1.0", type="firmware")}))
case("sbom_name_without_version", camera, "The firmware SBOM's root component has the product's name but no version, purl, CPE or hash.",
     ["sbom.describes-product"], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Lumora Cam X200 firmware")}))
case("sbom_purl_agrees", password_manager, "The SBOM's root component is named \"vaultkey-desktop\" and agrees by purl.",
     [], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("vaultkey-desktop", purl="pkg:generic/vaultkey/vaultkey-desktop@3.1.0")}))
case("sbom_purl_contradicts", password_manager, "The SBOM's root component has the product's name and version but the purl of another app.",
     ["sbom.describes-product"], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Password Manager", root_version="3.1.0", purl="pkg:generic/vaultkey/vaultkey-mobile@3.1.0")}))
case("sbom_cpe_agrees", router, "An SPDX 2.3 SBOM whose described package agrees with the router by CPE.",
     [], seq(setp(["product", "identifiers", "cpe"], "cpe:2.3:h:nordlicht:nl-r7:-:*:*:*:*:*:*:*"),
             setp(["sbom"], {"format": "spdx", "document": spdx2("nl-r7-firmware", versionInfo="7.0.2", externalRefs=[
                 {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:h:nordlicht:nl-r7:-:*:*:*:*:*:*:*"}])})))
case("sbom_artifact_hash", camera, "The SBOM's root component is the firmware image itself, identified by the artifact's SHA-256.",
     [], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("lc-x200-fw-4.2.1.bin", hashes=[{"alg": "SHA-256", "content": "3b" * 32}])}))
case("sbom_cyclonedx_16", password_manager, "An inline CycloneDX 1.6 SBOM describing the product by name and version.",
     [], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Password Manager", root_version="3.1.0")}))
case("sbom_cyclonedx_17", password_manager, "An inline CycloneDX 1.7 SBOM, a commonly used machine-readable format.",
     [], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Password Manager", "1.7", root_version="3.1.0")}))
case("sbom_cyclonedx_14", firewall, "An inline CycloneDX 1.4 SBOM naming the product by its model, with its version.",
     [], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("BFW-9000 firmware", "1.4", root_version="9.4.0")}))
case("sbom_cyclonedx_13", password_manager, "CycloneDX 1.3 is older than the supported 1.4 to 1.7.",
     ["sbom.format", "sbom.components", "sbom.describes-product"], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Password Manager", "1.3", root_version="3.1.0")}))
case("sbom_spdx_23", foss_library, "An inline SPDX 2.3 SBOM whose DESCRIBES relationship names the library.",
     [], setp(["sbom"], {"format": "spdx", "document": spdx2("quillparse")}))
case("sbom_spdx_22", foss_library, "An inline SPDX 2.2 SBOM (ISO/IEC 5962:2021), a commonly used machine-readable format.",
     [], setp(["sbom"], {"format": "spdx", "document": spdx2("quillparse", "SPDX-2.2")}))
case("sbom_spdx_21", foss_library, "SPDX 2.1 is not supported (2.2, 2.3 or 3.0).",
     ["sbom.format", "sbom.components", "sbom.describes-product"], setp(["sbom"], {"format": "spdx", "document": spdx2("quillparse", "SPDX-2.1")}))
case("sbom_spdx_30", foss_vpn, "An inline SPDX 3.0 SBOM whose root element is the product.",
     [], setp(["sbom"], {"format": "spdx", "document": spdx30("Tunnelwerk VPN")}))
case("sbom_without_components", password_manager, "A CycloneDX SBOM with no components.",
     ["sbom.components"], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Password Manager", components=0, root_version="3.1.0")}))
case("sbom_other_product", password_manager, "The SBOM describes another product.",
     ["sbom.describes-product"], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Mobile", root_version="3.1.0")}))
case("sbom_format_mislabelled", password_manager, "sbom.format says spdx but the document is CycloneDX.",
     ["sbom.format"], setp(["sbom"], {"format": "spdx", "document": cyclonedx("Vaultkey Password Manager", root_version="3.1.0")}))
case("sbom_not_a_document", foss_library, "sbom.document is neither CycloneDX nor SPDX.",
     ["sbom.format", "sbom.components", "sbom.describes-product"], setp(["sbom"], {"format": "cyclonedx", "document": {"name": "quillparse", "deps": ["memchr"]}}))
case("sbom_attestation_only", foss_library, "The SBOM arrives only as an attestation that is not a Sigstore bundle at all (and the library has no artifact to bind it to): sbom.attestation fails instead of passing unseen.",
     ["sbom.attestation"], seq(setp(["attestations"], [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}]), setp(["sbom"], {"format": "cyclonedx", "document": None, "attestation": 0})))
case("sbom_attestation_only_required", foss_library, "The case policy requires an SBOM and it arrives only as an attestation.",
     SBOM_CONTENT + ["sbom.attestation"], seq(setp(["attestations"], [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}]), setp(["sbom"], {"format": "cyclonedx", "document": None, "attestation": 0})), policy="case")
case("sbom_required_missing", camera, "The case policy requires an SBOM and none is supplied.",
     SBOM_CONTENT, policy="case")

# Rule 3 and 10: the simplified DoC (Art. 13(20), Annex VI)
case("doc_simplified_only", foss_library, "Only the simplified DoC (Annex VI) is supplied: Art. 13(20) allows it on its own, so the checks that need the full text are not applicable.",
     [], simplified_only(QUILL_SIMPLIFIED, QUILL_DOC))
case("doc_simplified_only_class_ii", firewall, "A class II firewall with only the simplified DoC: the procedure it declares is in the full DoC, so the class-and-procedure checks are not applicable rather than failing.",
     [], simplified_only("Hereby, Bastion Secure Systems Oy declares that the product with digital elements type Bastion FW 9000 (BFW-9000) is in compliance with Regulation (EU) 2024/2847. The full text of the EU declaration of conformity is available at the following internet address: https://bastion-secure.example/doc/BFW-9000.pdf", None))
case("doc_simplified_only_full_required", foss_library, "The case policy requires the full DoC ([doc] full_required): with only the simplified one, doc.present says it is the policy's requirement and the Annex V checks cannot run.",
     ["doc.present", "ce.notified-body", "conformity.certificate"] + ANNEX_V, simplified_only(QUILL_SIMPLIFIED, QUILL_DOC), policy="case")
case("doc_full_and_simplified", foss_library, "Full DoC plus a correct simplified DoC with its address.",
     [], setp(["declaration_of_conformity", "simplified"], {"text": QUILL_SIMPLIFIED, "url": QUILL_DOC}))
case("doc_simplified_without_url", foss_library, "The simplified DoC gives no internet address of the full DoC (Annex VI).",
     ["doc.simplified"], simplified_only(QUILL_SIMPLIFIED.split(" The full")[0], None))
case("doc_simplified_home_page", foss_library, "The simplified DoC points at the manufacturer's home page, not at the full DoC: Annex VI asks for its exact internet address.",
     ["doc.simplified"], simplified_only(QUILL_SIMPLIFIED, "https://quillwork.example/"))
case("doc_simplified_wrong_act", foss_library, "The simplified DoC declares compliance with the Radio Equipment Directive instead of Regulation (EU) 2024/2847.",
     ["doc.simplified"], simplified_only("Hereby, Quillwork Software B.V. declares that the product type quillparse is in compliance with Directive 2014/53/EU.", QUILL_DOC))
case("doc_simplified_other_product", foss_library, "The simplified DoC's product type is another library (quillformat): it does not identify the listed product (Annex VI).",
     ["doc.simplified"], simplified_only(QUILL_SIMPLIFIED.replace("quillparse 2.8.1", "quillformat 1.0"), QUILL_DOC))
case("doc_simplified_model", camera, "The camera's simplified DoC designates the type by its model (LC-X200), which identifies the listed product.",
     [], simplified_only("Hereby, Shenzhen Lumora Technology Co., Ltd. declares that the product with digital elements type LC-X200 is in compliance with Regulation (EU) 2024/2847. The full text of the EU declaration of conformity is available at the following internet address: https://www.lumora-tech.example/doc/LC-X200.pdf", None))

# Rule 4: languages (Art. 28(2))
case("doc_sole_responsibility_german", camera, "The DoC is in German; its sole-responsibility statement says \"alleinige Verantwortung\", not \"sole responsibility\": the statement is present, which is what the Regulation asks.",
     [], in_doc("sole_responsibility", "Die alleinige Verantwortung für die Ausstellung dieser Konformitätserklärung trägt der Hersteller."))
case("doc_simplified_german", foss_library, "A simplified DoC in German, with the address of the full DoC in its text.",
     [], simplified_only("Hiermit erklärt Quillwork Software B.V., dass der Produkttyp quillparse 2.8.1 der Verordnung (EU) 2024/2847 entspricht. Der vollständige Text der EU-Konformitätserklärung ist unter der folgenden Internetadresse verfügbar: https://quillwork.example/quillparse/doc-2.8.pdf", None))
case("doc_phrasing_not_accepted", camera, "The case policy accepts English and German phrasings of the sole-responsibility statement; this DoC's is French.",
     ["doc.sole-responsibility"], in_doc("sole_responsibility", "La présente déclaration de conformité est établie sous la seule responsabilité du fabricant."), policy="case")
case("doc_phrasing_accepted", camera, "The case policy also accepts the French phrasing \"seule responsabilité\".",
     [], in_doc("sole_responsibility", "La présente déclaration de conformité est établie sous la seule responsabilité du fabricant."), policy="case")
case("doc_language_missing", router, "The importer policy requires the DoC in German (Art. 28(2)); this one is in English and Swedish.",
     ["doc.languages"], setp(["declaration_of_conformity", "languages"], ["en", "sv"]), policy="importer")
case("doc_language_given", router, "Under the importer policy the router's DoC is available in German.",
     [], policy="importer")
case("doc_without_sole_responsibility", router, "The DoC omits the sole-responsibility statement (Annex V(3)).",
     ["doc.sole-responsibility"], in_doc("sole_responsibility", None))

# Rule 5: the DoC's date (Art. 28(2): kept up to date)
case("doc_signed_after_placing", router, "The DoC is dated after the product was first placed on the market, as it is for a revised DoC: allowed.",
     [], in_doc("signed", "date", "2026-12-01"))
case("doc_signed_on_evaluation_day", router, "The DoC is dated the day of the evaluation.",
     [], in_doc("signed", "date", "2027-06-01"))
case("doc_signed_after_evaluation", router, "The DoC is dated the day after the evaluation: it cannot have been drawn up yet.",
     ["doc.signature"], in_doc("signed", "date", "2027-06-02"))

# Other Annex V items
case("doc_missing", foss_library, "No declaration of conformity at all: the DoC checks cannot run and fail, and so do the checks that need the procedure it would declare.",
     ["doc.present"] + ANNEX_V + ["ce.notified-body", "conformity.certificate"],
     setp(["declaration_of_conformity"], None))
case("doc_product_without_type", foss_library, "The DoC names the product but gives neither its type nor its version (Annex V(1)).",
     ["doc.product"], seq(in_doc("product", "type", None), in_doc("product", "version", None)))
case("doc_manufacturer_without_address", camera, "The DoC names the manufacturer without a postal address (Annex V(2)).",
     ["doc.manufacturer"], in_doc("manufacturer", "postal_address", ""))
case("doc_object_untraceable", smartcard, "The object of the declaration has a description but no identifier that allows traceability (Annex V(4)).",
     ["doc.object"], in_doc("object", "identifiers", {}))
case("doc_no_legislation", foss_library, "The DoC lists no legislation: no conformity statement and no citation of the CRA.",
     ["doc.conformity-statement", "doc.cites-cra"], in_doc("legislation", []))
case("doc_cra_not_cited", camera, "The camera's DoC cites only the Radio Equipment Directive (Art. 28(1)).",
     ["doc.cites-cra"], in_doc("legislation", [RED]))
case("doc_other_act_without_reference", camera, "Two acts apply but the Radio Equipment Directive has no publication reference (Art. 28(3)).",
     ["doc.other-acts"], in_doc("legislation", [CRA, {"act": "Directive 2014/53/EU", "reference": None}]))
case("doc_without_standards_section", foss_library, "The DoC has no standards, common specifications or certifications section at all (Annex V(6)).",
     ["doc.standards"], seq(in_doc("standards", DELETE), in_doc("common_specifications", DELETE), in_doc("certifications", DELETE)))
case("doc_without_procedure", router, "The router's DoC does not say which conformity assessment procedure was used (Annex V(7)); the procedure-dependent checks cannot run.",
     ["doc.conformity-assessment", "ce.notified-body", "conformity.procedure", "conformity.certificate"],
     in_doc("conformity_assessment", "procedure", None))
case("doc_unknown_procedure", password_manager, "The DoC names procedure \"module A+\", which is not a CRA procedure.",
     ["doc.conformity-assessment", "ce.notified-body", "conformity.procedure", "conformity.certificate"],
     in_doc("conformity_assessment", "procedure", "module A+"))
case("doc_bc_without_notified_body", firewall, "Module B+C without the notified body's name and number in the DoC (Annex V(7)).",
     ["doc.conformity-assessment"], in_doc("conformity_assessment", "notified_body", None))
case("doc_signature_without_function", camera, "The signature block gives the signatory's name but not their function (Annex V(8)).",
     ["doc.signature"], in_doc("signed", "function", ""))

# CE marking
case("ce_not_affixed", camera, "The CE marking is declared as not affixed.",
     ["ce.affixed", "ce.placement"], setp(["ce_marking", "affixed"], False))
case("ce_missing", smartcard, "No CE marking information at all, so no notified body number follows it either (module H).",
     ["ce.affixed", "ce.placement", "ce.notified-body"], setp(["ce_marking"], None))
case("ce_software_on_product", password_manager, "Software with the CE marking \"on the product\": Art. 30(1) wants it on the DoC or the accompanying website.",
     ["ce.placement"], setp(["ce_marking", "placement"], "product"))
case("ce_hardware_website_only", camera, "A camera with the CE marking only on a website.",
     ["ce.placement"], seq(setp(["ce_marking", "placement"], "website"), setp(["ce_marking", "website"], "https://www.lumora-tech.example/ce")))
case("ce_website_without_address", foss_vpn, "CE marking on the accompanying website, but no website address is given.",
     ["ce.placement"], setp(["ce_marking", "website"], None))
case("ce_module_h_without_number", router, "Module H but no notified body number follows the CE marking (Art. 30(4)).",
     ["ce.notified-body"], setp(["ce_marking", "notified_body"], None))
case("ce_module_h_other_number", router, "The number after the CE marking (0124) is not the notified body of the DoC (0123).",
     ["ce.notified-body"], setp(["ce_marking", "notified_body"], "0124"))
case("ce_notified_body_number_malformed", router, "The notified body number is written \"NB 123\" instead of four digits.",
     ["ce.notified-body-number"], seq(setp(["ce_marking", "notified_body"], "NB 123"), in_doc("conformity_assessment", "notified_body", "number", "NB 123")))
case("ce_router_nando_listed", router, "Under the importer policy the notified body 0123 is found in the (illustrative) NANDO list, notified under the CRA for module H.",
     [], policy="importer")
case("ce_notified_body_not_listed", router, "Notified body 0999 is not in the notified-body list.",
     ["ce.notified-body-listed"], seq(setp(["ce_marking", "notified_body"], "0999"), in_doc("conformity_assessment", "notified_body", "number", "0999")), policy="importer")
case("ce_notified_body_not_under_cra", router, "Notified body 1987 is notified only under the Radio Equipment Directive, not the CRA.",
     ["ce.notified-body-listed"], seq(setp(["ce_marking", "notified_body"], "1987"), in_doc("conformity_assessment", "notified_body", {"name": "Esempio Laboratori Radio S.r.l.", "number": "1987"})), policy="importer")
case("ce_notified_body_wrong_module", router, "Notified body 2841 is notified under the CRA for module B only, not module H.",
     ["ce.notified-body-listed"], seq(setp(["ce_marking", "notified_body"], "2841"), in_doc("conformity_assessment", "notified_body", {"name": "Organisme Exemple de Certification SAS", "number": "2841"})), policy="importer")
case("ce_notified_body_name_differs", router, "The DoC gives notified body 0123 a different name from the list's.",
     ["ce.notified-body-listed"], in_doc("conformity_assessment", "notified_body", "name", "Beispiel Prüfinstitut AG"), policy="importer")

# Rule 9: class I under module A (Art. 32(2), 27)
case("class_i_module_a_red_standard", camera, "The camera self-assessed under module A relying on EN 18031-1 and EN 303 645, which are harmonised under the Radio Equipment Directive, not under Regulation (EU) 2024/2847.",
     ["conformity.procedure"], MODULE_A)
case("class_i_module_a_without_standards", camera, "Class I under module A without any standard, common specification or certification (Art. 32(2)).",
     ["conformity.procedure"], seq(MODULE_A, in_doc("standards", [])))
case("class_i_module_a_nist_ssdf", camera, "Class I under module A relying on NIST SP 800-218 (SSDF), a framework, not a harmonised standard.",
     ["conformity.procedure"], seq(MODULE_A, in_doc("standards", ["NIST SP 800-218 (SSDF) 1.1"])))
case("class_i_module_a_national_scheme", camera, "Class I under module A relying on a national label (the BSI IT security label), not a European scheme specified under Art. 27(9).",
     ["conformity.procedure"], seq(MODULE_A, in_doc("standards", []), in_doc("certifications", [{"scheme": "BSI IT-Sicherheitskennzeichen", "certificate": "ITSK-2026-00412", "assurance_level": "substantial"}])))
case("class_i_module_a_listed_standards", camera, "The case policy lists (illustratively) two horizontal harmonised standards covering Annex I Part I and Part II; the DoC applies both in full under module A.",
     [], seq(MODULE_A, in_doc("standards", ["EN 40000-1-2:2026", "EN 40000-1-3:2026"])), policy="case", files=LISTS_ILLUSTRATIVE_STANDARDS)
case("class_i_module_a_partial_coverage", camera, "The DoC applies only the standard covering Annex I Part I: module A needs all of Annex I covered (Art. 32(2)).",
     ["conformity.procedure"], seq(MODULE_A, in_doc("standards", ["EN 40000-1-2:2026", "EN 18031-1:2024"])), policy="case", files=LISTS_ILLUSTRATIVE_STANDARDS)
case("class_i_module_a_common_specification", camera, "The case policy lists (illustratively) common specifications adopted under Art. 27(2) covering all of Annex I; the DoC applies them under module A.",
     [], seq(MODULE_A, in_doc("standards", []), in_doc("common_specifications", ["Implementing Regulation (EU) 2027/0000"])), policy="case", files=LISTS_ILLUSTRATIVE_SPEC)
case("class_i_module_a_listed_scheme", camera, "The case policy lists EUCC as if a delegated act under Art. 27(9) specified it; the camera is certified at level substantial and uses module A.",
     [], seq(MODULE_A, in_doc("standards", []), in_doc("certifications", [{"scheme": "EUCC", "certificate": "EUCC-BSI-2027-0031", "assurance_level": "substantial"}])), policy="case", files=LISTS_EUCC)
case("class_i_module_a_without_lists", camera, "The case policy carries no lists of harmonised standards, specifications or schemes: class I under module A cannot be judged, and fails.",
     ["conformity.procedure"], MODULE_A, policy="case")
case("not_foss_class_i_module_a_without_standards", foss_vpn, "Without the free and open-source flag, module A for class I needs listed standards (Art. 32(2)).",
     ["conformity.procedure"], setp(["product", "free_open_source"], False))
case("foss_module_a_without_documentation", foss_vpn, "Free and open-source class I product under module A without a public technical documentation link (Art. 32(5)).",
     ["conformity.foss-documentation"], setp(["product", "technical_documentation"], DELETE))

# Rule 11: certification schemes (Art. 27(9), 32, 8(1))
case("password_manager_eucc_unlisted", password_manager, "EUCC at level substantial, but no delegated act under Art. 27(9) has specified it (the shipped list is empty): not a route yet.",
     ["conformity.procedure"], EUCC_PASSWORD_MANAGER)
case("password_manager_eucc", password_manager, "The case policy lists EUCC as if specified under Art. 27(9); the app is certified at level substantial.",
     [], EUCC_PASSWORD_MANAGER, policy="case", files=LISTS_EUCC)
case("class_ii_eucc_substantial", firewall, "A class II firewall certified under EUCC at level substantial, with EUCC listed by the case policy.",
     [], seq(in_doc("conformity_assessment", {"procedure": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007"}), in_doc("certifications", [{"scheme": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007", "assurance_level": "substantial"}])), policy="case", files=LISTS_EUCC)
case("class_ii_eucc_basic", firewall, "A class II firewall certified under EUCC at level basic only (Art. 32(3)).",
     ["conformity.procedure"], seq(in_doc("conformity_assessment", {"procedure": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007"}), in_doc("certifications", [{"scheme": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007", "assurance_level": "basic"}])), policy="case", files=LISTS_EUCC)
case("class_ii_eucc_unlisted", firewall, "A class II firewall certified under EUCC at level substantial, under the shipped (empty) list of schemes.",
     ["conformity.procedure"], seq(in_doc("conformity_assessment", {"procedure": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007"}), in_doc("certifications", [{"scheme": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007", "assurance_level": "substantial"}])))
case("class_ii_module_a", firewall, "A class II firewall self-assessed under module A (Art. 32(3)).",
     ["conformity.procedure"], in_doc("conformity_assessment", "procedure", "A"))
case("class_ii_module_h", firewall, "A class II firewall under module H with the notified body number after the CE marking.",
     [], seq(setp(["ce_marking", "notified_body"], "0123"), in_doc("conformity_assessment", "procedure", "H")))
case("smartcard_critical_eucc", smartcard, "The case policy lists EUCC as if specified under Art. 27(9); the smartcard is certified at level high.",
     [], seq(setp(["ce_marking", "notified_body"], None), in_doc("conformity_assessment", {"procedure": "EUCC", "certificate": "EUCC-ANSSI-2026-0042"}), in_doc("certifications", [{"scheme": "EUCC", "certificate": "EUCC-ANSSI-2026-0042", "assurance_level": "high"}])), policy="case", files=LISTS_EUCC)
case("critical_eucc_mandated", smartcard, "The case policy's scheme list says a delegated act under Art. 8(1) requires EUCC for smartcards; the smartcard is certified at level high.",
     [], seq(setp(["ce_marking", "notified_body"], None), in_doc("conformity_assessment", {"procedure": "EUCC", "certificate": "EUCC-ANSSI-2026-0042"}), in_doc("certifications", [{"scheme": "EUCC", "certificate": "EUCC-ANSSI-2026-0042", "assurance_level": "high"}])), policy="case", files=LISTS_EUCC_MANDATORY)
case("critical_eucc_mandated_module_h", smartcard, "Under the same mandate, module H is no longer enough for a smartcard (Art. 8(1)).",
     ["conformity.procedure"], policy="case", files=LISTS_EUCC_MANDATORY)
case("critical_module_a", smartcard, "A critical product self-assessed under module A (Art. 32(4)).",
     ["conformity.procedure"], in_doc("conformity_assessment", {"procedure": "A"}))
case("critical_policy_requires_eucc", smartcard, "The case policy requires EUCC for critical products (as an Art. 8(1) delegated act would); the smartcard used module H.",
     ["conformity.procedure"], policy="case")
case("bc_without_certificate", firewall, "Module B+C without the EU-type examination certificate identified (Annex V(7)).",
     ["conformity.certificate"], in_doc("conformity_assessment", "certificate", None))
case("eucc_without_certificate", password_manager, "EUCC (listed by the case policy) claimed but no certificate identified anywhere.",
     ["conformity.certificate", "conformity.procedure", "doc.standards"], seq(in_doc("conformity_assessment", {"procedure": "EUCC"}), in_doc("certifications", [{"scheme": "EUCC", "certificate": None, "assurance_level": "substantial"}])), policy="case", files=LISTS_EUCC)

# Rule 8: support period (Art. 13(8), 13(19); FAQ 4.5.3)
case("support_end_missing", camera, "No support period end date (Art. 13(19)).",
     ["support.end-date", "support.minimum", "support.current"], setp(["support_period"], None))
case("support_end_year_only", router, "Support end given as a year only; Art. 13(19) asks for at least month and year.",
     ["support.end-date", "support.minimum", "support.current"], setp(["support_period", "end"], "2032"))
case("support_three_years", password_manager, "Support ends three years after placing on the market, under the five-year minimum (Art. 13(8)).",
     ["support.minimum"], setp(["support_period", "end"], "2029-10"))
case("support_ends_on_fifth_anniversary", password_manager, "Placed on 2026-11-01, support ends on 2031-11-01: exactly five calendar years.",
     [], setp(["support_period", "end"], "2031-11-01"))
case("support_ends_day_before_fifth_anniversary", password_manager, "Support ends on 2031-10-31, one day short of five years.",
     ["support.minimum"], setp(["support_period", "end"], "2031-10-31"))
case("support_month_of_fifth_anniversary", password_manager, "Support ends \"2031-11\": a month counts to its last day, past the anniversary.",
     [], setp(["support_period", "end"], "2031-11"))
case("support_month_before_fifth_anniversary", password_manager, "Support ends \"2031-10\", whose last day is before the fifth anniversary.",
     ["support.minimum"], setp(["support_period", "end"], "2031-10"))
case("support_leap_day_anniversary", password_manager, "Placed on 29 February 2028, support ends on 28 February 2033, the fifth anniversary in a year without 29 February.",
     [], seq(setp(["placed_on_market"], "2028-02-29"), setp(["support_period", "end"], "2033-02-28")))
case("support_leap_day_short", password_manager, "Placed on 29 February 2028, support ends on 27 February 2033: a day short of five years.",
     ["support.minimum"], seq(setp(["placed_on_market"], "2028-02-29"), setp(["support_period", "end"], "2033-02-27")))
case("support_short_expected_use", password_manager, "The app is expected to be in use for three years, with the reason given (Art. 13(8), second subparagraph); support covers those three years.",
     [], setp(["support_period"], {"end": "2029-11", "expected_use_years": 3, "reason": "Subscription-only edition: it stops working when the three-year subscription it is sold with ends."}))
case("support_short_expected_use_too_short", password_manager, "Expected use of three years, but support ends a month earlier.",
     ["support.minimum"], setp(["support_period"], {"end": "2029-10", "expected_use_years": 3, "reason": "Subscription-only edition: it stops working when the three-year subscription it is sold with ends."}))
case("support_short_expected_use_without_reason", password_manager, "An expected use time under five years without the reason for it.",
     ["support.minimum"], setp(["support_period"], {"end": "2029-11", "expected_use_years": 3}))
case("support_expected_use_five_years", password_manager, "An expected use time of five years brings no exception: three years of support are too few.",
     ["support.minimum"], setp(["support_period"], {"end": "2029-11", "expected_use_years": 5, "reason": "Typical replacement cycle."}))
case("support_over", foss_library, "Placed on the market in 2020 with support to 2025-06: the support period is over at the evaluation time, but a unit placed before the end may still be made available (FAQ 4.5.3).",
     [], seq(setp(["placed_on_market"], "2020-01-15"), setp(["support_period", "end"], "2025-06"), in_doc("signed", "date", "2020-01-10")))
case("support_over_refused_by_policy", foss_library, "The same unit under a case policy that refuses supply after the support period ended (supply_after_end = \"refuse\"), a policy choice.",
     ["support.current"], seq(setp(["placed_on_market"], "2020-01-15"), setp(["support_period", "end"], "2025-06"), in_doc("signed", "date", "2020-01-10")), policy="case")
case("support_ended_before_placing", foss_library, "Support ended in June 2026, before the unit was placed on the market in November: a unit placed on the market needs a support period.",
     ["support.minimum", "support.current"], setp(["support_period", "end"], "2026-06"))
case("support_without_placing_date", smartcard, "No placing-on-the-market date, so the support period cannot be measured.",
     ["support.minimum"], setp(["placed_on_market"], None))
case("support_policy_override", firewall, "The case policy requires eight years for class II products; the firewall offers about ten.",
     [], policy="case")
case("support_policy_override_short", camera, "The case policy requires eight years for class I products; the camera offers six.",
     ["support.minimum"], policy="case")

# Rules 6, 12, 14, 15: operators
case("manufacturer_missing", foss_library, "No manufacturer block (Art. 13(16)); whether an importer is needed cannot be told either.",
     ["operators.manufacturer", "operators.importer"], setp(["operators", "manufacturer"], DELETE))
case("manufacturer_without_email", router, "Manufacturer with neither an e-mail address nor another digital contact (Art. 13(16)).",
     ["operators.manufacturer"], setp(["operators", "manufacturer", "email"], DELETE))
case("manufacturer_contact_form", router, "Manufacturer with a contact form instead of an e-mail address: \"other digital contact details\" (Art. 13(16)).",
     [], seq(setp(["operators", "manufacturer", "email"], DELETE), setp(["operators", "manufacturer", "digital_contact"], "https://nordlicht-networks.example/contact")))
case("manufacturer_contact_malformed", router, "The other digital contact is \"call us\", neither a web form nor a mailto: address.",
     ["operators.manufacturer"], seq(setp(["operators", "manufacturer", "email"], DELETE), setp(["operators", "manufacturer", "digital_contact"], "call us")))
case("manufacturer_without_website", router, "No manufacturer website: Art. 13(16) asks for one only where applicable.",
     [], setp(["operators", "manufacturer", "website"], DELETE))
case("manufacturer_plain_http_website", smartcard, "Manufacturer website given over plain http: it is a website all the same.",
     [], setp(["operators", "manufacturer", "website"], "http://cartesure.example"))
case("manufacturer_without_postal_address", smartcard, "Manufacturer without a postal address (Art. 13(16)).",
     ["operators.manufacturer"], setp(["operators", "manufacturer", "postal_address"], DELETE))
case("importer_missing_non_eu_maker", camera, "Chinese manufacturer and no importer named (Art. 19(4)).",
     ["operators.importer"], seq(setp(["operators", "importer"], DELETE), setp(["operators", "supplier"], {"name": "Lumora Europe Import GmbH", "postal_address": "Hafenstraße 21, 20457 Hamburg, Germany"})))
case("importer_outside_eu", camera, "The importer named is established in Switzerland, outside the Union.",
     ["operators.importer"], setp(["operators", "importer", "country"], "CH"))
case("importer_without_website", camera, "The importer has no website: Art. 19(4) asks for one only where applicable.",
     [], setp(["operators", "importer", "website"], None))
case("importer_without_digital_contact", camera, "The importer has neither an e-mail address nor another digital contact (Art. 19(4)).",
     ["operators.importer"], setp(["operators", "importer", "email"], None))
case("importer_in_norway", camera, "The importer is established in Norway, which the default union_states (the EU-27) leave out.",
     ["operators.importer"], setp(["operators", "importer", "country"], "NO"))
case("importer_in_norway_eea_policy", camera, "The case policy's union_states add the EEA EFTA States (Iceland, Liechtenstein, Norway): the Norwegian importer is established in the market.",
     [], setp(["operators", "importer", "country"], "NO"), policy="case")
case("importer_greece_el_code", camera, "The importer's country is given as EL, the EU's own code for Greece.",
     [], setp(["operators", "importer", "country"], "EL"))
case("supplier_missing", router, "The listing does not say who supplied the product (Art. 23(1)).",
     ["operators.supplier"], setp(["operators", "supplier"], DELETE))
case("distributor_audit_missing_importer", camera, "Under the distributor policy (audit mode) a missing importer is reported and the decision is warn.",
     ["operators.importer"], setp(["operators", "importer"], DELETE), decision="warn", policy="distributor")
case("authorised_representative_in_union", camera, "The Chinese manufacturer's authorised representative is established in the Netherlands (Art. 3(15), Art. 18).",
     [], setp(["operators", "authorised_representative"], REPRESENTATIVE))
case("authorised_representative_outside_union", camera, "An authorised representative established outside the Union (Art. 3(15)).",
     ["operators.authorised-representative"], setp(["operators", "authorised_representative"], {"name": "Lumora UK Ltd", "postal_address": "1 King Street, London EC2V 8AU, United Kingdom", "country": "GB"}))
case("authorised_representative_without_address", camera, "An authorised representative without a postal address.",
     ["operators.authorised-representative"], setp(["operators", "authorised_representative"], {"name": "Lumora EU Representative B.V.", "country": "NL"}))
case("doc_issued_by_representative", camera, "The DoC names the authorised representative instead of the manufacturer (Annex V(2)), the same one the listing names.",
     [], seq(setp(["operators", "authorised_representative"], REPRESENTATIVE), in_doc("manufacturer", None),
             in_doc("authorised_representative", {"name": REPRESENTATIVE["name"], "postal_address": REPRESENTATIVE["postal_address"]})))
case("doc_representative_differs", camera, "The DoC's authorised representative is not the one the listing names.",
     ["operators.authorised-representative"], seq(setp(["operators", "authorised_representative"], REPRESENTATIVE),
             in_doc("authorised_representative", {"name": "Lumora Compliance Services GmbH", "postal_address": "Hafenstraße 23, 20457 Hamburg, Germany"})))
case("steward_foss_without_manufacturer", foss_library, "A free and open-source library supported by an open-source software steward, with no manufacturer placing it on the market: the manufacturer's duties (DoC, CE marking, support period, user information) do not apply (Art. 24).",
     [], STEWARD_ONLY)
case("steward_without_cvd_policy", foss_library, "The steward-supported library publishes no disclosure policy: the steward's cybersecurity policy must foster vulnerability reporting (Art. 24(1)).",
     ["security.cvd-policy"], seq(STEWARD_ONLY, setp(["security", "cvd_policy"], DELETE)))
case("steward_beside_manufacturer", foss_library, "A steward supports the library and a manufacturer places it on the market: the manufacturer's duties apply as usual.",
     [], setp(["operators", "steward"], STEWARD))
case("steward_not_foss", foss_library, "A steward is named for a product not declared free and open-source (Art. 3(14)).",
     ["operators.steward"], seq(setp(["operators", "steward"], STEWARD), setp(["product", "free_open_source"], False)))

# Rule 13: application dates (Art. 69, 71)
case("as_applicable_unit_before_2027", camera, "Under enforce = \"as-applicable\", a unit placed in 2026 is not yet under the CRA (Art. 69(2)): the missing importer is not applicable.",
     [], setp(["operators", "importer"], DELETE), policy="case")
case("as_applicable_unit_placed_2027_12_10", camera, "Placed on 10 December 2027, the day before the CRA applies: not applicable under as-applicable.",
     [], seq(setp(["operators", "importer"], DELETE), setp(["placed_on_market"], "2027-12-10")), policy="case")
case("as_applicable_unit_placed_2027_12_11", camera, "Placed on 11 December 2027, when the CRA applies (Art. 71(2)): the missing importer fails.",
     ["operators.importer"], seq(setp(["operators", "importer"], DELETE), setp(["placed_on_market"], "2027-12-11")), policy="case")
case("as_applicable_substantially_modified", camera, "Placed in 2026 but substantially modified on 11 December 2027: the CRA applies from then (Art. 69(2)).",
     ["operators.importer"], seq(setp(["operators", "importer"], DELETE), setp(["substantially_modified"], "2027-12-11")), policy="case")
case("as_applicable_modified_before_2027", camera, "Placed in 2026 and modified on 10 December 2027, before the CRA applies: still not in scope.",
     [], seq(setp(["operators", "importer"], DELETE), setp(["substantially_modified"], "2027-12-10")), policy="case")

# Security contact, identifiers, user information
case("security_contact_missing", router, "No single point of contact for vulnerability reports (Art. 13(17)).",
     ["security.contact"], setp(["security", "contact"], None))
case("security_contact_malformed", camera, "The contact is \"psirt at lumora\", neither a mailto: address nor an https URL.",
     ["security.contact"], setp(["security", "contact"], "psirt at lumora"))
case("security_txt_wrong_path", foss_vpn, "security.txt is not at /.well-known/security.txt (RFC 9116).",
     ["security.contact"], setp(["security", "security_txt"], "https://tunnelwerk.example/security.txt"))
case("security_contact_https_form", foss_vpn, "A web form as the single point of contact is accepted.",
     [], setp(["security", "contact"], "https://tunnelwerk.example/security/report"))
case("cvd_policy_missing", password_manager, "No coordinated vulnerability disclosure policy (Annex II(2)).",
     ["security.cvd-policy"], setp(["security", "cvd_policy"], DELETE))
case("cvd_policy_plain_http", firewall, "The disclosure policy is linked over plain http.",
     ["security.cvd-policy"], setp(["security", "cvd_policy"], "http://bastion-secure.example/cvd"))
case("product_gtin_bad_check_digit", smartcard, "The listing's GTIN has a wrong check digit; the model and batch number identify the product, so the malformed GTIN is a warning naming it (Art. 13(15)), and the decision is warn.",
     ["product.identifier-syntax"], setp(["product", "identifiers", "gtin"], gtin("376000042001")[:-1] + str((int(gtin("376000042001")[-1]) + 1) % 10)), decision="warn")
case("product_only_identifier_malformed", smartcard, "The only identifier is a GTIN with a wrong check digit: the product has no usable identifier (Art. 13(15)), and nothing ties the DoC to it.",
     ["product.identifier", "product.identifier-syntax", "doc.matches-listing"], setp(["product", "identifiers"], {"gtin": gtin("376000042001")[:-1] + str((int(gtin("376000042001")[-1]) + 1) % 10)}))
case("product_model_only", camera, "The model alone identifies the camera (Art. 13(15)); the DoC's model agrees.",
     [], setp(["product", "identifiers"], {"model": "LC-X200"}))
case("product_cpe_malformed", router, "A malformed extra CPE beside a valid model, GTIN and serial number: a warning naming it.",
     ["product.identifier-syntax"], setp(["product", "identifiers", "cpe"], "cpe:nl-r7"), decision="warn")
case("user_information_missing", camera, "No user information (Annex II) at all.",
     ["user-info.url", "user-info.languages"], setp(["user_information"], None))
case("user_information_bad_language", router, "Languages given as names (\"English\") instead of language tags.",
     ["user-info.languages"], setp(["user_information", "languages"], ["English", "Deutsch"]))
case("user_information_language_missing", router, "The importer policy requires German user information; the router's is English and Swedish only.",
     ["user-info.languages"], setp(["user_information", "languages"], ["en", "sv"]), policy="importer")
case("app_store_language_warns", password_manager, "The app-store policy wants English user information but only warns: the decision is warn.",
     ["user-info.languages"], setp(["user_information", "languages"], ["de"]), decision="warn", policy="app-store")

# Policies with signatures
case("signatures_required", password_manager, "The case policy requires artifact signatures and a signed DoC; the listing has neither, so both checks fail.",
     ["signature.artifacts", "signature.doc"], policy="case")
case("app_store_class_ii", firewall, "Under the app-store policy a class II product needs artifact signatures and an SBOM; this one has neither.",
     SBOM_CONTENT + ["signature.artifacts"], policy="app-store")
case("app_store_class_i", password_manager, "Under the app-store policy a class I app with complete evidence is allowed.",
     [], policy="app-store")

# Rule 16 and unusable input: exit 2; the published schemas agree with the reader on each
case("unknown_format_version", camera, "format is cragate.listing/v2, a version this build does not read.",
     mutate=setp(["format"], "cragate.listing/v2"), unusable="not supported")
case("doc_unknown_format_version", camera, "The inline DoC is cragate.doc/v0.",
     mutate=in_doc("format", "cragate.doc/v0"), unusable="declaration of conformity format")
case("wrong_type", router, "product.version is a number, not a string.",
     mutate=setp(["product", "version"], 7), unusable="product.version")
case("unknown_field", router, "An unknown field (ce_marking.colour) is refused, not ignored.",
     mutate=setp(["ce_marking", "colour"], "black"), unusable="unknown field")
case("unknown_category", firewall, "class-iii is not a category of Annex III or IV.",
     mutate=setp(["product", "category"], "class-iii:1"), unusable="product.category")
case("bad_artifact_digest", camera, "An artifact digest that is not sha256:<64 hex>.",
     mutate=setp(["artifacts", 0, "digest"], "md5:abc"), unusable="artifacts[0].digest")
case("shape_digest_uppercase", camera, "An artifact digest in upper-case hex: the digest form is lower case.",
     mutate=setp(["artifacts", 0, "digest"], "sha256:" + "3B" * 32), unusable="artifacts[0].digest")
case("shape_identifier_not_string", camera, "An other identifier (product.identifiers.firmware) that is a number, not a string.",
     mutate=setp(["product", "identifiers", "firmware"], 42), unusable="product.identifiers")
case("shape_doc_identifier_not_string", camera, "A DoC identifier that is a list, not a string.",
     mutate=in_doc("product", "identifiers", "firmware", ["LC-X200-FW"]), unusable="declaration_of_conformity.full.product.identifiers")
case("shape_sbom_document_not_object", password_manager, "sbom.document is a string, not a JSON object.",
     mutate=setp(["sbom"], {"format": "cyclonedx", "document": "CycloneDX 1.6"}), unusable="sbom.document")
case("shape_sbom_format_missing", password_manager, "An SBOM without its format.",
     mutate=setp(["sbom"], {"document": cyclonedx("Vaultkey Password Manager", root_version="3.1.0")}), unusable="missing field `format`")
case("shape_sbom_attestation_negative", foss_library, "sbom.attestation is a negative index.",
     mutate=setp(["sbom"], {"format": "cyclonedx", "document": None, "attestation": -1}), unusable="sbom.attestation")
case("shape_artifact_size_negative", camera, "An artifact size below zero.",
     mutate=setp(["artifacts", 0, "size"], -1), unusable="artifacts[0].size")
case("shape_artifact_size_fraction", camera, "An artifact size with a fraction.",
     mutate=setp(["artifacts", 0, "size"], 1.5), unusable="artifacts[0].size")
case("shape_artifact_size_integral_float", camera, "An artifact size written 18874368.0: JSON has one number type, and both the reader and the schema take it as the integer.",
     [], setp(["artifacts", 0, "size"], 18874368.0))
case("shape_too_many_artifacts", camera, "257 artifacts, over the limit of 256 (the schema's maxItems).",
     mutate=setp(["artifacts"], [{"name": "part-%03d.bin" % i, "digest": DIGEST, "size": 1} for i in range(257)]), unusable="over the limit of 256")
case("shape_expected_use_not_number", password_manager, "support_period.expected_use_years written as words.",
     mutate=setp(["support_period", "expected_use_years"], "three"), unusable="support_period.expected_use_years")
case("shape_doc_languages_not_array", router, "declaration_of_conformity.languages is a string, not a list.",
     mutate=setp(["declaration_of_conformity", "languages"], "de"), unusable="declaration_of_conformity.languages")
case("shape_steward_unknown_field", foss_library, "The steward block has an unknown field (mandate).",
     mutate=setp(["operators", "steward"], dict(STEWARD, mandate="written")), unusable="unknown field `mandate`")
case("shape_operator_unknown_field", router, "An operator with an unknown field (phone).",
     mutate=setp(["operators", "manufacturer", "phone"], "+46 8 000 000"), unusable="unknown field `phone`")
case("shape_operators_null", router, "operators is null, not an object.",
     mutate=setp(["operators"], None), unusable="operators")
case("shape_kind_unknown", router, "product.kind is \"firmware\", neither hardware nor software.",
     mutate=setp(["product", "kind"], "firmware"), unusable="product.kind")
case("shape_placement_unknown", router, "ce_marking.placement \"box\" is not a placement.",
     mutate=setp(["ce_marking", "placement"], "box"), unusable="ce_marking.placement")
case("shape_ce_affixed_missing", router, "ce_marking without affixed.",
     mutate=setp(["ce_marking"], {"placement": "product"}), unusable="missing field `affixed`")
case("shape_substantially_modified_not_string", camera, "substantially_modified is a number.",
     mutate=setp(["substantially_modified"], 20271211), unusable="substantially_modified")
case("shape_doc_format_missing", camera, "The inline DoC has no format.",
     mutate=in_doc("format", DELETE), unusable="missing field `format`")
case("shape_legislation_act_missing", camera, "A DoC legislation entry without its act.",
     mutate=in_doc("legislation", [{"reference": "OJ L, 2024/2847, 20.11.2024"}]), unusable="missing field `act`")
case("shape_certification_scheme_missing", password_manager, "A DoC certification without its scheme.",
     mutate=in_doc("certifications", [{"certificate": "EUCC-BSI-2026-0117", "assurance_level": "substantial"}]), unusable="missing field `scheme`")
case("deep_nesting", None, "Ten thousand nested arrays: refused by the depth budget before parsing.",
     unusable="nests deeper", raw="[" * 10000 + "]" * 10000)
case("not_json", None, "Not JSON at all.", unusable="not a valid", raw="format = \"cragate.listing/v1\"\n")

CASE_POLICIES = {
    "critical_policy_requires_eucc": policy("critical-eucc", '\n[conformity]\n# As if an Art. 8(1) delegated act made EUCC mandatory for critical products.\ncritical_procedures = ["EUCC"]\n', lists=""),
    "support_policy_override": policy("long-support", '\n[overrides."class-i"]\nminimum_support_years = 8\n\n[overrides."class-ii"]\nminimum_support_years = 8\n', lists=""),
    "support_policy_override_short": policy("long-support", '\n[overrides."class-i"]\nminimum_support_years = 8\n\n[overrides."class-ii"]\nminimum_support_years = 8\n', lists=""),
    "support_over_refused_by_policy": policy("no-supply-after-support", '\n[support]\n# A policy choice: FAQ 4.5.3 lets units placed before the end be made available after it.\nsupply_after_end = "refuse"\n'),
    "sbom_attestation_only_required": policy("sbom-required", '\n[sbom]\nrequired = true\n', lists=""),
    "sbom_required_missing": policy("sbom-required", '\n[sbom]\nrequired = true\n', lists=""),
    "signatures_required": policy("signed", '\n[signatures]\nartifacts = true\ndoc = true\n', lists=""),
    "doc_simplified_only_full_required": policy("full-doc", '\n[doc]\nfull_required = true\n'),
    "doc_phrasing_not_accepted": policy("phrasings", '\n[doc.phrasings.en]\nsole_responsibility = ["sole responsibility"]\n\n[doc.phrasings.de]\nsole_responsibility = ["alleinige Verantwortung"]\n'),
    "doc_phrasing_accepted": policy("phrasings", '\n[doc.phrasings.en]\nsole_responsibility = ["sole responsibility"]\n\n[doc.phrasings.de]\nsole_responsibility = ["alleinige Verantwortung"]\n\n[doc.phrasings.fr]\nsole_responsibility = ["seule responsabilité"]\n'),
    "class_i_module_a_listed_standards": policy("illustrative-standards", "", lists=LOCAL_LISTS),
    "class_i_module_a_partial_coverage": policy("illustrative-standards", "", lists=LOCAL_LISTS),
    "class_i_module_a_common_specification": policy("illustrative-specifications", "", lists=LOCAL_LISTS),
    "class_i_module_a_listed_scheme": policy("illustrative-eucc", "", lists=LOCAL_LISTS),
    "class_i_module_a_without_lists": policy("no-lists", "", lists=""),
    "password_manager_eucc": policy("illustrative-eucc", "", lists=LOCAL_LISTS),
    "class_ii_eucc_substantial": policy("illustrative-eucc", "", lists=LOCAL_LISTS),
    "class_ii_eucc_basic": policy("illustrative-eucc", "", lists=LOCAL_LISTS),
    "smartcard_critical_eucc": policy("illustrative-eucc", "", lists=LOCAL_LISTS),
    "critical_eucc_mandated": policy("illustrative-eucc-mandate", "", lists=LOCAL_LISTS),
    "critical_eucc_mandated_module_h": policy("illustrative-eucc-mandate", "", lists=LOCAL_LISTS),
    "eucc_without_certificate": policy("illustrative-eucc", "", lists=LOCAL_LISTS),
    "importer_in_norway_eea_policy": policy("eea", '\n[market]\n# The EU-27 and the EEA EFTA States.\nunion_states = %s\n' % json.dumps(EU27 + ["IS", "LI", "NO"])),
    "as_applicable_unit_before_2027": AS_APPLICABLE,
    "as_applicable_unit_placed_2027_12_10": AS_APPLICABLE,
    "as_applicable_unit_placed_2027_12_11": AS_APPLICABLE,
    "as_applicable_substantially_modified": AS_APPLICABLE,
    "as_applicable_modified_before_2027": AS_APPLICABLE,
}


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--out"] and len(args) == 2:
        out = args[1]
        os.makedirs(out, exist_ok=True)
    elif not args:
        out = HERE
    else:
        sys.exit(__doc__)
    for entry in os.listdir(out):
        path = os.path.join(out, entry)
        if os.path.isdir(path) and entry.endswith(("_pass", "_fail")):
            shutil.rmtree(path)
    write_verbatim(out)
    names = [c[0] for c in CASES]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        sys.exit("duplicate case names: %s" % ", ".join(duplicated))
    unused = sorted(set(CASE_POLICIES) - {c[0] for c in CASES if c[6] == "case"})
    if unused:
        sys.exit("case policies without a case: %s" % ", ".join(unused))
    for name, base, why, failed, mutate, decision, policy_name, unusable, raw, files in CASES:
        if unusable:
            suffix = "_fail"
        else:
            decision = decision or ("deny" if failed else "allow")
            suffix = "_fail" if decision == "deny" else "_pass"
        folder = os.path.join(out, name + suffix)
        os.makedirs(folder)
        if raw is not None:
            text = raw
        else:
            listing_doc = copy.deepcopy(base())
            if mutate:
                mutate(listing_doc)
            text = json.dumps(listing_doc, indent=2, ensure_ascii=False) + "\n"
        write(os.path.join(folder, "listing.json"), text)
        expected = {"policy": "content-only"}
        if policy_name == "case":
            expected["policy"] = "case"
            write(os.path.join(folder, "policy.toml"), CASE_POLICIES[name])
            for file_name, content in sorted((files or {}).items()):
                write(os.path.join(folder, file_name), content)
        elif policy_name:
            expected["policy"] = policy_name
        if unusable:
            expected.update({"unusable": True, "error_contains": unusable})
        else:
            expected.update({"decision": decision, "failed": failed})
        write(os.path.join(folder, "expected.json"), json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
        policy_note = {"content-only": "policies/content-only.toml", "case": "policy.toml in this folder"}.get(
            expected["policy"], "policies/%s.toml" % expected["policy"])
        if files:
            policy_note += " (with its own illustrative %s)" % ", ".join(sorted(files))
        if unusable:
            outcome = "Expected: the listing is refused as unusable (exit 2)."
        else:
            listed = ", ".join(failed) if failed else "none"
            outcome = "Expected: decision %s; failed checks: %s." % (decision, listed)
        write(os.path.join(folder, "README"), "%s\n\nPolicy: %s. Evaluated at %s.\n%s\n" % (why, policy_note, AT, outcome))


# Cases whose bytes cannot come from json.dumps (a key given twice, a top
# that is not an object): written from their text, exactly.
VERBATIM = {'listing_is_array_fail': {'README': "A JSON array holding a listing's fields in order. A listing is a JSON\nobject; an array is not one, whatever it holds.\n\nPolicy: policies/content-only.toml. Evaluated at 2027-06-01T00:00:00Z.\nExpected: the listing is refused as unusable (exit 2).\n", 'expected.json': '{\n  "policy": "content-only",\n  "unusable": true,\n  "error_contains": "listing must be a JSON object, not an array"\n}\n', 'listing.json': '[\n  "cragate.listing/v1",\n  {\n    "id": "vaultkey-desktop",\n    "name": "Vaultkey Password Manager",\n    "version": "3.1.0",\n    "kind": "software",\n    "category": "default"\n  },\n  {},\n  null,\n  null,\n  null,\n  null,\n  null,\n  null,\n  [],\n  [],\n  null\n]\n'}, 'sbom_duplicate_key_fail': {'README': 'The inline CycloneDX 1.6 SBOM names its root component twice, once as the\nproduct and once as something else: a document with two meanings (RFC 8259\nsection 4), read by some parsers with the first name and by others with the\nlast.\n\nPolicy: policies/content-only.toml. Evaluated at 2027-06-01T00:00:00Z.\nExpected: the listing is refused as unusable (exit 2), naming the key and where.\n', 'expected.json': '{\n  "policy": "content-only",\n  "unusable": true,\n  "error_contains": "has the key \\"name\\" twice in sbom.document.metadata.component"\n}\n', 'listing.json': '{\n  "format": "cragate.listing/v1",\n  "product": {\n    "id": "vaultkey-desktop",\n    "name": "Vaultkey Password Manager",\n    "version": "3.1.0",\n    "kind": "software",\n    "category": "class-i:3",\n    "identifiers": {\n      "purl": "pkg:generic/vaultkey/vaultkey-desktop@3.1.0"\n    }\n  },\n  "operators": {\n    "manufacturer": {\n      "name": "Vaultkey Software GmbH",\n      "postal_address": "Torstraße 140, 10119 Berlin, Germany",\n      "email": "hello@vaultkey.example",\n      "website": "https://vaultkey.example",\n      "country": "DE"\n    },\n    "supplier": {\n      "name": "Vaultkey Software GmbH",\n      "postal_address": "Torstraße 140, 10119 Berlin, Germany",\n      "email": "hello@vaultkey.example",\n      "website": "https://vaultkey.example",\n      "country": "DE"\n    }\n  },\n  "placed_on_market": "2026-11-01",\n  "support_period": {\n    "end": "2032-12"\n  },\n  "security": {\n    "contact": "mailto:psirt@vaultkey.example",\n    "cvd_policy": "https://vaultkey.example/security/disclosure-policy",\n    "security_txt": "https://vaultkey.example/.well-known/security.txt"\n  },\n  "ce_marking": {\n    "affixed": true,\n    "placement": "website",\n    "website": "https://vaultkey.example/conformity",\n    "notified_body": null\n  },\n  "user_information": {\n    "url": "https://vaultkey.example/manuals/vaultkey-desktop",\n    "languages": [\n      "en",\n      "de"\n    ]\n  },\n  "declaration_of_conformity": {\n    "full": {\n      "format": "cragate.doc/v1",\n      "product": {\n        "name": "Vaultkey Password Manager",\n        "type": "Vaultkey Password Manager",\n        "version": "3.1.0",\n        "identifiers": {\n          "purl": "pkg:generic/vaultkey/vaultkey-desktop@3.1.0"\n        }\n      },\n      "manufacturer": {\n        "name": "Vaultkey Software GmbH",\n        "postal_address": "Torstraße 140, 10119 Berlin, Germany"\n      },\n      "authorised_representative": null,\n      "sole_responsibility": "This declaration of conformity is issued under the sole responsibility of the provider.",\n      "object": {\n        "description": "Password manager for desktop operating systems, release 3.1.0",\n        "identifiers": {\n          "purl": "pkg:generic/vaultkey/vaultkey-desktop@3.1.0"\n        },\n        "photo": null\n      },\n      "legislation": [\n        {\n          "act": "Regulation (EU) 2024/2847",\n          "reference": "OJ L, 2024/2847, 20.11.2024"\n        }\n      ],\n      "standards": [],\n      "common_specifications": [],\n      "certifications": [\n        {\n          "scheme": "EUCC",\n          "certificate": "EUCC-BSI-2026-0117",\n          "assurance_level": "substantial"\n        }\n      ],\n      "conformity_assessment": {\n        "procedure": "EUCC",\n        "certificate": "EUCC-BSI-2026-0117"\n      },\n      "additional_information": "",\n      "signed": {\n        "for": "Vaultkey Software GmbH",\n        "place": "Berlin",\n        "date": "2026-10-15",\n        "name": "Dr. Ines Vogel",\n        "function": "Head of Product Compliance"\n      }\n    },\n    "url": "https://vaultkey.example/conformity/doc-3.1.pdf",\n    "simplified": null\n  },\n  "artifacts": [\n    {\n      "name": "vaultkey-3.1.0-x86_64.AppImage",\n      "digest": "sha256:3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b",\n      "size": 94371840,\n      "media_type": "application/vnd.appimage"\n    }\n  ],\n  "attestations": [],\n  "sbom": {\n    "format": "cyclonedx",\n    "document": {\n      "bomFormat": "CycloneDX",\n      "specVersion": "1.6",\n      "version": 1,\n      "metadata": {\n        "component": {\n          "type": "application",\n          "name": "Vaultkey Password Manager",\n          "name": "Unrelated Firmware"\n        }\n      },\n      "components": [\n        {\n          "type": "library",\n          "name": "ring",\n          "version": "0.17.8",\n          "purl": "pkg:cargo/ring@0.17.8"\n        },\n        {\n          "type": "library",\n          "name": "serde",\n          "version": "1.0.219",\n          "purl": "pkg:cargo/serde@1.0.219"\n        }\n      ]\n    }\n  }\n}\n'}}


def write_verbatim(out):
    for case, files in sorted(VERBATIM.items()):
        folder = os.path.join(out, case)
        os.makedirs(folder, exist_ok=True)
        for name, text in sorted(files.items()):
            write(os.path.join(folder, name), text)


if __name__ == "__main__":
    main()
