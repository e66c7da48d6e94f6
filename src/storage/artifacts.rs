//! The one place model artifacts live on disk: a content-addressed store under the data
//! directory (`<data_dir>/models/sha256/<digest>.json`). The CLI and the server write here, and
//! nothing else does, so a retrain can never overwrite a committed fixture or another model's
//! files: a file's name is the SHA-256 of its content, and the registry records that digest.
//!
//! Loading checks the digest. The registry also keeps a copy of each artifact so that replicas
//! on other hosts can load it; a replica whose store lacks the file takes the registry's copy,
//! checks it against the same digest and writes it into its store.

use std::path::{Path, PathBuf};

use sha2::Digest;

/// Why an artifact could not be stored or loaded. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The bytes at `path` (or the registry's copy) are not the ones registered.
    #[error("{path} does not match its registered SHA-256 {expected} (found {found}): the artifact is corrupted or was replaced, refused")]
    DigestMismatch {
        path: String,
        expected: String,
        found: String,
    },
    #[error("artifact {digest} is neither in {dir} nor in the registry")]
    Missing { digest: String, dir: String },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Hex SHA-256 of an artifact's text.
pub fn digest_of(artifact: &str) -> String {
    hex::encode(sha2::Sha256::digest(artifact.as_bytes()))
}

/// The content-addressed artifact store rooted at `<data_dir>/models`.
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    root: PathBuf,
}

impl ArtifactStore {
    /// The store of the data directory `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        ArtifactStore {
            root: data_dir.join("models"),
        }
    }

    /// Where per-model files other than the artifact (the model card's files) go.
    pub fn cards_dir(&self, model_id: &str) -> PathBuf {
        self.root.join("cards").join(model_id)
    }

    /// Where the artifact with this digest is kept.
    pub fn path(&self, digest: &str) -> PathBuf {
        self.root.join("sha256").join(format!("{digest}.json"))
    }

    /// Stores `artifact` under its digest and returns the digest. Writing the same content twice
    /// is harmless; the file is written aside and renamed, so a reader never sees half of it.
    pub fn put(&self, artifact: &str) -> Result<String, ArtifactError> {
        let digest = digest_of(artifact);
        let path = self.path(&digest);
        if path.exists() && self.read_checked(&path, &digest).is_ok() {
            return Ok(digest);
        }
        let dir = path.parent().expect("a parent");
        std::fs::create_dir_all(dir).map_err(|source| ArtifactError::Io {
            what: "creating",
            path: dir.display().to_string(),
            source,
        })?;
        let tmp = dir.join(format!(".{digest}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, artifact).map_err(|source| ArtifactError::Io {
            what: "writing",
            path: tmp.display().to_string(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| ArtifactError::Io {
            what: "renaming into",
            path: path.display().to_string(),
            source,
        })?;
        Ok(digest)
    }

    /// The artifact registered with `digest`: from the store when the file is there (and it must
    /// match), else the registry's copy `registry_copy` (which must match too), then written to
    /// the store. A mismatch is never served.
    pub fn load(&self, digest: &str, registry_copy: Option<&str>) -> Result<String, ArtifactError> {
        let path = self.path(digest);
        if path.exists() {
            return self.read_checked(&path, digest);
        }
        let Some(copy) = registry_copy.filter(|c| !c.is_empty()) else {
            return Err(ArtifactError::Missing {
                digest: digest.to_owned(),
                dir: self.root.display().to_string(),
            });
        };
        let found = digest_of(copy);
        if found != digest {
            return Err(ArtifactError::DigestMismatch {
                path: format!("the registry's copy of {}", path.display()),
                expected: digest.to_owned(),
                found,
            });
        }
        self.put(copy)?;
        Ok(copy.to_owned())
    }

    fn read_checked(&self, path: &Path, digest: &str) -> Result<String, ArtifactError> {
        let text = std::fs::read_to_string(path).map_err(|source| ArtifactError::Io {
            what: "reading",
            path: path.display().to_string(),
            source,
        })?;
        let found = digest_of(&text);
        if found != digest {
            return Err(ArtifactError::DigestMismatch {
                path: path.display().to_string(),
                expected: digest.to_owned(),
                found,
            });
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_artifact_loads_and_a_tampered_one_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::in_data_dir(dir.path());
        let digest = store.put("{\"a\":1}").unwrap();
        assert_eq!(
            store.put("{\"a\":1}").unwrap(),
            digest,
            "same content, same name"
        );
        assert_eq!(store.load(&digest, None).unwrap(), "{\"a\":1}");
        std::fs::write(store.path(&digest), "{\"a\":2}").unwrap();
        let err = store
            .load(&digest, Some("{\"a\":1}"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&store.path(&digest).display().to_string()),
            "{err}"
        );
        assert!(
            err.contains("does not match its registered SHA-256"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_file_comes_from_the_registry_copy_only_if_it_matches() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::in_data_dir(dir.path());
        let digest = digest_of("{\"b\":1}");
        assert!(store.load(&digest, Some("{\"b\":2}")).is_err());
        assert!(!store.path(&digest).exists());
        assert_eq!(store.load(&digest, Some("{\"b\":1}")).unwrap(), "{\"b\":1}");
        assert!(store.path(&digest).exists(), "written to the store");
        assert!(matches!(
            store.load(&digest_of("x"), None),
            Err(ArtifactError::Missing { .. })
        ));
    }
}
