//! Parse-don't-validate identifiers: once a value has one of these types it
//! is known to satisfy events.md's rules.

use crate::pseudonym::HEX_DIGITS;
use std::fmt;
use std::sync::Arc;

/// A commit id: 7 to 64 hexadecimal digits, stored packed and lower-case so
/// that `9F2C1E0` and `9f2c1e0` are the same commit and a change costs
/// 33 bytes, not a heap string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha {
    len: u8,
    nibbles: [u8; 32],
}

impl Sha {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        if !(7..=64).contains(&bytes.len()) {
            return Err(format!(
                "`{}` is not a commit id: expected 7 to 64 hex digits, got {}",
                truncate(text),
                bytes.len()
            ));
        }
        // A table, not a match: hex digits come in no order a branch
        // predictor can learn, and a full import parses 20 million shas.
        let mut nibbles = [0u8; 32];
        let mut invalid = 0u8;
        for (pair, out) in bytes.chunks(2).zip(nibbles.iter_mut()) {
            let high = HEX_VALUE[pair[0] as usize];
            let low = pair.get(1).map_or(0, |b| HEX_VALUE[*b as usize]);
            invalid |= (high | low) & NOT_HEX;
            *out = (high << 4) | (low & 0xf);
        }
        if invalid != 0 {
            let bad = bytes
                .iter()
                .find(|b| HEX_VALUE[**b as usize] == NOT_HEX)
                .copied()
                .unwrap_or(b'?');
            return Err(format!(
                "`{}` is not a commit id: `{}` is not a hex digit",
                truncate(text),
                bad as char
            ));
        }
        Ok(Sha {
            len: bytes.len() as u8,
            nibbles,
        })
    }

    /// A binary object id as git stores it (20 bytes for SHA-1, 32 for
    /// SHA-256); `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 20 && bytes.len() != 32 {
            return None;
        }
        let mut nibbles = [0u8; 32];
        nibbles[..bytes.len()].copy_from_slice(bytes);
        Some(Sha {
            len: (bytes.len() * 2) as u8,
            nibbles,
        })
    }
}

/// Each byte's value as a hex digit, or `NOT_HEX`.
const NOT_HEX: u8 = 0x80;
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// A sha's hex digits on the stack: writing millions of them to a
/// database need not allocate a `String` each.
pub struct ShaHex {
    digits: [u8; 64],
    len: u8,
}

impl ShaHex {
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.digits[..self.len as usize]).unwrap_or_default()
    }
}

impl Sha {
    pub fn hex(&self) -> ShaHex {
        let mut digits = [0u8; 64];
        for (i, pair) in digits
            .chunks_exact_mut(2)
            .enumerate()
            .take(self.len.div_ceil(2) as usize)
        {
            let byte = self.nibbles[i];
            pair[0] = HEX_DIGITS[(byte >> 4) as usize];
            pair[1] = HEX_DIGITS[(byte & 0xf) as usize];
        }
        ShaHex {
            digits,
            len: self.len,
        }
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hex().as_str())
    }
}

impl fmt::Debug for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha({self})")
    }
}

/// Display as the text itself, Debug as the quoted text: a name or an id
/// reads the same wherever it is printed.
macro_rules! shown_as_text {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", &*self.0)
            }
        }
    };
}

/// Names and ids are shown on pages and in logs: no control character
/// may hide or forge a line there.
fn no_control_characters(text: &str) -> Result<(), String> {
    match text.chars().any(char::is_control) {
        true => Err(format!(
            "must not contain control characters (`{}`)",
            text.escape_debug()
        )),
        false => Ok(()),
    }
}

