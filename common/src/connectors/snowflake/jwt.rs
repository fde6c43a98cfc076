//! Key-pair authentication: the JWT Snowflake's SQL API accepts (`KEYPAIR_JWT`), signed RS256
//! with the user's private key. `iss` is `ACCOUNT.USER.SHA256:<fingerprint>` and `sub`
//! `ACCOUNT.USER`, account and user upper case, the account without its region and cloud; the
//! fingerprint is base64(SHA-256(DER SubjectPublicKeyInfo)), what `DESC USER` shows as
//! `RSA_PUBLIC_KEY_FP`. A token lives at most an hour (Snowflake refuses longer ones); the
//! connector makes one for 59 minutes and a new one when less than 5 minutes are left.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pkcs1::der::{Decode as _, Encode as _};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// How long a token is made for: under Snowflake's hour.
const LIFETIME: Duration = Duration::from_secs(59 * 60);
/// A token with less than this left is renewed before use.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// Why no token could be made: the parameter to check, and what is wrong (never the key).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct KeyError {
    /// `sf-private-key` or `sf-private-key-passphrase`.
    pub parameter: &'static str,
    /// What is wrong.
    pub message: String,
}

impl KeyError {
    fn key(message: String) -> Self {
        Self {
            parameter: "sf-private-key",
            message,
        }
    }

    fn passphrase(message: String) -> Self {
        Self {
            parameter: "sf-private-key-passphrase",
            message,
        }
    }
}

/// The account part of the claims: upper case, without the region and cloud of a locator
/// (`xy12345.us-east-2.aws` → `XY12345`); the organization form stays (`MYORG-MYACCOUNT`).
pub fn claim_account(account: &str) -> String {
    let account = account.trim();
    let account = account.split('.').next().unwrap_or(account);
    account.to_ascii_uppercase()
}

/// Signs the SQL API's tokens for one user, and keeps the current one.
pub struct KeyPair {
    key: EncodingKey,
    issuer: String,
    subject: String,
    current: Mutex<Option<(String, SystemTime)>>,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Reads `private_key` (PEM: PKCS#8, encrypted with `passphrase` or not, or PKCS#1) for
    /// `user` of `account`.
    pub fn new(
        account: &str,
        user: &str,
        private_key: &SecretString,
        passphrase: Option<&SecretString>,
    ) -> Result<Self, KeyError> {
        let pem = private_key.expose_secret().trim();
        let unreadable = |e: &dyn std::fmt::Display| {
            KeyError::key(format!(
                "sf-private-key is not an RSA private key in PEM (PKCS#8 \"BEGIN PRIVATE KEY\", \
                 encrypted \"BEGIN ENCRYPTED PRIVATE KEY\" with sf-private-key-passphrase, or \
                 PKCS#1 \"BEGIN RSA PRIVATE KEY\"): {e}"
            ))
        };
        let (label, mut document) =
            pkcs8::SecretDocument::from_pem(pem).map_err(|e| unreadable(&e))?;
        let mut label = label.to_owned();
        if label == "ENCRYPTED PRIVATE KEY" {
            let Some(passphrase) = passphrase else {
                return Err(KeyError::passphrase(
                    "sf-private-key is encrypted: set sf-private-key-passphrase".to_owned(),
                ));
            };
            document = pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes())
                .and_then(|info| info.decrypt(passphrase.expose_secret().as_bytes()))
                .map_err(|e| {
                    KeyError::passphrase(format!(
                        "sf-private-key could not be decrypted with sf-private-key-passphrase: {e}"
                    ))
                })?;
            label = "PRIVATE KEY".to_owned();
        }
        let info;
        let pkcs1_der: &[u8] = match label.as_str() {
            "PRIVATE KEY" => {
                info = pkcs8::PrivateKeyInfo::from_der(document.as_bytes())
                    .map_err(|e| unreadable(&e))?;
                if info.algorithm.oid != pkcs1::ALGORITHM_OID {
                    return Err(KeyError::key(
                        "sf-private-key is not an RSA key (Snowflake's key pairs are RSA, 2048 \
                         bits or more)"
                            .to_owned(),
                    ));
                }
                info.private_key
            }
            "RSA PRIVATE KEY" => document.as_bytes(),
            other => return Err(unreadable(&format!("a PEM block of type {other:?}"))),
        };
        let rsa = pkcs1::RsaPrivateKey::from_der(pkcs1_der).map_err(|e| unreadable(&e))?;
        let fingerprint = fingerprint(&rsa).map_err(|e| unreadable(&e))?;
        let key = EncodingKey::from_rsa_der(pkcs1_der);
        let subject = format!("{}.{}", claim_account(account), user.to_ascii_uppercase());
        Ok(Self {
            key,
            issuer: format!("{subject}.SHA256:{fingerprint}"),
            subject,
            current: Mutex::new(None),
        })
    }

    /// The `iss` claim (with the key's fingerprint): what to compare with `DESC USER`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A token valid for at least [`RENEW_BEFORE`]: the current one, or a new one.
    pub fn token(&self) -> Result<String, KeyError> {
        let now = SystemTime::now();
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, expires)) = current.as_ref()
            && expires.duration_since(now).unwrap_or_default() > RENEW_BEFORE
        {
            return Ok(token.clone());
        }
        let token = self.sign(now)?;
        *current = Some((token.clone(), now + LIFETIME));
        Ok(token)
    }

    /// Forgets the current token, so the next request signs a new one (after a 401).
    pub fn renew(&self) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn sign(&self, now: SystemTime) -> Result<String, KeyError> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: &'a str,
            iat: u64,
            exp: u64,
        }
        let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let claims = Claims {
            iss: &self.issuer,
            sub: &self.subject,
            iat,
            exp: iat + LIFETIME.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key).map_err(|e| {
            KeyError::key(format!("signing the key-pair JWT with sf-private-key: {e}"))
        })
    }
}

/// base64(SHA-256(DER SubjectPublicKeyInfo)) of the key's public half.
fn fingerprint(key: &pkcs1::RsaPrivateKey<'_>) -> Result<String, pkcs8::Error> {
    let public = pkcs1::RsaPublicKey {
        modulus: key.modulus,
        public_exponent: key.public_exponent,
    }
    .to_der()?;
    let info = spki::SubjectPublicKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef {
            oid: pkcs1::ALGORITHM_OID,
            parameters: Some(pkcs1::der::asn1::AnyRef::NULL),
        },
        subject_public_key: pkcs1::der::asn1::BitStringRef::from_bytes(&public)?,
    };
    let der = info.to_der()?;
    Ok(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&der)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_claim_drops_region_and_cloud_and_is_upper_case() {
        assert_eq!(claim_account("xy12345.us-east-2.aws"), "XY12345");
        assert_eq!(claim_account("xy12345"), "XY12345");
        assert_eq!(claim_account("myorg-myaccount"), "MYORG-MYACCOUNT");
        assert_eq!(claim_account("myorg-my_account"), "MYORG-MY_ACCOUNT");
    }
}
