//! The RFC 6962 Merkle tree over the log's leaves, stored as perfect subtrees.
//!
//! Why not `ct_merkle::mem_backed_tree::MemoryBackedTree`: it keeps every leaf and node in memory
//! and proves only against its current size, while the service keeps its tree in SQL tables and
//! must answer for any checkpointed size. So the tree is kept as *perfect subtrees* (a node that
//! covers `2^level` leaves starting at `index << level`; level 0 is the leaf hash). Such a node
//! never changes once written, whatever the tree grows to, so a store can write it once and never
//! update it. ct-merkle still decides *which* nodes a proof needs
//! ([`ct_merkle::indices_for_inclusion_proof`], [`ct_merkle::indices_for_consistency_proof`]) and
//! checks consistency proofs; a node it names that is not perfect at the proven size (the right
//! edge of a tree whose size is not a power of two) is rebuilt here from at most `log2(size)`
//! perfect ones.
//!
//! Proof generation is split in two so an async SQL store can sit in the middle: a [`ProofPlan`]
//! lists the perfect nodes needed (`O(log n)`), the caller fetches them in one query, and the plan
//! assembles the proof. [`NodeStore`] is the same for synchronous stores.

use std::ops::Range;

use crate::hash::{Hash, EMPTY_ROOT};

mod frontier;
mod plan;
mod verify;

pub use frontier::{Frontier, MemoryStore, MissingNode};
pub use plan::{prove_consistency, prove_inclusion, root_at, NodeStore, ProofPlan, ProveError};
pub use verify::{verify_consistency, verify_inclusion, ConsistencyError, InclusionError};

/// Largest tree this crate handles: ct-merkle's index arithmetic is defined up to 2^63 leaves;
/// 2^62 leaves leave a margin and are far beyond any audit log.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// A perfect subtree: covers leaves `[index << level, (index + 1) << level)`. Level 0 is a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn leaf(index: u64) -> NodeId {
        NodeId { level: 0, index }
    }

    /// The leaves this node covers.
    pub fn leaves(&self) -> Range<u64> {
        let start = self.index << self.level;
        start..start + (1u64 << self.level)
    }
}

/// A tree size or index the crate will not work with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TreeError {
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is larger than the supported {max}")]
    TooLarge { size: u64, max: u64 },
    #[error("cannot prove consistency from size {old} to the smaller size {new}")]
    OldLarger { old: u64, new: u64 },
    #[error("the store returned {got} hashes for {asked} nodes")]
    WrongHashCount { asked: usize, got: usize },
    #[error("a frontier of size {size} has {expected} nodes, {got} were given")]
    FrontierShape {
        size: u64,
        expected: usize,
        got: usize,
    },
}

pub(crate) fn check_size(size: u64) -> Result<(), TreeError> {
    if size > MAX_TREE_SIZE {
        return Err(TreeError::TooLarge {
            size,
            max: MAX_TREE_SIZE,
        });
    }
    Ok(())
}

/// The perfect subtrees that make up leaves `[start, end)`, left to right, largest first.
/// `start` must be aligned so that the range is one node of an RFC 6962 tree (or the whole tree).
pub(crate) fn perfect_cover(mut start: u64, end: u64, out: &mut Vec<NodeId>) {
    while start < end {
        let remaining = end - start;
        // Largest power of two that fits in the remainder and keeps `start` aligned.
        let mut level = 63 - remaining.leading_zeros();
        if start != 0 {
            level = level.min(start.trailing_zeros());
        }
        out.push(NodeId {
            level: level as u8,
            index: start >> level,
        });
        start += 1u64 << level;
    }
}

/// Combines the perfect subtrees of one RFC 6962 node (largest first) into its hash: the tree is
/// left-balanced, so the hash is a fold from the right.
pub(crate) fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_ROOT;
    };
    iter.fold(*last, |acc, left| Hash::node(left, &acc))
}

/// ct-merkle numbers nodes in-order (leaf `i` is `2i`, a node's level is its number of trailing
/// one bits). Turns such a number into the leaves it covers in a tree of `size` leaves.
pub(crate) fn inorder_to_leaves(inorder: u64, size: u64) -> Range<u64> {
    let level = inorder.trailing_ones();
    let start = (inorder >> (level + 1)) << level;
    start..(start + (1u64 << level)).min(size)
}
