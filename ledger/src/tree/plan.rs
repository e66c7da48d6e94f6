//! Which stored nodes a proof needs, and proofs from any store of perfect subtrees.

use std::ops::Range;

use super::{check_size, fold_right, inorder_to_leaves, perfect_cover, NodeId, TreeError};
use crate::hash::{Hash, EMPTY_ROOT};

/// Which perfect nodes a proof (or a root) needs, and how to assemble them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    nodes: Vec<NodeId>,
    /// For each proof element, how many consecutive entries of `nodes` fold into it.
    groups: Vec<usize>,
}

impl ProofPlan {
    fn from_ranges(ranges: impl IntoIterator<Item = Range<u64>>) -> ProofPlan {
        let mut nodes = Vec::new();
        let mut groups = Vec::new();
        for range in ranges {
            let before = nodes.len();
            perfect_cover(range.start, range.end, &mut nodes);
            groups.push(nodes.len() - before);
        }
        ProofPlan { nodes, groups }
    }

    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1).
    pub fn inclusion(index: u64, size: u64) -> Result<ProofPlan, TreeError> {
        check_size(size)?;
        if index >= size {
            return Err(TreeError::IndexOutOfRange { index, size });
        }
        let inorder = ct_merkle::indices_for_inclusion_proof(size, index);
        Ok(ProofPlan::from_ranges(
            inorder.into_iter().map(|i| inorder_to_leaves(i, size)),
        ))
    }

    /// The consistency proof from size `old` to size `new` (RFC 6962 §2.1.2). Empty when `old` is
    /// 0 or equal to `new` (RFC 9162 §2.1.4).
    pub fn consistency(old: u64, new: u64) -> Result<ProofPlan, TreeError> {
        check_size(new)?;
        if old > new {
            return Err(TreeError::OldLarger { old, new });
        }
        if old == 0 || old == new {
            return Ok(ProofPlan::from_ranges([]));
        }
        let inorder = ct_merkle::indices_for_consistency_proof(old, new - old);
        Ok(ProofPlan::from_ranges(
            inorder.into_iter().map(|i| inorder_to_leaves(i, new)),
        ))
    }

    /// The perfect subtrees whose fold is the root of the tree of `size` leaves: also exactly the
    /// nodes a [`Frontier`](super::Frontier) of that size holds.
    pub fn root(size: u64) -> Result<ProofPlan, TreeError> {
        check_size(size)?;
        Ok(ProofPlan::from_ranges(std::iter::once(0..size)))
    }

    /// The perfect nodes to fetch, in the order [`ProofPlan::assemble`] expects their hashes.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Number of hashes in the finished proof.
    pub fn proof_len(&self) -> usize {
        self.groups.len()
    }

    /// Builds the proof (or, for [`ProofPlan::root`], the one-element root) from the fetched
    /// hashes, given in the order of [`ProofPlan::nodes`].
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, TreeError> {
        if hashes.len() != self.nodes.len() {
            return Err(TreeError::WrongHashCount {
                asked: self.nodes.len(),
                got: hashes.len(),
            });
        }
        let mut out = Vec::with_capacity(self.groups.len());
        let mut at = 0;
        for &n in &self.groups {
            out.push(fold_right(&hashes[at..at + n]));
            at += n;
        }
        Ok(out)
    }
}

/// Where the tree's perfect subtrees are kept (SQL table, memory, files).
pub trait NodeStore {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The hashes of the given perfect subtrees, in the order asked. A node the store does not
    /// hold is an error of the store (it means the sequencer has not written it, or it was lost).
    fn subtree_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

/// A proof could not be produced: bad sizes, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum ProveError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("reading tree nodes: {0}")]
    Store(#[source] E),
}

fn run_plan<S: NodeStore>(store: &S, plan: &ProofPlan) -> Result<Vec<Hash>, ProveError<S::Error>> {
    let hashes = store
        .subtree_hashes(plan.nodes())
        .map_err(ProveError::Store)?;
    Ok(plan.assemble(&hashes)?)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, reading `O(log size)` nodes.
pub fn prove_inclusion<S: NodeStore>(
    store: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    run_plan(store, &ProofPlan::inclusion(index, size)?)
}

/// The consistency proof from size `old` to size `new`, reading `O(log new)` nodes.
pub fn prove_consistency<S: NodeStore>(
    store: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    run_plan(store, &ProofPlan::consistency(old, new)?)
}

/// The root of the tree of `size` leaves, reading at most `log2(size) + 1` nodes.
pub fn root_at<S: NodeStore>(store: &S, size: u64) -> Result<Hash, ProveError<S::Error>> {
    let plan = ProofPlan::root(size)?;
    Ok(run_plan(store, &plan)?.pop().unwrap_or(EMPTY_ROOT))
}
