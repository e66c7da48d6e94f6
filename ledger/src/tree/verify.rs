//! Checking inclusion and consistency proofs.

use ct_merkle::RootHash;
use sha2::Sha256;

use super::{check_size, ProofPlan, TreeError};
use crate::hash::Hash;

/// Why an inclusion proof was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InclusionError {
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(
        "the proof has {got} hashes, a leaf at index {index} of a tree of {size} needs {expected}"
    )]
    WrongLength {
        index: u64,
        size: u64,
        expected: usize,
        got: usize,
    },
    #[error("the proof does not lead from the leaf hash to the root: the leaf is not at that index in that tree")]
    RootMismatch,
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.
///
/// Takes the leaf *hash* (what a receipt carries), which ct-merkle's `verify_inclusion` cannot (it
/// hashes the leaf value itself), so this follows RFC 9162 §2.1.3.2 directly; the tests check it
/// agrees with ct-merkle on every small tree and every corrupted proof.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), InclusionError> {
    check_size(size)?;
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size }.into());
    }
    let expected = ProofPlan::inclusion(index, size)?.proof_len();
    if proof.len() != expected {
        return Err(InclusionError::WrongLength {
            index,
            size,
            expected,
            got: proof.len(),
        });
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(InclusionError::RootMismatch);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = Hash::node(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = Hash::node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 || r != *root {
        return Err(InclusionError::RootMismatch);
    }
    Ok(())
}

/// Why a consistency proof was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConsistencyError {
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("the proof has {got} hashes, sizes {old} to {new} need {expected}")]
    WrongLength {
        old: u64,
        new: u64,
        expected: usize,
        got: usize,
    },
    #[error("the two trees have the same size {size} but different roots")]
    SameSizeDifferentRoots { size: u64 },
    #[error("the tree of size {new} does not extend the tree of size {old}: the log was rewritten or the proof is wrong")]
    NotAnExtension { old: u64, new: u64 },
}

/// Checks that the tree `(new, new_root)` extends the tree `(old, old_root)`: no leaf of the old
/// tree was changed, removed or reordered. The hashing is ct-merkle's `verify_consistency`.
pub fn verify_consistency(
    old: u64,
    old_root: &Hash,
    new: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ConsistencyError> {
    let expected = ProofPlan::consistency(old, new)?.proof_len();
    if proof.len() != expected {
        return Err(ConsistencyError::WrongLength {
            old,
            new,
            expected,
            got: proof.len(),
        });
    }
    if old == 0 {
        // Every tree extends the empty one (RFC 9162 §2.1.4.2).
        return Ok(());
    }
    if old == new {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ConsistencyError::SameSizeDifferentRoots { size: old })
        };
    }
    let old_ct = RootHash::<Sha256>::new(old_root.0.into(), old);
    let new_ct = RootHash::<Sha256>::new(new_root.0.into(), new);
    let bytes: Vec<u8> = proof.iter().flat_map(|h| h.0).collect();
    let proof_ct = ct_merkle::ConsistencyProof::<Sha256>::try_from_bytes(bytes)
        .map_err(|_| ConsistencyError::NotAnExtension { old, new })?;
    new_ct
        .verify_consistency(&old_ct, &proof_ct)
        .map_err(|_| ConsistencyError::NotAnExtension { old, new })
}
