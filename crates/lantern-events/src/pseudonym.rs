//! Keyed pseudonyms for person fields (governance.md rule 1).
//!
//! A person's name never gets past parsing: the parser takes a
//! [`Pseudonymiser`] and stores only `HMAC-SHA256(key, name)`. The key lives
//! in a file beside the database, never in it, so a copied database alone
//! cannot be reversed by guessing names.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A keyed pseudonym. Its only use is counting distinct contributors;
/// `Debug` hides it so that it cannot leak into logs by accident.
/// Shared, so the commits of one author cost one allocation.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pseudonym(std::sync::Arc<str>);

impl Pseudonym {
    /// For the store, which reads back what it wrote.
    pub fn from_stored(hex: String) -> Self {
        Pseudonym(hex.into())
    }

    pub fn as_stored(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonym(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the pseudonymisation key {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot create the pseudonymisation key {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error(
        "the pseudonymisation key {path} is damaged: expected 64 hex digits; restore it from backup (a new key would make every contributor count wrong)"
    )]
    Damaged { path: PathBuf },
    #[error("no secure random source: {0}")]
    Random(String),
}

#[derive(Clone)]
pub struct Pseudonymiser {
    /// HMAC's state once the key's inner and outer blocks are hashed,
    /// cloned for each name: two SHA-256 blocks of four saved on each of
    /// an import's five million authors.
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymiser(..)")
    }
}

impl Pseudonymiser {
    pub fn from_key(key: [u8; 32]) -> Self {
        let keyed =
            <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC accepts keys of any length");
        Pseudonymiser { keyed }
    }

    /// The key file that belongs to a database file: `<db>.key`.
    pub fn key_path_for(db_path: &Path) -> PathBuf {
        let mut name = db_path.as_os_str().to_owned();
        name.push(".key");
        PathBuf::from(name)
    }

    /// Loads the key at `path`, creating it (mode 0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match fs::read_to_string(path) {
            Ok(text) => Self::decode(text.trim()).ok_or_else(|| KeyError::Damaged {
                path: path.to_path_buf(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create(path),
            Err(source) => Err(KeyError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes a new key whole beside `path`, then links it into place:
    /// the link is atomic and never replaces a file, so processes starting
    /// together (replicas) all end up reading one complete key — the first
    /// one linked — and never a half-written file.
    fn create(path: &Path) -> Result<Self, KeyError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| KeyError::Random(e.to_string()))?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        // Named apart from other processes' (never after the key itself).
        let mut nonce = [0u8; 4];
        getrandom::fill(&mut nonce).map_err(|e| KeyError::Random(e.to_string()))?;
        let mut staged = path.as_os_str().to_owned();
        staged.push(format!(".{}-{}.new", std::process::id(), hex(&nonce)));
        let staged = PathBuf::from(staged);
        let write = |options: &OpenOptions, at: &Path| -> io::Result<()> {
            let mut file = options.open(at)?;
            file.write_all(hex(&key).as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        };
        let created = write(&options, &staged).and_then(|()| {
            let linked = fs::hard_link(&staged, path);
            let _ = fs::remove_file(&staged);
            linked
        });
        match created {
            Ok(()) => Ok(Pseudonymiser::from_key(key)),
            // Another process linked its key first: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::load_or_create(path),
            Err(source) => Err(KeyError::Create {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn decode(text: &str) -> Option<Self> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(text, &mut key).ok()?;
        Some(Pseudonymiser::from_key(key))
    }

    pub fn pseudonymise(&self, person: &str) -> Pseudonym {
        let mut mac = self.keyed.clone();
        mac.update(person.as_bytes());
        Pseudonym(hex(&mac.finalize().into_bytes()).into())
    }

    /// A number in [0, 1) fixed by the key and `data`: for sampling that
    /// must choose the same way every time (a re-sent event) yet cannot be
    /// predicted or steered without the key. `domain` keeps uses apart.
    pub fn keyed_unit(&self, domain: &str, data: &str) -> f64 {
        let mut mac = self.keyed.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(data.as_bytes());
        let bytes = mac.finalize().into_bytes();
        let mut top = [0u8; 8];
        top.copy_from_slice(&bytes[..8]);
        // 53 bits: every value is an exact double below 1.
        (u64::from_be_bytes(top) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The lower-case hex digits, by value: `hex` and `Sha::hex` write by
/// table.
pub(crate) const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex digits of `bytes`: keys, digests, token secrets.
pub fn hex(bytes: &[u8]) -> String {
    // By table: `hex::encode` went a char at a time through an iterator,
    // 2 % of an import's parsing.
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pseudonym_is_the_hex_of_hmac_sha256_of_the_name_as_every_version_stored_it() {
        let key = [9u8; 32];
        for name in ["dev-17", "", "Ådne Ødegård"] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
            mac.update(name.as_bytes());
            let expected = hex::encode(mac.finalize().into_bytes());
            assert_eq!(
                Pseudonymiser::from_key(key).pseudonymise(name).as_stored(),
                expected
            );
        }
        assert_eq!(hex(&[0x00, 0x9f, 0xa0, 0xff]), "009fa0ff");
    }

    #[test]
    fn same_person_same_pseudonym_different_key_different_pseudonym() {
        let a = Pseudonymiser::from_key([1; 32]);
        let b = Pseudonymiser::from_key([2; 32]);
        assert_eq!(a.pseudonymise("dev-17"), a.pseudonymise("dev-17"));
        assert_ne!(a.pseudonymise("dev-17"), a.pseudonymise("dev-18"));
        assert_ne!(a.pseudonymise("dev-17"), b.pseudonymise("dev-17"));
        assert!(!a.pseudonymise("dev-17").as_stored().contains("dev-17"));
    }

    #[test]
    fn processes_creating_the_key_together_all_read_one_whole_key() {
        for _ in 0..200 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("shared.key");
            let start = std::sync::Barrier::new(8);
            let keys: Vec<String> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            Pseudonymiser::load_or_create(&path)
                                .unwrap()
                                .pseudonymise("x")
                                .as_stored()
                                .to_string()
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
            // Nothing staged is left beside it.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = Pseudonymiser::key_path_for(&dir.path().join("lantern.db"));
        assert!(path.ends_with("lantern.db.key"));
        let first = Pseudonymiser::load_or_create(&path).unwrap();
        let second = Pseudonymiser::load_or_create(&path).unwrap();
        assert_eq!(first.pseudonymise("x"), second.pseudonymise("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_key_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            Pseudonymiser::load_or_create(&path),
            Err(KeyError::Damaged { .. })
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key");
    }
}
