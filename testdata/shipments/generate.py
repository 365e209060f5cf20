#!/usr/bin/env python3
"""Generates the example inbound shipment in this folder: SHP-2026-1187,
20 items from three manufacturers outside the Union (Shenzhen, Kaohsiung,
Portland), shipped by one trading company, for `cragate gate` under
policies/importer.toml.

Every listing is built with the listing and DoC builders of
testdata/cra/generate.py, so the products are shaped like the CRA content
vectors; the artifacts are small deterministic stand-ins for firmware
images. No listing names an importer: `cragate gate` stamps the policy's
`[importer]` on the accepted ones (Art. 19(4)). Five items are refused,
each for another reason (README.md lists them). Re-running this script
changes nothing.

The companies, addresses, products and numbers are invented.

Usage: python3 testdata/shipments/generate.py [--out DIR]
(--out writes the shipment to DIR instead of this folder, to compare.)
"""
import copy
import hashlib
import importlib.util
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location("cra_vectors", os.path.join(HERE, "..", "cra", "generate.py"))
cra = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(cra)

REFERENCE = "SHP-2026-1187"
AT = "2026-12-01T09:00:00Z"
ARTIFACT_BYTES = 4096

SUPPLIER = {"id": "pacific-bridge-trading", "name": "Pacific Bridge Trading Ltd.",
            "postal_address": "Unit 1203, 18 Harbour Road, Wan Chai, Hong Kong",
            "email": "export@pacific-bridge.example", "country": "HK"}

LUMATEK = cra.operator("Shenzhen Lumatek Optoelectronics Co., Ltd.",
                       "No. 88 Gaoxin South 9th Road, Nanshan District, 518057 Shenzhen, China",
                       "compliance@lumatek.example", "https://www.lumatek.example", "CN")
KSD = cra.operator("Kaohsiung Smart Devices Corp.",
                   "No. 6, Fuxing 4th Road, Qianzhen District, 806 Kaohsiung, Taiwan",
                   "regulatory@ksd.example", "https://www.ksd.example", "TW")
REDWOOD = cra.operator("Redwood IoT Inc.", "1200 NW Naito Parkway, Portland, OR 97209, United States",
                       "product-compliance@redwood-iot.example", "https://redwood-iot.example", "US")
SUPPLIER_OPERATOR = cra.operator(SUPPLIER["name"], SUPPLIER["postal_address"], SUPPLIER["email"],
                                 "https://pacific-bridge.example", SUPPLIER["country"])

