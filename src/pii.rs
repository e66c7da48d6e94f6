//! Personal identity numbers are never stored or logged in clear: the database holds a keyed hash
//! (HMAC-SHA256) for look-ups and at most the last 4 characters.
//!
//! Two keys are involved. The operator's PII key (`CREDITBRIDGE_PII_KEY` or the key file) never
//! hashes anything itself once a database is set up: it wraps (encrypts and authenticates, with
//! ChaCha20-Poly1305) the database's data key, which the database keeps wrapped and which is the
//! key the hashes are made with. Rotating the operator's key re-wraps the data key, so no hash has
//! to be recomputed — which could not be done anyway, since no clear identity number is kept.

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::domain::SubjectId;

/// The server secret behind every subject key. `Debug` never shows it.
#[derive(Clone)]
pub struct PiiKey(Vec<u8>);

#[derive(Debug, thiserror::Error)]
pub enum PiiKeyError {
    #[error("the PII key must be at least 16 bytes (got {len})")]
    TooShort { len: usize },
    #[error("cannot read or create the PII key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    /// The wrapped data key does not open under this key (another key, or a damaged value).
    #[error("the data key does not open under this PII key")]
    Unwrap,
}

/// What the wrapping key is derived under, and what each wrapped value is bound to.
const WRAP_LABEL: &[u8] = b"creditbridge/pii-data-key-wrap/v1";
const WRAP_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

impl PiiKey {
    pub fn new(secret: &[u8]) -> Result<PiiKey, PiiKeyError> {
        if secret.len() < 16 {
            return Err(PiiKeyError::TooShort { len: secret.len() });
        }
        Ok(PiiKey(secret.to_vec()))
    }

    /// Loads the key kept in `path`, creating a random one (hex, mode 0600) on first use. Only for
    /// the embedded single-node setup: replicas sharing PostgreSQL must share one explicit key.
    pub fn load_or_create(path: &Path) -> Result<PiiKey, PiiKeyError> {
        let err = |source| PiiKeyError::File {
            path: path.display().to_string(),
            source,
        };
        if !path.exists() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(err)?;
            }
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            write_private(path, hex::encode(bytes).as_bytes()).map_err(err)?;
        }
        warn_if_shared(path);
        let text = std::fs::read_to_string(path).map_err(err)?;
        PiiKey::new(text.trim().as_bytes())
    }

    /// A new random key (a new database's data key).
    pub fn random() -> PiiKey {
        let mut bytes = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        PiiKey(bytes)
    }

    /// The AEAD key this key wraps with: an HMAC of a fixed label, so the key itself is never
    /// used as a cipher key and may have any length.
    fn wrapping_cipher(&self) -> ChaCha20Poly1305 {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(WRAP_LABEL);
        ChaCha20Poly1305::new(&mac.finalize().into_bytes())
    }

    /// `data` encrypted and authenticated under this key, as `v1:` and the hex of a random
    /// nonce followed by the ciphertext.
    pub fn wrap(&self, data: &PiiKey) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: &data.0,
            aad: WRAP_LABEL,
        };
        let sealed = self
            .wrapping_cipher()
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("encrypting a key in memory cannot fail");
        format!("{WRAP_PREFIX}{}{}", hex::encode(nonce), hex::encode(sealed))
    }

    /// The key `wrapped` holds, if it was wrapped under this key and not altered.
    pub fn unwrap(&self, wrapped: &str) -> Result<PiiKey, PiiKeyError> {
        let bytes = wrapped
            .strip_prefix(WRAP_PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(PiiKeyError::Unwrap)?;
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: sealed,
            aad: WRAP_LABEL,
        };
        let data = self
            .wrapping_cipher()
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| PiiKeyError::Unwrap)?;
        PiiKey::new(&data).map_err(|_| PiiKeyError::Unwrap)
    }

    /// What identifies this key without revealing it: the HMAC of a fixed label, lowercase hex.
    /// Stored at first start; a process holding another key refuses to start.
    pub fn fingerprint(&self) -> String {
        self.subject_key("creditbridge/pii-key-fingerprint/v1")
    }

    /// The look-up key of an identity number: lowercase hex HMAC-SHA256.
    pub fn subject_key(&self, identity_number: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(identity_number.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// How a subject is held in the database: enterprises by their (public) credit code, persons by
/// the keyed hash of their identity number. `masked` is the only form shown to people;
/// `warnings` are what partners are told about the identifier itself ([`SubjectId::warnings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectRef {
    pub subject_type: &'static str,
    pub key: String,
    pub masked: String,
    pub warnings: Vec<String>,
}

impl PiiKey {
    pub fn subject_ref(&self, subject: &SubjectId) -> SubjectRef {
        match subject {
            SubjectId::Enterprise(uscc) => SubjectRef {
                subject_type: "enterprise",
                key: uscc.as_str().to_owned(),
                masked: subject.masked(),
                warnings: subject.warnings(),
            },
            SubjectId::Person(id) => SubjectRef {
                subject_type: "person",
                key: self.subject_key(id.as_str()),
                masked: subject.masked(),
                warnings: subject.warnings(),
            },
        }
    }
}

impl fmt::Debug for PiiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiKey([redacted])")
    }
}

