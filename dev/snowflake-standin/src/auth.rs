//! Who a request comes from: a key-pair JWT checked as Snowflake checks it, or an opaque OAuth
//! or programmatic access token from `Options::tokens`.
//!
//! The JWT: RS256, `iss` = `ACCOUNT.USER.SHA256:<fingerprint>` and `sub` = `ACCOUNT.USER`,
//! ACCOUNT and USER upper-case (the account as `ORG-NAME`, with `-` or `_` in the name, or its
//! locator), the fingerprint (base64 of the SHA-256 of the DER SubjectPublicKeyInfo) picking
//! `RSA_PUBLIC_KEY` or `RSA_PUBLIC_KEY_2` of that user, the signature checked with it, and
//! `iat` ≤ now ≤ `exp` with `exp - iat` at most the maximum lifetime (an hour), in seconds or
//! milliseconds. Any failure is the same 401 `390144`: Snowflake does not say what was wrong.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{Account, User};

/// Why a request is not authenticated; each maps to Snowflake's 401 body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `390144`: the JWT is not valid (any reason).
    Jwt,
    /// `390303`: the OAuth or programmatic access token is not known.
    Token,
}

/// The bare base64 body of a PEM public key (what Snowflake stores as `RSA_PUBLIC_KEY`); a
/// bare body is returned as it is, without whitespace.
pub fn key_body(key: &str) -> String {
    key.lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

/// `RSA_PUBLIC_KEY_FP` of a public key (PEM or bare base64), without its `SHA256:` prefix;
/// `None` when the key is not base64.
pub fn fingerprint(key: &str) -> Option<String> {
    let der = STANDARD.decode(key_body(key)).ok()?;
    Some(STANDARD.encode(Sha256::digest(&der)))
}

fn pem(key: &str) -> String {
    let body = key_body(key);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

/// Seconds since the epoch of a numeric claim given in seconds or milliseconds (a value past
/// the year 5000 in seconds can only be milliseconds).
fn claim_seconds(claims: &Value, name: &str) -> Option<f64> {
    let value = claims.get(name)?.as_f64()?;
    Some(if value > 1e11 { value / 1000.0 } else { value })
}

fn decode_part(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?).ok()
}

/// The account names a JWT may use for `account`, upper-case.
fn account_names(account: &Account) -> Vec<String> {
    let mut names = vec![account.identifier(), account.identifier().replace('_', "-")];
    if !account.locator.is_empty() {
        names.push(account.locator.to_uppercase());
    }
    names
}

/// The user a key-pair JWT authenticates, by position in `account.users`.
pub(crate) fn check_jwt(
    account: &Account,
    token: &str,
    max_lifetime: Duration,
) -> Result<usize, Refusal> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Jwt);
    };
    let header = decode_part(header).ok_or(Refusal::Jwt)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(Refusal::Jwt);
    }
    let claims = decode_part(payload).ok_or(Refusal::Jwt)?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(Refusal::Jwt)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(Refusal::Jwt)?;
    let (qualified, fp) = iss.rsplit_once(".SHA256:").ok_or(Refusal::Jwt)?;
    if qualified != sub || sub != sub.to_uppercase() {
        return Err(Refusal::Jwt);
    }
    let (account_name, user_name) = sub.split_once('.').ok_or(Refusal::Jwt)?;
    if !account_names(account).iter().any(|a| a == account_name) {
        return Err(Refusal::Jwt);
    }
    let index = account
        .users
        .iter()
        .position(|u| u.name.to_uppercase() == user_name)
        .ok_or(Refusal::Jwt)?;
    let user: &User = &account.users[index];
    if user.disabled {
        return Err(Refusal::Jwt);
    }
    let key = [&user.rsa_public_key, &user.rsa_public_key_2]
        .into_iter()
        .flatten()
        .find(|k| fingerprint(k).as_deref() == Some(fp))
        .ok_or(Refusal::Jwt)?;
    let decoding =
        jsonwebtoken::DecodingKey::from_rsa_pem(pem(key).as_bytes()).map_err(|_| Refusal::Jwt)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    // The times are checked below, where seconds and milliseconds are both read.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &decoding, &validation).map_err(|_| Refusal::Jwt)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let iat = claim_seconds(&claims, "iat").ok_or(Refusal::Jwt)?;
    let exp = claim_seconds(&claims, "exp").ok_or(Refusal::Jwt)?;
    if iat > now || now > exp || exp - iat > max_lifetime.as_secs_f64() {
        return Err(Refusal::Jwt);
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_PUB: &str = include_str!("../../test-keys/client.pub");

    #[test]
    fn the_fingerprint_is_the_one_openssl_computes() {
        // openssl pkey -pubin -in dev/test-keys/client.pub -outform DER
        //   | openssl dgst -sha256 -binary | openssl enc -base64
        let expected = "ZGLxL85NBy7hO7oElU41UOerJuLgU0DjaKYOMjkuvBU=";
        assert_eq!(fingerprint(CLIENT_PUB).as_deref(), Some(expected));
        // Snowflake stores the bare body; it has the same fingerprint.
        assert_eq!(
            fingerprint(&key_body(CLIENT_PUB)).as_deref(),
            Some(expected)
        );
        assert_eq!(pem(&key_body(CLIENT_PUB)).trim(), CLIENT_PUB.trim());
    }

    #[test]
    fn millisecond_claims_are_read_as_seconds() {
        let claims = serde_json::json!({"iat": 1_700_000_000_000_i64, "exp": 1_700_000_060});
        assert_eq!(claim_seconds(&claims, "iat"), Some(1_700_000_000.0));
        assert_eq!(claim_seconds(&claims, "exp"), Some(1_700_000_060.0));
    }
}
