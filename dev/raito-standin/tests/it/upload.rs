//! Signed upload URLs and the PUT that stores a file only when it is what was declared.

use reqwest::StatusCode;

use crate::support::{Harness, sha256};

#[tokio::test]
async fn a_signed_url_accepts_exactly_the_declared_file() {
    let harness = Harness::new().await;
    let bytes = b"[\n{}\n]\n";
    let key = harness.upload(bytes).await;
    assert_eq!(harness.standin.upload_body(&key).unwrap().as_ref(), bytes);
    let state = harness.standin.state();
    assert_eq!(state.uploads.len(), 1);
    assert!(state.uploads[0].received);
    assert_eq!(state.count("signedUrl"), 1);
    assert_eq!(state.count("upload"), 1);
}

#[tokio::test]
async fn an_upload_with_a_wrong_checksum_or_length_is_rejected_and_not_stored() {
    let harness = Harness::new().await;
    let (url, key) = harness.signed_url(5, &sha256(b"hello")).await;

    let wrong_checksum = harness.http.put(&url).body("HELLO").send().await.unwrap();
    assert_eq!(wrong_checksum.status(), StatusCode::BAD_REQUEST);
    assert!(wrong_checksum.text().await.unwrap().contains("BadDigest"));

    let wrong_length = harness.http.put(&url).body("hello!").send().await.unwrap();
    assert_eq!(wrong_length.status(), StatusCode::BAD_REQUEST);

    assert!(harness.standin.upload_body(&key).is_none());
    let fine = harness.http.put(&url).body("hello").send().await.unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
    assert_eq!(
        harness.standin.upload_body(&key).unwrap().as_ref(),
        b"hello"
    );
}

#[tokio::test]
async fn an_upload_with_a_tampered_signature_is_forbidden() {
    let harness = Harness::new().await;
    let (url, _) = harness.signed_url(5, &sha256(b"hello")).await;
    let tampered = format!("{}0", url);
    let response = harness
        .http
        .put(tampered)
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("SignatureDoesNotMatch")
    );
}

#[tokio::test]
async fn a_signed_url_needs_a_base64_sha256_and_a_length() {
    let harness = Harness::new().await;
    // An unescaped `+` in the query becomes a space, which is not base64: the client must escape it.
    let (status, _) = harness
        .get("file/upload/signed-url?contentLength=0&sha256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = harness
        .get("file/upload/signed-url?sha256=47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
