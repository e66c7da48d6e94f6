//! Receipts and offline proofs: what a bank keeps and checks without asking the service.
//!
//! A score response carries a [`Receipt`] (event id and leaf hash). Later the bank fetches a
//! proof in the C2SP `tlog-proof` text format (the index, the inclusion path and a signed
//! checkpoint) and checks it with the log's public key:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 opaque data: here, the event id>
//! index <leaf index>
//! <base64 hash>            (the inclusion path, leaf's sibling first; zero or more lines)
//!
//! <checkpoint, verbatim, with its signature lines>
//! ```

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::hash::Hash;
use crate::note::{LogVerifier, NoteError, MAX_NOTE_BYTES};
use crate::tree::{verify_inclusion, InclusionError};

const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// A path has at most 63 hashes in a tree of fewer than 2^63 leaves.
const MAX_PATH: usize = 63;

/// What a partner receives with each audited response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The server-assigned ULID of the entry.
    pub event_id: String,
    /// Base64 of `SHA-256(0x00 || leaf bytes)`.
    pub leaf_hash: String,
}

/// What is wrong with a proof text. Line numbers count from 1.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofTextError {
    #[error("the proof is {0} bytes, more than a proof can be")]
    TooLarge(usize),
    #[error("line 1: expected {HEADER:?}")]
    Header,
    #[error("line {line}: expected \"index <decimal without leading zeros>\"")]
    Index { line: usize },
    #[error("line {line}: the extra data is not standard base64")]
    Extra { line: usize },
    #[error("line {line}: not a 32-byte hash in standard base64")]
    PathHash { line: usize },
    #[error("the inclusion path has more than {MAX_PATH} hashes")]
    PathTooLong,
    #[error("no blank line before the checkpoint")]
    NoCheckpoint,
}

/// A C2SP tlog-proof: an entry's index, its inclusion path and the checkpoint it leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Unauthenticated context; this service puts the event id here.
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub path: Vec<Hash>,
    /// The signed checkpoint text, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.path {
            out.push_str(&hash.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    pub fn parse(text: &str) -> Result<TlogProof, ProofTextError> {
        let limit = MAX_NOTE_BYTES + 200 + MAX_PATH * 45;
        if text.len() > limit {
            return Err(ProofTextError::TooLarge(text.len()));
        }
        let mut rest = text;
        let mut line_no = 0;
        let mut next_line = |rest: &mut &str| -> Option<(usize, String)> {
            let (line, tail) = rest.split_once('\n')?;
            *rest = tail;
            line_no += 1;
            Some((line_no, line.to_owned()))
        };
        match next_line(&mut rest) {
            Some((_, line)) if line == HEADER => {}
            _ => return Err(ProofTextError::Header),
        }
        let (mut n, mut line) = next_line(&mut rest).ok_or(ProofTextError::Index { line: 2 })?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| ProofTextError::Extra { line: n })?,
            );
            (n, line) = next_line(&mut rest).ok_or(ProofTextError::Index { line: n + 1 })?;
        }
        let index = line
            .strip_prefix("index ")
            .filter(|d| {
                !d.is_empty()
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && !(d.len() > 1 && d.starts_with('0'))
            })
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or(ProofTextError::Index { line: n })?;
        let mut path = Vec::new();
        loop {
            let (n, line) = next_line(&mut rest).ok_or(ProofTextError::NoCheckpoint)?;
            if line.is_empty() {
                break;
            }
            if path.len() == MAX_PATH {
                return Err(ProofTextError::PathTooLong);
            }
            path.push(Hash::from_base64(&line).map_err(|_| ProofTextError::PathHash { line: n })?);
        }
        Ok(TlogProof {
            extra,
            index,
            path,
            checkpoint: rest.to_owned(),
        })
    }
}

/// How the leaf is known to the verifier.
#[derive(Clone, Copy, Debug)]
pub enum Leaf<'a> {
    /// The leaf bytes (an auditor with the entry): hashed here.
    Bytes(&'a [u8]),
    /// Only the leaf hash (a bank with a receipt).
    Hash(Hash),
}

impl Leaf<'_> {
    pub fn hash(&self) -> Hash {
        match self {
            Leaf::Bytes(bytes) => Hash::leaf(bytes),
            Leaf::Hash(hash) => *hash,
        }
    }
}

/// Which check of a receipt failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    #[error("the proof text: {0}")]
    ProofText(#[from] ProofTextError),
    #[error("the checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    #[error("the receipt's leaf hash is not base64 of 32 bytes")]
    ReceiptHash,
    #[error("the leaf bytes hash to {computed}, the receipt says {receipt}")]
    LeafMismatch { computed: String, receipt: String },
    #[error("the inclusion proof: {0}")]
    Inclusion(#[from] InclusionError),
}

/// A receipt that checked out: the entry is leaf `index` of the signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    pub checkpoint: Checkpoint,
    pub index: u64,
    pub leaf_hash: Hash,
}

/// Checks, in order: the checkpoint's signature by `verifier` (and its format), then that the
/// path leads from the leaf hash at `index` to the checkpoint's root.
pub fn verify_inclusion_in_checkpoint(
    verifier: &LogVerifier,
    checkpoint_note: &str,
    index: u64,
    path: &[Hash],
    leaf: Leaf<'_>,
) -> Result<VerifiedReceipt, ReceiptError> {
    let checkpoint = verifier.verify_checkpoint(checkpoint_note)?;
    let leaf_hash = leaf.hash();
    verify_inclusion(&leaf_hash, index, checkpoint.size, path, &checkpoint.root)?;
    Ok(VerifiedReceipt {
        checkpoint,
        index,
        leaf_hash,
    })
}

/// Checks a tlog-proof for a receipt; when the leaf bytes are given too, they must hash to the
/// receipt's leaf hash. `checkpoint_override` replaces the proof's checkpoint (a bank may hold a
/// checkpoint it got elsewhere, e.g. from the witness file; the path must then be for its size).
pub fn verify_receipt(
    verifier: &LogVerifier,
    receipt: &Receipt,
    proof: &TlogProof,
    checkpoint_override: Option<&str>,
    leaf_bytes: Option<&[u8]>,
) -> Result<VerifiedReceipt, ReceiptError> {
    let receipt_hash =
        Hash::from_base64(&receipt.leaf_hash).map_err(|_| ReceiptError::ReceiptHash)?;
    if let Some(bytes) = leaf_bytes {
        let computed = Hash::leaf(bytes);
        if computed != receipt_hash {
            return Err(ReceiptError::LeafMismatch {
                computed: computed.to_base64(),
                receipt: receipt.leaf_hash.clone(),
            });
        }
    }
    let note = checkpoint_override.unwrap_or(&proof.checkpoint);
    verify_inclusion_in_checkpoint(
        verifier,
        note,
        proof.index,
        &proof.path,
        Leaf::Hash(receipt_hash),
    )
}