# (folder, maker, product id, name, version, category, gtin body, model, quantity, batch, fault)
PRODUCTS = [
    ("c3", LUMATEK, "lumatek-c3pro", "Lumatek C3 Pro Indoor Camera", "2.8.0", "class-i:17", "694000000101", "LT-C3P", 500, "2026W41", None),
    ("c5", LUMATEK, "lumatek-c5-outdoor", "Lumatek C5 Outdoor Camera", "1.4.2", "class-i:17", "694000000102", "LT-C5", 300, "2026W41", None),
    ("d1", LUMATEK, "lumatek-d1-doorbell", "Lumatek D1 Video Doorbell", "3.0.1", "class-i:17", "694000000103", "LT-D1", 250, "2026W42", None),
    ("p2", LUMATEK, "lumatek-p2-plug", "Lumatek P2 Smart Plug", "1.1.0", "default", "694000000104", "LT-P2", 2000, "2026W40", None),
    ("b4", LUMATEK, "lumatek-b4-bulb", "Lumatek B4 Smart Bulb", "5.2.0", "default", "694000000105", "LT-B4", 3000, "2026W40", None),
    ("n9", LUMATEK, "lumatek-n9-nvr", "Lumatek N9 Network Video Recorder", "4.0.0", "class-i:17", "694000000106", "LT-N9", 80, "2026W39", "short_support"),
    ("c7", LUMATEK, "lumatek-c7-pan-tilt", "Lumatek C7 Pan-Tilt Camera", "2.2.5", "class-i:17", "694000000107", "LT-C7", 400, "2026W42", "wrong_bytes"),
    ("r7", KSD, "ksd-r7-router", "KSD R7 Wi-Fi 7 Router", "7.0.3", "class-i:12", "471000000201", "KSD-R7", 600, "B2026-1107", None),
    ("m3", KSD, "ksd-m3-mesh", "KSD M3 Mesh Node", "3.5.1", "class-i:12", "471000000202", "KSD-M3", 900, "B2026-1107", None),
    ("m3x", KSD, "ksd-m3x-mesh-extender", "KSD M3X Mesh Extender", "3.5.1", "class-i:12", "471000000203", "KSD-M3X", 450, "B2026-1108", None),
    ("s8", KSD, "ksd-s8-switch", "KSD S8 Smart Switch", "2.0.0", "default", "471000000204", "KSD-S8", 150, "B2026-1101", None),
    ("l4", KSD, "ksd-l4-lte-modem", "KSD L4 LTE Modem", "1.9.7", "class-i:12", "471000000205", "KSD-L4", 200, "B2026-1103", "doc_not_german"),
    ("a2", KSD, "ksd-a2-access-point", "KSD A2 Access Point", "6.1.0", "class-i:12", "471000000206", "KSD-A2", 120, "B2026-1104", None),
    ("k1", KSD, "ksd-k1-keypad", "KSD K1 Smart Keypad", "1.0.4", "default", "471000000207", "KSD-K1", 350, "B2026-1105", None),
    ("t5", REDWOOD, "redwood-t5-thermostat", "Redwood T5 Smart Thermostat", "5.3.0", "default", "081000000301", "RW-T5", 700, "RW-26-44", None),
    ("h2", REDWOOD, "redwood-h2-hub", "Redwood H2 Home Hub", "2.4.1", "class-i:12", "081000000302", "RW-H2", 320, "RW-26-44", None),
    ("s3", REDWOOD, "redwood-s3-sensor", "Redwood S3 Motion Sensor", "1.2.0", "default", "081000000303", "RW-S3", 1500, "RW-26-45", "ce_not_affixed"),
    ("w6", REDWOOD, "redwood-w6-water-sensor", "Redwood W6 Leak Sensor", "1.0.9", "default", "081000000304", "RW-W6", 800, "RW-26-45", None),
    ("g1", REDWOOD, "redwood-g1-garage", "Redwood G1 Garage Controller", "3.1.2", "class-i:12", "081000000305", "RW-G1", 260, "RW-26-46", "body_not_listed"),
    ("v4", REDWOOD, "redwood-v4-valve", "Redwood V4 Smart Valve", "1.6.0", "default", "081000000306", "RW-V4", 540, "RW-26-46", None),
]

FAULTS = {
    "short_support": "the support period ends in June 2029, under the five years of Art. 13(8) with no reason given",
    "wrong_bytes": "the firmware file shipped is not the build the listing and its DoC name (its digest differs)",
    "doc_not_german": "the DoC exists in English and Chinese only; the importer sells in Germany (Art. 28(2))",
    "ce_not_affixed": "the listing says the CE marking is not affixed (Art. 30)",
    "body_not_listed": "the DoC names notified body 9999, which the notified-body list does not hold (Art. 32(3))",
}


def artifact_bytes(pid, version, salt=""):
    seed = hashlib.sha256(("%s %s%s" % (pid, version, salt)).encode()).digest()
    out = b""
    block = seed
    while len(out) < ARTIFACT_BYTES:
        block = hashlib.sha256(block).digest()
        out += block
    header = ("FIRMWARE %s %s\n" % (pid, version)).encode()
    return (header + out)[:ARTIFACT_BYTES]


