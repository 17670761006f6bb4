//! Checking that a delivery comes from the configured sender: HMAC
//! signatures and shared secrets, compared in constant time (`subtle`,
//! and `hmac`'s own `verify_slice`).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Whether `signature_hex` is HMAC-SHA256(secret, body) for one of the
/// secrets (several during a rotation).
pub fn hmac_sha256_matches(secrets: &[String], body: &[u8], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    secrets.iter().any(|secret| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(body);
        mac.verify_slice(&signature).is_ok()
    })
}

/// Whether `Authorization: Bearer <token>` carries one of the secrets.
pub fn bearer_matches(secrets: &[String], authorization: Option<&str>) -> bool {
    authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|token| secret_matches(secrets, token.trim()))
}

/// Whether `token` is one of the secrets; the comparison does not stop at
/// the first difference (the length may show, the content does not).
pub fn secret_matches(secrets: &[String], token: &str) -> bool {
    secrets
        .iter()
        .any(|s| bool::from(s.as_bytes().ct_eq(token.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_published_test_vector() {
        let secrets = vec!["It's a Secret to Everybody".to_string()];
        let sig = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(hmac_sha256_matches(&secrets, b"Hello, World!", sig));
        assert!(!hmac_sha256_matches(&secrets, b"Hello, World?", sig));
        assert!(!hmac_sha256_matches(&secrets, b"Hello, World!", &sig[..62]));
        assert!(!hmac_sha256_matches(&secrets, b"Hello, World!", "zz"));
        assert!(!hmac_sha256_matches(&[], b"Hello, World!", sig));
        // A rotation: the old secret and the new one both verify.
        let both = vec!["new".to_string(), secrets[0].clone()];
        assert!(hmac_sha256_matches(&both, b"Hello, World!", sig));
    }

    #[test]
    fn bearer_tokens() {
        let secrets = vec!["s3cret".to_string()];
        assert!(bearer_matches(&secrets, Some("Bearer s3cret")));
        assert!(!bearer_matches(&secrets, Some("Bearer s3cre")));
        assert!(!bearer_matches(&secrets, Some("s3cret")));
        assert!(!bearer_matches(&secrets, None));
        assert!(!bearer_matches(&[], Some("Bearer ")));
    }
}
