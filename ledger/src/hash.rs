//! The tree's two hash functions (RFC 6962 §2.1): a leaf is `SHA-256(0x00 || bytes)`, an interior
//! node `SHA-256(0x01 || left || right)`. The distinct prefixes keep a leaf from ever being read
//! as a node (second-preimage resistance), which is why a bare SHA-256 of the entry is not used.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// One SHA-256 value in the tree: a leaf hash, a subtree hash or a root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

/// The root of the empty tree: SHA-256 of no bytes (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// Why a text could not be read as a hash.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashTextError {
    #[error("not standard base64 with padding")]
    Base64,
    #[error("not hexadecimal")]
    Hex,
    #[error("decodes to {0} bytes, a SHA-256 hash has 32")]
    Length(usize),
}

impl Hash {
    /// `SHA-256(0x00 || leaf)`.
    pub fn leaf(leaf: &[u8]) -> Hash {
        let mut h = Sha256::new();
        h.update([0x00]);
        h.update(leaf);
        Hash(h.finalize().into())
    }

    /// `SHA-256(0x01 || left || right)`.
    pub fn node(left: &Hash, right: &Hash) -> Hash {
        let mut h = Sha256::new();
        h.update([0x01]);
        h.update(left.0);
        h.update(right.0);
        Hash(h.finalize().into())
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Strict: standard alphabet, padding required, no stray bits, exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, HashTextError> {
        let bytes = STANDARD.decode(text).map_err(|_| HashTextError::Base64)?;
        Hash::from_slice(&bytes)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Result<Hash, HashTextError> {
        let bytes = hex::decode(text).map_err(|_| HashTextError::Hex)?;
        Hash::from_slice(&bytes)
    }

    fn from_slice(bytes: &[u8]) -> Result<Hash, HashTextError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| HashTextError::Length(bytes.len()))?;
        Ok(Hash(array))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT.0[..], Sha256::digest(b"")[..]);
    }

    #[test]
    fn leaf_and_node_hashes_use_distinct_prefixes() {
        // RFC 6962 test data (certificate-transparency rfc6962 hasher tests): the empty leaf.
        assert_eq!(
            Hash::leaf(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let (l, r) = (Hash::leaf(b"N123"), Hash::leaf(b"N456"));
        let mut concatenated = l.0.to_vec();
        concatenated.extend_from_slice(&r.0);
        assert_ne!(Hash::node(&l, &r), Hash::leaf(&concatenated));
        assert_ne!(Hash::node(&l, &r), Hash::node(&r, &l));
    }

    #[test]
    fn base64_is_read_strictly() {
        let h = Hash::leaf(b"x");
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        let unpadded = h.to_base64().trim_end_matches('=').to_owned();
        assert_eq!(Hash::from_base64(&unpadded), Err(HashTextError::Base64));
        assert_eq!(Hash::from_base64("AAAA"), Err(HashTextError::Length(3)));
        assert_eq!(Hash::from_base64("!!!!"), Err(HashTextError::Base64));
        assert_eq!(Hash::from_hex("00"), Err(HashTextError::Length(1)));
    }
}
