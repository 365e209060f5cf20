//! Paths through an HTTP upstream: what the gateway judges a path to name
//! is what the upstream receives. Captures cannot climb out of their
//! segment, forwarded paths are normalised, and a listing is served only
//! under its own `product.id`.

use crate::serve_util::*;

#[test]
fn an_encoded_slash_in_a_capture_cannot_overwrite_another_path() {
    let nginx = Nginx::start();
    let gateway = Gateway::fronting(&nginx, "");
    let pages = nginx.root.join("store/pages");
    std::fs::create_dir_all(&pages).unwrap();
    let page = pages.join("p1.json");
    std::fs::write(&page, "{\"items\": []}").unwrap();
    // Each: the path's capture, and the product.id that would match it
    // raw or decoded.
    let attacks = [
        ("..%2Fpages%2Fp1", "..%2Fpages%2Fp1"),
        ("..%2fpages%2fp1", "../pages/p1"),
        ("%2E%2E%2Fpages%2Fp1", "../pages/p1"),
        ("..%5Cpages%5Cp1", "..\\pages\\p1"),
        ("..\\pages\\p1", "..\\pages\\p1"),
    ];
    for (capture, id) in attacks {
        let url = gateway.url(&format!("/store/listings/{capture}.json"));
        let reply = send_json_as_is("PUT", &url, &accepted_with_id(id));
        assert_eq!(reply.status, 400, "{capture}: {reply:?}");
        assert_eq!(reply.json()["type"], "urn:cragate:problem:bad-path");
        assert_eq!(
            std::fs::read_to_string(&page).unwrap(),
            "{\"items\": []}",
            "{capture} overwrote another path"
        );
    }
    for dots in ["/store/listings/./x.json", "/store/listings/%2e%2e/x.json"] {
        let reply = send_json_as_is("PUT", &gateway.url(dots), &accepted_with_id("x"));
        assert_eq!(reply.status, 400, "{dots}: {reply:?}");
    }
    gateway.assert_ledger_empty();
}

#[test]
fn forwarded_paths_are_normalised() {
    let nginx = Nginx::start();
    let gateway = Gateway::fronting(&nginx, "");
    // %76 is "v": the capture is the product id once decoded, and the
    // upstream receives the path with it decoded.
    let url = gateway.url("/store/listings/%76aultkey-desktop.json");
    let reply = put_file(&url, &accepted_listing(), &[]);
    assert_eq!(reply.status, 201, "{reply:?}");
    assert!(
        nginx
            .root
            .join("store/listings/vaultkey-desktop.json")
            .exists()
    );
    let read = curl(&gateway.url("/store/listings/vaultkey%2Ddesktop.json"), &[]);
    assert_eq!(read.status, 200, "{read:?}");

    let native = Gateway::start(&[]);
    assert_eq!(
        post_file(&native.url("/v1/listings"), &accepted_listing()).status,
        201
    );
    let read = curl(&native.url("/v1/listings/vaultkey%2ddesktop"), &[]);
    assert_eq!(read.status, 200, "{read:?}");
}

#[test]
fn a_listing_read_is_served_only_under_its_own_product_id() {
    let nginx = Nginx::start();
    let gateway = Gateway::fronting(&nginx, "");
    // An accepted listing put under another product's name behind the
    // gateway's back.
    std::fs::copy(
        accepted_listing(),
        nginx.root.join("store/listings/someone-else.json"),
    )
    .unwrap();
    let read = curl(&gateway.url("/store/listings/someone-else.json"), &[]);
    assert_eq!(read.status, 502, "{read:?}");
    assert_eq!(read.json()["source"], "upstream");
    gateway.assert_ledger_empty();
}

/// Sends `body` as JSON with `method`, the URL's path sent as it is
/// written (curl would otherwise resolve `.` and `..` itself).
fn send_json_as_is(method: &str, url: &str, body: &[u8]) -> Reply {
    send_json_with(method, url, body, &["--path-as-is"])
}
