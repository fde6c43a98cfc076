//! The server's random secret and what is derived from it: HMAC-SHA256 signatures (upload URLs,
//! tokens) and unique ids (jobs, subtasks, file keys, tokens). No extra crates: the stand-in needs
//! ids that are unique and hard to guess, not a vetted CSPRNG.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

pub(crate) struct Secret {
    key: [u8; 32],
    counter: AtomicU64,
}

impl Secret {
    /// A fresh secret. std's `RandomState` is seeded from the operating system's randomness, and
    /// the clock and process id make two stand-ins started in the same instant differ anyway.
    pub(crate) fn new() -> Self {
        let mut seed = Sha256::new();
        for _ in 0..4 {
            seed.update(RandomState::new().hash_one(0u8).to_le_bytes());
        }
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        seed.update(now.as_nanos().to_le_bytes());
        seed.update(std::process::id().to_le_bytes());
        Self {
            key: seed.finalize().into(),
            counter: AtomicU64::new(0),
        }
    }

    /// HMAC-SHA256 (RFC 2104) of `message` under the secret, hex-encoded.
    pub(crate) fn sign(&self, message: &[u8]) -> String {
        hex(&hmac_sha256(&self.key, message))
    }

    /// A new unique id in the UUID text form (`8-4-4-4-12` hex digits).
    pub(crate) fn new_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let digest = hmac_sha256(&self.key, &n.to_le_bytes());
        let h = hex(&digest[..16]);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A new opaque random token of 64 hex digits.
    pub(crate) fn new_token(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        hex(&hmac_sha256(&self.key, format!("token-{n}").as_bytes()))
    }
}

fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut inner_pad = [0x36u8; BLOCK];
    let mut outer_pad = [0x5cu8; BLOCK];
    for (i, byte) in key.iter().enumerate() {
        inner_pad[i] ^= byte;
        outer_pad[i] ^= byte;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2_shape() {
        // RFC 4231 uses a 4-byte key ("Jefe"); HMAC pads short keys with zeros to the block size,
        // which is exactly what a zero-padded 32-byte key gives.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex(&hmac_sha256(&key, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn ids_are_unique_and_uuid_shaped() {
        let secret = Secret::new();
        let (a, b) = (secret.new_id(), secret.new_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