/// A secret or a database readable by other users of the machine is one `cat` from the
/// identity numbers it protects; said at start, not changed behind the operator's back.
#[cfg(unix)]
pub fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "readable by other users: chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
pub fn warn_if_shared(_path: &Path) {}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_tells_keys_apart_without_being_a_subject_key_of_the_key() {
        let a = PiiKey::new(b"0123456789abcdef-a").unwrap();
        let b = PiiKey::new(b"0123456789abcdef-b").unwrap();
        assert_eq!(a.fingerprint(), a.fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(!a.fingerprint().contains("0123456789abcdef"));
    }

    #[test]
    fn the_same_number_under_the_same_key_gives_the_same_subject_key() {
        let key = PiiKey::new(b"0123456789abcdef").unwrap();
        let a = key.subject_key("11010519491231002X");
        assert_eq!(a, key.subject_key("11010519491231002X"));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("11010519491231002X"));
    }

    #[test]
    fn a_different_key_gives_a_different_subject_key() {
        let a = PiiKey::new(b"0123456789abcdef")
            .unwrap()
            .subject_key("11010519491231002X");
        let b = PiiKey::new(b"fedcba9876543210")
            .unwrap()
            .subject_key("11010519491231002X");
        assert_ne!(a, b);
    }

    #[test]
    fn subject_key_matches_the_rfc_4231_hmac_sha256_vector() {
        // RFC 4231 test case 2: key "Jefe" is too short for us, so check the primitive directly.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_wrapped_key_opens_only_under_its_wrapping_key_and_unaltered() {
        let operator = PiiKey::new(b"0123456789abcdef-operator").unwrap();
        let other = PiiKey::new(b"0123456789abcdef-other").unwrap();
        let data = PiiKey::random();
        let wrapped = operator.wrap(&data);
        assert!(wrapped.starts_with("v1:"));
        assert_ne!(wrapped, operator.wrap(&data), "a fresh nonce each time");
        let opened = operator.unwrap(&wrapped).unwrap();
        assert_eq!(opened.subject_key("x"), data.subject_key("x"));
        assert!(matches!(other.unwrap(&wrapped), Err(PiiKeyError::Unwrap)));
        let mut altered = wrapped.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(matches!(
            operator.unwrap(&altered),
            Err(PiiKeyError::Unwrap)
        ));
        for bad in ["", "v1:", "v1:zz", "v2:00"] {
            assert!(operator.unwrap(bad).is_err(), "{bad}");
        }
        assert!(!wrapped.contains(&hex::encode(&data.0)));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(matches!(
            PiiKey::new(b"short"),
            Err(PiiKeyError::TooShort { len: 5 })
        ));
    }

    #[test]
    fn a_created_key_file_is_reused_and_not_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/pii.key");
        let a = PiiKey::load_or_create(&path).unwrap();
        let b = PiiKey::load_or_create(&path).unwrap();
        assert_eq!(a.subject_key("x"), b.subject_key("x"));
        assert_eq!(format!("{a:?}"), "PiiKey([redacted])");
    }
}
