#!/usr/bin/env python3
"""Generates the CRA content-check vectors in this folder.

Each case is a folder `<case>_pass` or `<case>_fail` with `listing.json`, a
README saying why, and `expected.json`: the decision (or `"unusable": true`
for input that must be refused with exit 2) and the exact set of failed
check ids, evaluated with `--at` AT under policies/content-only.toml unless
the case names another policy. Re-running this script changes nothing.

The products, companies, addresses and notified bodies are invented; the
notified-body numbers are illustrative.

Usage: python3 testdata/cra/generate.py
"""
import copy
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
AT = "2027-06-01T00:00:00Z"
CRA = {"act": "Regulation (EU) 2024/2847", "reference": "OJ L, 2024/2847, 20.11.2024"}
RED = {"act": "Directive 2014/53/EU", "reference": "OJ L 153, 22.5.2014, p. 62"}
SOLE = "This declaration of conformity is issued under the sole responsibility of the provider."


def gtin(body):
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def operator(name, address, email, website, country):
    return {"name": name, "postal_address": address, "email": email, "website": website, "country": country}


def doc(product, maker, procedure, standards=(), certifications=(), nb=None, certificate=None,
        legislation=(CRA,), signed_date="2026-10-15"):
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
        "product": {"name": p["name"], "type": p["identifiers"].get("model", p["name"]),
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
        "operators": {"manufacturer": manufacturer, "supplier": supplier},
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
        out["operators"]["importer"] = importer
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
    l["declaration_of_conformity"] = {
        "full": doc(l, "Indoor Wi-Fi security camera with motion detection, firmware 4.2.1", "A",
                    standards=["EN 18031-1:2024", "EN 303 645 V3.1.3"], legislation=(CRA, RED)),
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
        "full": doc(l, "Password manager for desktop operating systems, release 3.1.0", "EUCC",
                    certifications=[{"scheme": "EUCC", "certificate": "EUCC-BSI-2026-0117",
                                     "assurance_level": "substantial"}],
                    certificate="EUCC-BSI-2026-0117"),
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
        "full": doc(l, "Wi-Fi 7 home router, firmware 7.0.3", "H",
                    nb={"name": "Prüfstelle Beispiel Cybersicherheit GmbH", "number": "0123"},
                    certificate="0123-CRA-QS-2026-0032", legislation=(CRA, RED)),
        "url": "https://nordlicht-networks.example/doc/NL-R7.pdf", "simplified": None}
    return l


def firewall():
    maker = operator("Bastion Secure Systems Oy", "Mannerheimintie 12 B, 00100 Helsinki, Finland",
                     "compliance@bastion-secure.example", "https://bastion-secure.example", "FI")
    l = listing("bastion-fw-9000", "Bastion FW 9000", "9.4.0", "hardware", "class-ii:2",
                {"gtin": gtin("641999000123"), "model": "BFW-9000"}, maker, None, maker,
                {"affixed": True, "placement": "product", "website": None, "notified_body": None},
                languages=("en", "fi", "sv", "de"), support_end="2036-12")
    l["declaration_of_conformity"] = {
        "full": doc(l, "Next-generation firewall appliance, firmware 9.4.0", "B+C",
                    nb={"name": "Prüfstelle Beispiel Cybersicherheit GmbH", "number": "0123"},
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
                {"affixed": True, "placement": "packaging", "website": None, "notified_body": None},
                languages=("en", "fr"), support_end="2036-06")
    l["declaration_of_conformity"] = {
        "full": doc(l, "Dual-interface smartcard with secure element, applet suite P4.1", "EUCC",
                    certifications=[{"scheme": "EUCC", "certificate": "EUCC-ANSSI-2026-0042",
                                     "assurance_level": "high"}],
                    certificate="EUCC-ANSSI-2026-0042"),
        "url": "https://cartesure.example/doc/CS-IDP4.pdf", "simplified": None}
    return l


def cyclonedx(name, version="1.6", components=2):
    return {"bomFormat": "CycloneDX", "specVersion": version, "version": 1,
            "metadata": {"component": {"type": "application", "name": name}},
            "components": [{"type": "library", "name": n, "version": v,
                            "purl": "pkg:cargo/%s@%s" % (n, v)}
                           for n, v in [("ring", "0.17.8"), ("serde", "1.0.219"), ("zeroize", "1.8.1")][:components]]}


def spdx23(name):
    return {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
            "name": name + "-sbom", "documentNamespace": "https://quillwork.example/spdx/" + name + "-2.8.1",
            "creationInfo": {"created": "2026-10-01T00:00:00Z", "creators": ["Tool: cargo-sbom"]},
            "packages": [{"SPDXID": "SPDXRef-root", "name": name, "versionInfo": "2.8.1",
                          "downloadLocation": "NOASSERTION"},
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


# --- the cases ------------------------------------------------------------

CASES = []


def case(name, base, why, failed=(), mutate=None, decision=None, policy=None, unusable=None, raw=None):
    CASES.append((name, base, why, sorted(failed), mutate, decision, policy, unusable, raw))


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

# Products that pass as they are.
case("camera_non_eu_maker", camera, "Smart camera (class I, Annex III point 17) from a Chinese manufacturer, imported by a German importer, module A with harmonised standards declared; every content check passes.")
case("password_manager_eucc", password_manager, "Password manager app (class I, point 3) certified under EUCC at level substantial; CE marking on the accompanying website.")
case("router_module_h", router, "Router (class I, point 12) assessed under module H; notified body 0123 follows the CE marking and is named in the DoC.")
case("firewall_class_ii_bc", firewall, "Class II firewall (Annex III class II point 2) under module B+C with the EU-type examination certificate identified.")
case("foss_library_default", foss_library, "Free and open-source library in the default category, module A, CE marking on the DoC.")
case("foss_vpn_class_i_module_a", foss_vpn, "Free and open-source VPN client (class I, point 5) under module A with its technical documentation public (Art. 32(5)).")
case("smartcard_critical_eucc", smartcard, "Smartcard (critical, Annex IV point 3) certified under EUCC at level high; CE marking on the packaging.")

# DoC
case("doc_missing", foss_library, "No declaration of conformity at all: the DoC checks cannot run and fail, and so do the checks that need the procedure it would declare.",
     ["doc.present"] + ANNEX_V + ["ce.notified-body", "conformity.certificate"],
     setp(["declaration_of_conformity"], None))
case("doc_simplified_only", foss_library, "Only the simplified DoC (Annex VI) is supplied: it is valid, the Annex V items are not applicable, but the procedure-dependent checks cannot run.",
     ["ce.notified-body", "conformity.certificate"],
     setp(["declaration_of_conformity"], {"full": None, "url": "https://quillwork.example/quillparse/doc-2.8.pdf", "simplified": {"text": "Hereby, Quillwork Software B.V. declares that the product with digital elements type quillparse 2.8.1 is in compliance with Regulation (EU) 2024/2847. The full text of the EU declaration of conformity is available at the following internet address:", "url": "https://quillwork.example/quillparse/doc-2.8.pdf"}}))
case("doc_full_and_simplified", foss_library, "Full DoC plus a correct simplified DoC with its address.",
     [], setp(["declaration_of_conformity", "simplified"], {"text": "Hereby, Quillwork Software B.V. declares that the product with digital elements type quillparse 2.8.1 is in compliance with Regulation (EU) 2024/2847. The full text of the EU declaration of conformity is available at the following internet address:", "url": "https://quillwork.example/quillparse/doc-2.8.pdf"}))
case("doc_simplified_without_url", foss_library, "The simplified DoC gives no internet address of the full DoC (Annex VI).",
     ["doc.simplified"], seq(setp(["declaration_of_conformity", "url"], None), setp(["declaration_of_conformity", "simplified"], {"text": "Hereby, Quillwork Software B.V. declares that the product with digital elements type quillparse 2.8.1 is in compliance with Regulation (EU) 2024/2847.", "url": None})))
case("doc_simplified_wrong_act", foss_library, "The simplified DoC declares compliance with the Radio Equipment Directive instead of Regulation (EU) 2024/2847.",
     ["doc.simplified"], setp(["declaration_of_conformity", "simplified"], {"text": "Hereby, Quillwork Software B.V. declares that the product type quillparse is in compliance with Directive 2014/53/EU.", "url": "https://quillwork.example/quillparse/doc-2.8.pdf"}))
case("doc_product_without_type", foss_library, "The DoC names the product but gives neither its type nor its version (Annex V(1)).",
     ["doc.product"], seq(in_doc("product", "type", None), in_doc("product", "version", None)))
case("doc_manufacturer_without_address", camera, "The DoC names the manufacturer without a postal address (Annex V(2)).",
     ["doc.manufacturer"], in_doc("manufacturer", "postal_address", ""))
case("doc_without_sole_responsibility", router, "The DoC omits the sole-responsibility statement (Annex V(3)).",
     ["doc.sole-responsibility"], in_doc("sole_responsibility", None))
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
case("doc_signed_after_placing", router, "The DoC is dated after the product was placed on the market; it must be drawn up before (Art. 13(12)).",
     ["doc.signature"], in_doc("signed", "date", "2026-12-01"))
case("doc_other_product_name", password_manager, "The DoC is for a different product (\"Vaultkey Mobile\").",
     ["doc.matches-listing"], in_doc("product", "name", "Vaultkey Mobile"))
case("doc_other_version", firewall, "The DoC declares firmware 9.3.0; the listing is 9.4.0.",
     ["doc.matches-listing"], in_doc("product", "version", "9.3.0"))
case("doc_version_range_covers", firewall, "The DoC declares versions 9.x, which covers the listed 9.4.0.",
     [], in_doc("product", "version", "9.x"))
case("doc_other_gtin", camera, "The DoC's GTIN is another product's.",
     ["doc.matches-listing"], in_doc("product", "identifiers", "gtin", gtin("694123456790")))
case("doc_rebranded", camera, "The listing names the manufacturer as an EU brand while the DoC is issued by the Chinese maker: a rebrand makes the listing party a manufacturer (Art. 21).",
     ["doc.matches-listing"], seq(setp(["operators", "manufacturer", "name"], "Hamburg Home Security GmbH"), setp(["operators", "manufacturer", "country"], "CN")))

# CE marking
case("ce_not_affixed", camera, "The CE marking is declared as not affixed.",
     ["ce.affixed", "ce.placement"], setp(["ce_marking", "affixed"], False))
case("ce_missing", smartcard, "No CE marking information at all.",
     ["ce.affixed", "ce.placement"], setp(["ce_marking"], None))
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

# Class and procedure
case("class_i_module_a_without_standards", camera, "Class I under module A without any harmonised standard, common specification or certification (Art. 32(2)).",
     ["conformity.procedure"], in_doc("standards", []))
case("class_ii_module_a", firewall, "A class II firewall self-assessed under module A (Art. 32(3)).",
     ["conformity.procedure"], in_doc("conformity_assessment", "procedure", "A"))
case("class_ii_eucc_basic", firewall, "A class II firewall certified under EUCC at level basic only (Art. 32(3)).",
     ["conformity.procedure"], seq(in_doc("conformity_assessment", {"procedure": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007"}), in_doc("certifications", [{"scheme": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007", "assurance_level": "basic"}])))
case("class_ii_eucc_substantial", firewall, "A class II firewall certified under EUCC at level substantial.",
     [], seq(in_doc("conformity_assessment", {"procedure": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007"}), in_doc("certifications", [{"scheme": "EUCC", "certificate": "EUCC-TRAFICOM-2026-0007", "assurance_level": "substantial"}])))
case("class_ii_module_h", firewall, "A class II firewall under module H with the notified body number after the CE marking.",
     [], seq(setp(["ce_marking", "notified_body"], "0123"), in_doc("conformity_assessment", "procedure", "H")))
case("critical_module_a", smartcard, "A critical product self-assessed under module A (Art. 32(4)).",
     ["conformity.procedure"], in_doc("conformity_assessment", {"procedure": "A"}))
case("critical_policy_requires_eucc", smartcard, "The case policy requires EUCC for critical products (as an Art. 8(1) delegated act would); the smartcard used module H.",
     ["conformity.procedure"], seq(setp(["ce_marking", "notified_body"], "0123"), in_doc("conformity_assessment", {"procedure": "H", "notified_body": {"name": "Prüfstelle Beispiel Cybersicherheit GmbH", "number": "0123"}})), policy="case")
case("bc_without_certificate", firewall, "Module B+C without the EU-type examination certificate identified (Annex V(7)).",
     ["conformity.certificate"], in_doc("conformity_assessment", "certificate", None))
case("eucc_without_certificate", password_manager, "EUCC claimed but no certificate identified anywhere.",
     ["conformity.certificate", "conformity.procedure", "doc.standards"], seq(in_doc("conformity_assessment", "certificate", None), in_doc("certifications", [{"scheme": "EUCC", "certificate": None, "assurance_level": "substantial"}])))
case("foss_module_a_without_documentation", foss_vpn, "Free and open-source class I product under module A without a public technical documentation link (Art. 32(5)).",
     ["conformity.foss-documentation"], setp(["product", "technical_documentation"], DELETE))
case("not_foss_class_i_module_a_without_standards", foss_vpn, "Without the free and open-source flag, module A for class I needs declared standards (Art. 32(2)).",
     ["conformity.procedure"], setp(["product", "free_open_source"], False))

# Support period
case("support_end_missing", camera, "No support period end date (Art. 13(19)).",
     ["support.end-date", "support.minimum", "support.current"], setp(["support_period"], None))
case("support_end_year_only", router, "Support end given as a year only; Art. 13(19) asks for at least month and year.",
     ["support.end-date", "support.minimum", "support.current"], setp(["support_period", "end"], "2032"))
case("support_three_years", password_manager, "Support ends three years after placing on the market, under the five-year minimum (Art. 13(8)).",
     ["support.minimum"], setp(["support_period", "end"], "2029-10"))
case("support_exactly_five_years", password_manager, "Support ends with the month before the fifth anniversary of placing (2026-11-01 to 2031-10): exactly five years.",
     [], setp(["support_period", "end"], "2031-10"))
case("support_one_month_short", password_manager, "Support ends 2031-09, one month short of five years.",
     ["support.minimum"], setp(["support_period", "end"], "2031-09"))
case("support_over", foss_library, "Placed on the market in 2020 with support to 2025-06: the support period is over at the evaluation time.",
     ["support.current"], seq(setp(["placed_on_market"], "2020-01-15"), setp(["support_period", "end"], "2025-06"), in_doc("signed", "date", "2020-01-10")))
case("support_without_placing_date", smartcard, "No placing-on-the-market date, so the support period cannot be measured.",
     ["support.minimum"], setp(["placed_on_market"], None))
case("support_policy_override", firewall, "The case policy requires eight years for class II products; the firewall offers about ten.",
     [], policy="case")
case("support_policy_override_short", camera, "The case policy requires eight years for class I products; the camera offers six.",
     ["support.minimum"], policy="case")

# Operators
case("manufacturer_missing", foss_library, "No manufacturer block (Art. 13(16)); whether an importer is needed cannot be told either.",
     ["operators.manufacturer", "operators.importer"], setp(["operators", "manufacturer"], DELETE))
case("manufacturer_without_email", router, "Manufacturer without an e-mail address (Art. 13(16)).",
     ["operators.manufacturer"], setp(["operators", "manufacturer", "email"], DELETE))
case("manufacturer_plain_http_website", smartcard, "Manufacturer website given over plain http.",
     ["operators.manufacturer"], setp(["operators", "manufacturer", "website"], "http://cartesure.example"))
case("manufacturer_with_non_eu_representative", camera, "An authorised representative outside the EU (Art. 18 requires one established in the EU).",
     ["operators.manufacturer"], setp(["operators", "authorised_representative"], {"name": "Lumora UK Ltd", "postal_address": "1 King Street, London EC2V 8AU, United Kingdom", "country": "GB"}))
case("importer_missing_non_eu_maker", camera, "Chinese manufacturer and no importer named (Art. 19(4)).",
     ["operators.importer"], seq(setp(["operators", "importer"], DELETE), setp(["operators", "supplier"], {"name": "Lumora Europe Import GmbH", "postal_address": "Hafenstraße 21, 20457 Hamburg, Germany"})))
case("importer_outside_eu", camera, "The importer named is established in Switzerland, outside the EU.",
     ["operators.importer"], setp(["operators", "importer", "country"], "CH"))
case("importer_without_website", camera, "The importer has no website (Art. 19(4)).",
     ["operators.importer"], setp(["operators", "importer", "website"], None))
case("supplier_missing", router, "The listing does not say who supplied the product (Art. 23(1)).",
     ["operators.supplier"], setp(["operators", "supplier"], DELETE))
case("distributor_audit_missing_importer", camera, "Under the distributor policy (audit mode) a missing importer is reported and the decision is warn.",
     ["operators.importer"], setp(["operators", "importer"], DELETE), decision="warn", policy="distributor")

# Security contact, identifier, user information
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
case("product_identifier_missing", foss_library, "No product identifier at all (Art. 13(15)).",
     ["product.identifier"], setp(["product", "identifiers"], {}))
case("product_gtin_bad_check_digit", smartcard, "The listing's GTIN has a wrong check digit, so it also no longer matches the DoC.",
     ["product.identifier", "doc.matches-listing"], setp(["product", "identifiers", "gtin"], gtin("376000042001")[:-1] + str((int(gtin("376000042001")[-1]) + 1) % 10)))
case("user_information_missing", camera, "No user information (Annex II) at all.",
     ["user-info.url", "user-info.languages"], setp(["user_information"], None))
case("user_information_bad_language", router, "Languages given as names (\"English\") instead of language tags.",
     ["user-info.languages"], setp(["user_information", "languages"], ["English", "Deutsch"]))
case("user_information_language_missing", router, "The importer policy requires German user information; the router's is English and Swedish only.",
     ["user-info.languages"], setp(["user_information", "languages"], ["en", "sv"]), policy="importer")
case("app_store_language_warns", password_manager, "The app-store policy wants English user information but only warns: the decision is warn.",
     ["user-info.languages"], setp(["user_information", "languages"], ["de"]), decision="warn", policy="app-store")

# SBOM
case("sbom_cyclonedx_16", password_manager, "An inline CycloneDX 1.6 SBOM describing the product.",
     [], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Password Manager")}))
case("sbom_cyclonedx_14", firewall, "An inline CycloneDX 1.4 SBOM naming the product by its model.",
     [], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("BFW-9000", "1.4")}))
case("sbom_spdx_23", foss_library, "An inline SPDX 2.3 SBOM whose DESCRIBES relationship names the library.",
     [], setp(["sbom"], {"format": "spdx", "document": spdx23("quillparse")}))
case("sbom_spdx_30", foss_vpn, "An inline SPDX 3.0 SBOM whose root element is the product.",
     [], setp(["sbom"], {"format": "spdx", "document": spdx30("Tunnelwerk VPN")}))
case("sbom_cyclonedx_13", password_manager, "CycloneDX 1.3 is older than the supported 1.4 to 1.6.",
     ["sbom.format", "sbom.components", "sbom.describes-product"], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Password Manager", "1.3")}))
case("sbom_spdx_22", foss_library, "SPDX 2.2 is not supported (2.3 or 3.0).",
     ["sbom.format", "sbom.components", "sbom.describes-product"], setp(["sbom"], {"format": "spdx", "document": dict(spdx23("quillparse"), spdxVersion="SPDX-2.2")}))
case("sbom_without_components", password_manager, "A CycloneDX SBOM with no components.",
     ["sbom.components"], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Password Manager", components=0)}))
case("sbom_other_product", password_manager, "The SBOM describes another product.",
     ["sbom.describes-product"], setp(["sbom"], {"format": "cyclonedx", "document": cyclonedx("Vaultkey Mobile")}))
case("sbom_format_mislabelled", password_manager, "sbom.format says spdx but the document is CycloneDX.",
     ["sbom.format"], setp(["sbom"], {"format": "spdx", "document": cyclonedx("Vaultkey Password Manager")}))
case("sbom_not_a_document", foss_library, "sbom.document is neither CycloneDX nor SPDX.",
     ["sbom.format", "sbom.components", "sbom.describes-product"], setp(["sbom"], {"format": "cyclonedx", "document": {"name": "quillparse", "deps": ["memchr"]}}))
case("sbom_attestation_only", foss_library, "The SBOM arrives only as an attestation that is not a Sigstore bundle at all (and the library has no artifact to bind it to): sbom.attestation fails instead of passing unseen.",
     ["sbom.attestation"], seq(setp(["attestations"], [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}]), setp(["sbom"], {"format": "cyclonedx", "document": None, "attestation": 0})))
case("sbom_attestation_only_required", foss_library, "The case policy requires an SBOM and it arrives only as an attestation.",
     SBOM_CONTENT + ["sbom.attestation"], seq(setp(["attestations"], [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}]), setp(["sbom"], {"format": "cyclonedx", "document": None, "attestation": 0})), policy="case")
case("sbom_required_missing", camera, "The case policy requires an SBOM and none is supplied.",
     SBOM_CONTENT, policy="case")

# Policies with signatures
case("signatures_required", password_manager, "The case policy requires artifact signatures and a signed DoC; the listing has neither, so both checks fail.",
     ["signature.artifacts", "signature.doc"], policy="case")
case("app_store_class_ii", firewall, "Under the app-store policy a class II product needs artifact signatures and an SBOM; this one has neither.",
     SBOM_CONTENT + ["signature.artifacts"], policy="app-store")
case("app_store_class_i", password_manager, "Under the app-store policy a class I app with complete evidence is allowed.",
     [], policy="app-store")

# Unusable input: exit 2
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
case("deep_nesting", None, "Ten thousand nested arrays: refused by the depth budget before parsing.",
     unusable="nests deeper", raw="[" * 10000 + "]" * 10000)
case("not_json", None, "Not JSON at all.", unusable="not a valid", raw="format = \"cragate.listing/v1\"\n")

CASE_POLICIES = {
    "critical_policy_requires_eucc": 'format = "cragate.policy/v1"\nname = "critical-eucc"\nmode = "enforce"\n\n[conformity]\n# As if an Art. 8(1) delegated act made EUCC mandatory for critical products.\ncritical_procedures = ["EUCC"]\n',
    "support_policy_override": 'format = "cragate.policy/v1"\nname = "long-support"\nmode = "enforce"\n\n[overrides."class-i"]\nminimum_support_years = 8\n\n[overrides."class-ii"]\nminimum_support_years = 8\n',
    "support_policy_override_short": 'format = "cragate.policy/v1"\nname = "long-support"\nmode = "enforce"\n\n[overrides."class-i"]\nminimum_support_years = 8\n\n[overrides."class-ii"]\nminimum_support_years = 8\n',
    "sbom_attestation_only_required": 'format = "cragate.policy/v1"\nname = "sbom-required"\nmode = "enforce"\n\n[sbom]\nrequired = true\n',
    "sbom_required_missing": 'format = "cragate.policy/v1"\nname = "sbom-required"\nmode = "enforce"\n\n[sbom]\nrequired = true\n',
    "signatures_required": 'format = "cragate.policy/v1"\nname = "signed"\nmode = "enforce"\n\n[signatures]\nartifacts = true\ndoc = true\n',
}


def main():
    for entry in os.listdir(HERE):
        path = os.path.join(HERE, entry)
        if os.path.isdir(path):
            shutil.rmtree(path)
    for name, base, why, failed, mutate, decision, policy, unusable, raw in CASES:
        if unusable:
            suffix = "_fail"
        else:
            decision = decision or ("deny" if failed else "allow")
            suffix = "_fail" if decision == "deny" else "_pass"
        folder = os.path.join(HERE, name + suffix)
        os.makedirs(folder)
        if raw is not None:
            text = raw
        else:
            listing_doc = copy.deepcopy(base())
            if mutate:
                mutate(listing_doc)
            text = json.dumps(listing_doc, indent=2, ensure_ascii=False) + "\n"
        with open(os.path.join(folder, "listing.json"), "w", encoding="utf-8") as f:
            f.write(text)
        expected = {"policy": "content-only"}
        if policy == "case":
            expected["policy"] = "case"
            with open(os.path.join(folder, "policy.toml"), "w", encoding="utf-8") as f:
                f.write(CASE_POLICIES[name])
        elif policy:
            expected["policy"] = policy
        if unusable:
            expected.update({"unusable": True, "error_contains": unusable})
        else:
            expected.update({"decision": decision, "failed": failed})
        with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
        policy_note = {"content-only": "policies/content-only.toml", "case": "policy.toml in this folder"}.get(
            expected["policy"], "policies/%s.toml" % expected["policy"])
        if unusable:
            outcome = "Expected: the listing is refused as unusable (exit 2)."
        else:
            listed = ", ".join(failed) if failed else "none"
            outcome = "Expected: decision %s; failed checks: %s." % (decision, listed)
        with open(os.path.join(folder, "README"), "w", encoding="utf-8") as f:
            f.write("%s\n\nPolicy: %s. Evaluated at %s.\n%s\n" % (why, policy_note, AT, outcome))


if __name__ == "__main__":
    main()