/// A service or repository name: 1 to 200 characters, no control characters,
/// case-sensitive. Cheap to clone, so a history of millions of changes can
/// share one allocation per repository.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Name {
    pub fn parse(text: &str) -> Result<Self, String> {
        let chars = text.chars().count();
        if chars == 0 || chars > 200 {
            return Err(format!(
                "must be 1 to 200 characters, got {chars} (`{}`)",
                truncate(text)
            ));
        }
        no_control_characters(text)?;
        Ok(Name(Arc::from(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reuses an existing allocation for an equal name.
    pub fn from_arc(arc: Arc<str>) -> Self {
        Name(arc)
    }

    pub fn arc(&self) -> &Arc<str> {
        &self.0
    }
}

shown_as_text!(Name);

/// An event id: 1 to 500 characters, no control characters. Compared by
/// bytes, which is the tie-break order of deployments in metrics.md.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Arc<str>);

impl EventId {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() || text.len() > 500 {
            return Err(format!(
                "must be 1 to 500 bytes, got {} (`{}`)",
                text.len(),
                truncate(text)
            ));
        }
        no_control_characters(text)?;
        Ok(EventId(Arc::from(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A change's default id, `repo@sha`, built with one allocation: a
    /// name, `@` and hex digits have no control characters (and at most
    /// 200 characters of 4 bytes, 1 and 64 bytes).
    pub fn for_change(repo: &Name, sha: &Sha) -> Self {
        let hex = sha.hex();
        let mut buf = [0u8; 1024];
        let (r, h) = (repo.as_str().as_bytes(), hex.as_str().as_bytes());
        buf[..r.len()].copy_from_slice(r);
        buf[r.len()] = b'@';
        buf[r.len() + 1..r.len() + 1 + h.len()].copy_from_slice(h);
        let text = std::str::from_utf8(&buf[..r.len() + 1 + h.len()]).unwrap_or("@");
        EventId(Arc::from(text))
    }
}

shown_as_text!(EventId);

fn truncate(text: &str) -> String {
    if text.chars().count() > 80 {
        let head: String = text.chars().take(77).collect();
        format!("{head}...")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shas_are_case_insensitive_and_round_trip() {
        assert_eq!(Sha::parse("9F2C1E0"), Sha::parse("9f2c1e0"));
        let full = "0123456789abcdef0123456789abcdef01234567";
        let long = "a".repeat(64);
        for (given, shown) in [("9F2C1E0", "9f2c1e0"), (full, full), (&long, &long)] {
            assert_eq!(Sha::parse(given).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn binary_object_ids_equal_their_hex() {
        let bytes: Vec<u8> = (0u8..20).map(|b| b * 13).collect();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(Sha::from_bytes(&bytes), Some(Sha::parse(&hex).unwrap()));
        assert_eq!(
            Sha::from_bytes(&[0; 32]).unwrap().to_string(),
            "0".repeat(64)
        );
        assert_eq!(Sha::from_bytes(&[0; 19]), None);
    }

    #[test]
    fn a_change_id_is_repo_at_sha() {
        let repo = Name::parse(&"r".repeat(200)).unwrap();
        let sha = Sha::parse(&"Ab".repeat(32)).unwrap();
        let id = EventId::for_change(&repo, &sha);
        assert_eq!(id, EventId::parse(&format!("{repo}@{sha}")).unwrap());
        assert_eq!(id.as_str().len(), 265);
    }

    /// The table agrees with the rule for every byte, in either place
    /// of a pair and at an odd length's end.
    #[test]
    fn every_byte_is_read_by_the_hex_rule() {
        for b in 0u8..=255 {
            let digit = (b as char).to_digit(16);
            for at in [0, 5, 6] {
                let mut text = b"0123456".to_vec();
                text[at] = b;
                let Ok(text) = String::from_utf8(text) else {
                    continue;
                };
                match (digit, Sha::parse(&text)) {
                    (Some(_), Ok(sha)) => {
                        assert_eq!(sha.to_string(), text.to_lowercase(), "{text:?}")
                    }
                    (None, Err(e)) => assert!(e.contains(&format!("`{}`", b as char)), "{e}"),
                    (d, r) => panic!("byte {b} at {at}: digit {d:?}, parsed {r:?}"),
                }
            }
        }
    }

    #[test]
    fn prefixes_are_different_commits() {
        assert_ne!(
            Sha::parse("abcdef0").unwrap(),
            Sha::parse("abcdef00").unwrap()
        );
    }

    #[test]
    fn bad_shas_say_why() {
        assert!(Sha::parse("abc").unwrap_err().contains("7 to 64"));
        assert!(Sha::parse("xyz1234").unwrap_err().contains("`x`"));
        assert!(Sha::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn names_follow_the_rules() {
        assert!(Name::parse("shop-api").is_ok());
        assert!(Name::parse("").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse(&"é".repeat(200)).is_ok());
        assert!(Name::parse("a\nb").is_err());
    }
}
