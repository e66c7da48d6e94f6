//! The log's signing key, outside the database: a file with mode 0600, or an environment variable.
//!
//! The text is Go's `golang.org/x/mod/sumdb/note` signer key format, so the key works with the
//! transparency-dev tools too: `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>`.
//!
//! A key file that group or others may read is refused, not just warned about (as ssh does with
//! private keys): a warning in a log nobody reads would leave a forgeable audit trail. Errors name
//! the file or the variable and never contain key material.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::note::{LogSigner, NoteError};

const PREFIX: &str = "PRIVATE+KEY+";

/// Why the signing key could not be made or read. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("signing key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("signing key file {path} already exists; refusing to overwrite a key")]
    Exists { path: PathBuf },
    #[error("signing key file {path} has mode {mode:04o}: group or others can read it; run `chmod 600 {path}`")]
    Readable { path: PathBuf, mode: u32 },
    #[error("environment variable {var} is not set (it should hold the log's signing key)")]
    EnvMissing { var: String },
    #[error("environment variable {var} is not valid Unicode")]
    EnvNotUnicode { var: String },
    #[error("{source_name}: not a signing key: {reason}")]
    Format {
        source_name: String,
        reason: &'static str,
    },
    #[error("key name: {0}")]
    Name(#[from] NoteError),
}

/// A new random key for the log named `name`, as key text.
pub fn generate(name: &str) -> Result<(LogSigner, Zeroizing<String>), KeyError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(seed.as_mut());
    let signer = LogSigner::new(name, SigningKey::from_bytes(&seed))?;
    let text = to_text(&signer);
    Ok((signer, text))
}

/// The signer key text of `signer` (secret: keep it out of logs).
pub fn to_text(signer: &LogSigner) -> Zeroizing<String> {
    let mut typed = Zeroizing::new(vec![0x01u8]);
    typed.extend_from_slice(signer.secret_seed());
    let id = signer.verifier().key_id_hex();
    Zeroizing::new(format!(
        "{PREFIX}{}+{id}+{}\n",
        signer.name(),
        STANDARD.encode(typed.as_slice())
    ))
}

/// Reads signer key text. `source_name` (file path or variable name) goes into errors.
pub fn from_text(text: &str, source_name: &str) -> Result<LogSigner, KeyError> {
    let bad = |reason| KeyError::Format {
        source_name: source_name.to_owned(),
        reason,
    };
    let rest = text
        .trim_end_matches('\n')
        .strip_prefix(PREFIX)
        .ok_or(bad("it does not start with PRIVATE+KEY+"))?;
    // splitn: the base64 key may itself contain '+'.
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected PRIVATE+KEY+<name>+<hex key id>+<base64 key>"));
    };
    let typed = Zeroizing::new(
        STANDARD
            .decode(key_b64)
            .map_err(|_| bad("the key is not standard base64"))?,
    );
    let Some((&0x01, seed)) = typed.split_first() else {
        return Err(bad("not an Ed25519 key (type byte 0x01)"));
    };
    let seed: &[u8; 32] = seed
        .try_into()
        .map_err(|_| bad("an Ed25519 seed has 32 bytes"))?;
    let signer = LogSigner::new(name, SigningKey::from_bytes(seed))
        .map_err(|_| bad("the key name must be non-empty, without spaces or '+'"))?;
    if signer.verifier().key_id_hex() != id_hex {
        return Err(bad("the key id does not match the key and name"));
    }
    Ok(signer)
}

/// Generates a key for the log `name` into a new file created with mode 0600; never overwrites.
pub fn generate_file(path: &Path, name: &str) -> Result<LogSigner, KeyError> {
    let (signer, text) = generate(name)?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Set at creation, so the key is never readable by others, even for an instant.
        options.mode(0o600);
    }
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_owned(),
            }
        } else {
            io(e)
        }
    })?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        // Leave no half-written key behind for a later start to trip on.
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(io(e));
    }
    Ok(signer)
}

/// Reads the key file, refusing one that group or others may read.
pub fn load_file(path: &Path) -> Result<LogSigner, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    // The mode is checked on the opened file, so it is the file that is then read.
    let mut file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Readable {
                path: path.to_owned(),
                mode,
            });
        }
    }
    if metadata.len() > 4096 {
        return Err(KeyError::Format {
            source_name: path.display().to_string(),
            reason: "the file is larger than any key",
        });
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text).map_err(io)?;
    from_text(&text, &path.display().to_string())
}

/// Reads the key from the environment variable `var`.
pub fn load_env(var: &str) -> Result<LogSigner, KeyError> {
    let text = match std::env::var(var) {
        Ok(text) => Zeroizing::new(text),
        Err(std::env::VarError::NotPresent) => {
            return Err(KeyError::EnvMissing {
                var: var.to_owned(),
            })
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(KeyError::EnvNotUnicode {
                var: var.to_owned(),
            })
        }
    };
    from_text(&text, &format!("environment variable {var}"))
}
