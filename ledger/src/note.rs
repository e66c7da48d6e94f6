//! Checkpoints (C2SP `tlog-checkpoint`) as signed notes (C2SP `signed-note`) with Ed25519 keys.
//!
//! ```text
//! <origin>
//! <tree size>
//! <base64 root hash>
//! [extension lines]
//!
//! — <key name> base64(key id (4 bytes) || Ed25519 signature (64 bytes))
//! ```
//!
//! The signature covers the note text: every line before the blank line, each with its newline.
//! Key id = first 4 bytes of `SHA-256(key name || 0x0A || 0x01 || public key)`. The log's key name
//! is its origin. Parsing is strict: anything the formats do not allow is refused, with the line.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::checkpoint::Checkpoint;

/// Signature type byte for Ed25519 in C2SP signed-note.
const ED25519_TYPE: u8 = 0x01;
/// U+2014 EM DASH then a space: how every signature line starts.
const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// A checkpoint of ours is under 300 bytes; the bound keeps a hostile file from costing memory.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// The signed-note spec asks verifiers to accept at least 16 signatures.
pub const MAX_SIGNATURES: usize = 32;

/// What is wrong with a note, key or checkpoint text. Line numbers count from 1.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("the note is {0} bytes, more than the {MAX_NOTE_BYTES} accepted")]
    TooLarge(usize),
    #[error("line {line}: control character U+{code:04X} (only newline is allowed)")]
    ControlCharacter { line: usize, code: u32 },
    #[error("the note does not end with a newline")]
    NoFinalNewline,
    #[error("no blank line separates the text from the signatures")]
    NoBlankLine,
    #[error("line {line}: a signature line must be \"— <key name> <base64 signature>\"")]
    BadSignatureLine { line: usize },
    #[error("line {line}: the key name must be non-empty, without spaces or '+'")]
    BadKeyName { line: usize },
    #[error("line {line}: the signature is not standard base64 of at least 5 bytes")]
    BadSignatureBase64 { line: usize },
    #[error("the note has no signature")]
    NoSignatures,
    #[error("the note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("line {line}: {what}")]
    Checkpoint { line: usize, what: &'static str },
    #[error("the checkpoint's origin {origin:?} is not the key's name {key_name:?}")]
    OriginMismatch { origin: String, key_name: String },
    #[error("no signature by key {key_name} ({key_id}); signed by: {seen}")]
    NoSignatureFromKey {
        key_name: String,
        key_id: String,
        seen: String,
    },
    #[error("the signature by key {key_name} ({key_id}) does not verify: the checkpoint was altered or signed by another key")]
    BadSignature { key_name: String, key_id: String },
    #[error("public key: {0}")]
    BadVerifierKey(&'static str),
}

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, ED25519_TYPE]);
    h.update(public.as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub key_name: String,
    pub key_id: [u8; 4],
    pub signature: Vec<u8>,
}

/// A signed note split into its text and its signature lines (not yet verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    pub fn parse(note: &str) -> Result<SignedNote, NoteError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge(note.len()));
        }
        for (i, line) in note.split('\n').enumerate() {
            if let Some(c) = line.chars().find(|c| (*c as u32) < 0x20) {
                return Err(NoteError::ControlCharacter {
                    line: i + 1,
                    code: c as u32,
                });
            }
        }
        if !note.ends_with('\n') {
            return Err(NoteError::NoFinalNewline);
        }
        // The text ends at the *last* blank line; it keeps its own final newline.
        let split = note.rfind("\n\n").ok_or(NoteError::NoBlankLine)?;
        let text = &note[..split + 1];
        let first_signature_line = text.matches('\n').count() + 2;
        let block = &note[split + 2..];
        let mut signatures = Vec::new();
        for (i, line) in block
            .strip_suffix('\n')
            .unwrap_or(block)
            .split('\n')
            .enumerate()
        {
            let n = first_signature_line + i;
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            let rest = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or(NoteError::BadSignatureLine { line: n })?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(NoteError::BadSignatureLine { line: n })?;
            if !valid_key_name(name) {
                return Err(NoteError::BadKeyName { line: n });
            }
            let bytes = STANDARD
                .decode(b64)
                .map_err(|_| NoteError::BadSignatureBase64 { line: n })?;
            if bytes.len() < 5 {
                return Err(NoteError::BadSignatureBase64 { line: n });
            }
            signatures.push(NoteSignature {
                key_name: name.to_owned(),
                key_id: [bytes[0], bytes[1], bytes[2], bytes[3]],
                signature: bytes[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        Ok(SignedNote {
            text: text.to_owned(),
            signatures,
        })
    }
}

/// The log's signing key with its name (the log's origin).
pub struct LogSigner {
    name: String,
    key: SigningKey,
    key_id: [u8; 4],
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("LogSigner")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

impl LogSigner {
    /// `name` is the log's origin, e.g. `creditbridge.example/audit`.
    pub fn new(name: &str, key: SigningKey) -> Result<LogSigner, NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::BadVerifierKey(
                "the key name must be non-empty, without spaces or '+'",
            ));
        }
        let key_id = key_id(name, &key.verifying_key());
        Ok(LogSigner {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn secret_seed(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    pub fn verifier(&self) -> LogVerifier {
        LogVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            key_id: self.key_id,
        }
    }

    /// The signed checkpoint text. The origin must be the key's name.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<String, NoteError> {
        if checkpoint.origin != self.name {
            return Err(NoteError::OriginMismatch {
                origin: checkpoint.origin.clone(),
                key_name: self.name.clone(),
            });
        }
        let body = checkpoint.body();
        // Never sign a body this crate would refuse to read back.
        Checkpoint::parse_body(&body)?;
        self.sign_note(&body)
    }

    /// Signs any note text (lines ending in newline, no control characters, no trailing blank
    /// line) and returns the signed note.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        if !text.ends_with('\n') || text.ends_with("\n\n") || text == "\n" {
            return Err(NoteError::NoFinalNewline);
        }
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.key_id.to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        let note = format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        );
        // Checks the characters and the shape the way a reader will.
        SignedNote::parse(&note)?;
        Ok(note)
    }
}