def product(folder, maker, pid, name, version, category, gtin_body, model, batch, fault):
    identifiers = {"gtin": cra.gtin(gtin_body), "model": model, "batch": batch}
    hardware_nb = category != "default"
    ce = {"affixed": fault != "ce_not_affixed", "placement": "product", "website": None,
          "notified_body": "9999" if fault == "body_not_listed" else ("0123" if hardware_nb else None)}
    support_end = "2029-06" if fault == "short_support" else "2032-12"
    l = cra.listing(pid, name, version, "hardware", category, identifiers, maker, None, SUPPLIER_OPERATOR,
                    ce, languages=("en", "de"), support_end=support_end)
    fw_name = "%s-fw-%s.bin" % (pid, version)
    data = artifact_bytes(pid, version)
    l["artifacts"] = [{"name": fw_name, "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                       "size": len(data), "media_type": "application/octet-stream"}]
    if hardware_nb:
        nb = {"name": "Unbekannte Prüfstelle", "number": "9999"} if fault == "body_not_listed" else cra.NB_0123
        full = cra.doc(l, "%s, firmware %s" % (name, version), "H", nb=nb,
                       certificate="%s-CRA-QS-2026-%04d" % (nb["number"], int(gtin_body[-3:])),
                       legislation=(cra.CRA, cra.RED))
    else:
        full = cra.doc(l, "%s, firmware %s" % (name, version), "A", legislation=(cra.CRA, cra.RED))
    languages = ["en", "zh"] if fault == "doc_not_german" else ["en", "de"]
    l["declaration_of_conformity"] = {"full": full, "url": maker["website"] + "/doc/%s.pdf" % model,
                                      "simplified": None, "languages": languages}
    if fault == "wrong_bytes":
        data = artifact_bytes(pid, version, salt=" rebuilt")
    return l, fw_name, data


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    out = HERE
    if "--out" in sys.argv:
        out = sys.argv[sys.argv.index("--out") + 1]
    root = os.path.join(out, REFERENCE)
    if os.path.isdir(root):
        shutil.rmtree(root)
    items = []
    readme_faults = []
    for (folder, maker, pid, name, version, category, gtin_body, model, quantity, batch, fault) in PRODUCTS:
        listing, fw_name, data = product(folder, maker, pid, name, version, category, gtin_body, model, batch, fault)
        write(os.path.join(root, "items", folder, "listing.json"),
              (json.dumps(listing, indent=2, ensure_ascii=False) + "\n").encode())
        write(os.path.join(root, "items", folder, fw_name), data)
        items.append({"listing": "items/%s/listing.json" % folder,
                      "artifacts": {fw_name: "items/%s/%s" % (folder, fw_name)},
                      "quantity": quantity, "batch": batch, "serials": []})
        if fault:
            readme_faults.append("- `%s` (items/%s): %s." % (pid, folder, FAULTS[fault]))
    manifest = {"format": "cragate.shipment/v1", "reference": REFERENCE, "arrived_on": "2026-11-30",
                "supplier": SUPPLIER,
                "documents": {"customs_declaration": "26DE004711835592E1", "bill_of_lading": "PBTL-HKG-HAM-2611-0042"},
                "items": items}
    write(os.path.join(root, "shipment.json"), (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    readme = """# Example shipment %s

An inbound shipment an importer in Hamburg received on 2026-11-30 from
%s: %d items from three manufacturers established outside
the Union (Shenzhen, Kaohsiung, Portland). Made by `../generate.py`;
re-running it changes nothing. Everything in it is invented.

Gated with `cragate gate %s/shipment.json --policy policies/importer.toml
--at %s`: %d items accepted (each stamped with the policy's `[importer]`,
Art. 19(4)), %d refused, each for another reason:

%s

Expected: exit status 1; report.json totals items %d, accepted %d, refused %d,
unusable 0; `cragate ledger supply-chain ID` names %s and %s for every
accepted product, and nothing for a refused one.
""" % (REFERENCE, SUPPLIER["name"], len(items), REFERENCE, AT, len(items) - len(readme_faults),
       len(readme_faults), "\n".join(readme_faults), len(items), len(items) - len(readme_faults),
       len(readme_faults), SUPPLIER["id"], REFERENCE)
    write(os.path.join(root, "README.md"), readme.encode())


if __name__ == "__main__":
    main()