/// The log's public key, as a bank or auditor holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogVerifier {
    name: String,
    key: VerifyingKey,
    key_id: [u8; 4],
}

impl LogVerifier {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id_hex(&self) -> String {
        hex::encode(self.key_id)
    }

    /// The verifier key text of C2SP signed-note / Go's `note` package:
    /// `<name>+<hex key id>+<base64(0x01 || public key)>`.
    pub fn to_vkey(&self) -> String {
        let mut typed = vec![ED25519_TYPE];
        typed.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            self.key_id_hex(),
            STANDARD.encode(typed)
        )
    }

    /// Reads a verifier key; the key id in the text must match the one computed from the key.
    pub fn from_vkey(text: &str) -> Result<LogVerifier, NoteError> {
        let text = text.trim_end_matches('\n');
        // splitn: the base64 key may itself contain '+'.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::BadVerifierKey(
                "expected <name>+<hex key id>+<base64 key>",
            ));
        };
        if !valid_key_name(name) {
            return Err(NoteError::BadVerifierKey(
                "the key name must be non-empty, without spaces or '+'",
            ));
        }
        if id_hex.len() != 8
            || !id_hex
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(NoteError::BadVerifierKey(
                "the key id must be 8 lowercase hex digits",
            ));
        }
        let typed = STANDARD
            .decode(key_b64)
            .map_err(|_| NoteError::BadVerifierKey("the key is not standard base64"))?;
        let Some((&ED25519_TYPE, raw)) = typed.split_first() else {
            return Err(NoteError::BadVerifierKey(
                "not an Ed25519 key (type byte 0x01)",
            ));
        };
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| NoteError::BadVerifierKey("an Ed25519 public key has 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&raw)
            .map_err(|_| NoteError::BadVerifierKey("not a valid Ed25519 point"))?;
        if key.is_weak() {
            return Err(NoteError::BadVerifierKey("a weak (small-order) key"));
        }
        let key_id = key_id(name, &key);
        if hex::encode(key_id) != id_hex {
            return Err(NoteError::BadVerifierKey(
                "the key id does not match the key and name",
            ));
        }
        Ok(LogVerifier {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    /// Verifies a signed note and returns its text. Signatures by other keys (witnesses, a
    /// rotated-out key) are ignored, as the signed-note spec requires; the note must carry a
    /// valid signature by this key.
    pub fn verify_note(&self, note: &str) -> Result<String, NoteError> {
        let parsed = SignedNote::parse(note)?;
        let mine = parsed
            .signatures
            .iter()
            .find(|s| s.key_name == self.name && s.key_id == self.key_id);
        let Some(mine) = mine else {
            let seen: Vec<String> = parsed
                .signatures
                .iter()
                .map(|s| format!("{} ({})", s.key_name, hex::encode(s.key_id)))
                .collect();
            return Err(NoteError::NoSignatureFromKey {
                key_name: self.name.clone(),
                key_id: self.key_id_hex(),
                seen: seen.join(", "),
            });
        };
        let bad = || NoteError::BadSignature {
            key_name: self.name.clone(),
            key_id: self.key_id_hex(),
        };
        let signature: [u8; 64] = mine.signature.as_slice().try_into().map_err(|_| bad())?;
        self.key
            .verify_strict(parsed.text.as_bytes(), &Signature::from_bytes(&signature))
            .map_err(|_| bad())?;
        Ok(parsed.text)
    }

    /// Verifies a signed checkpoint and returns it: a valid signature by this key (see
    /// [`LogVerifier::verify_note`]), a well-formed body, and an origin equal to the key's name.
    pub fn verify_checkpoint(&self, note: &str) -> Result<Checkpoint, NoteError> {
        let text = self.verify_note(note)?;
        let checkpoint = Checkpoint::parse_body(&text)?;
        if checkpoint.origin != self.name {
            return Err(NoteError::OriginMismatch {
                origin: checkpoint.origin,
                key_name: self.name.clone(),
            });
        }
        Ok(checkpoint)
    }
}
