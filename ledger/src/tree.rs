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

use ct_merkle::RootHash;
use sha2::Sha256;

use crate::hash::{Hash, EMPTY_ROOT};

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

fn check_size(size: u64) -> Result<(), TreeError> {
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
fn perfect_cover(mut start: u64, end: u64, out: &mut Vec<NodeId>) {
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
fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_ROOT;
    };
    iter.fold(*last, |acc, left| Hash::node(left, &acc))
}

/// ct-merkle numbers nodes in-order (leaf `i` is `2i`, a node's level is its number of trailing
/// one bits). Turns such a number into the leaves it covers in a tree of `size` leaves.
fn inorder_to_leaves(inorder: u64, size: u64) -> Range<u64> {
    let level = inorder.trailing_ones();
    let start = (inorder >> (level + 1)) << level;
    start..(start + (1u64 << level)).min(size)
}

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
    /// nodes a [`Frontier`] of that size holds.
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

/// The right edge of the tree: one perfect subtree per set bit of the size, largest first. This is
/// all a sequencer needs to append leaves and compute the new root; it never rereads old leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Rebuilds the frontier of a tree of `size` leaves from the hashes of
    /// `ProofPlan::root(size).nodes()`, as a sequencer does after taking over from another.
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Result<Frontier, TreeError> {
        check_size(size)?;
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(TreeError::FrontierShape {
                size,
                expected,
                got: hashes.len(),
            });
        }
        Ok(Frontier { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The nodes of the frontier with their hashes, largest first.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, Hash)> + '_ {
        let mut ids = Vec::with_capacity(self.hashes.len());
        perfect_cover(0, self.size, &mut ids);
        ids.into_iter().zip(self.hashes.iter().copied())
    }

    pub fn root(&self) -> Hash {
        fold_right(&self.hashes)
    }

    /// Appends one leaf hash and reports through `written` every perfect node that now exists and
    /// did not before: the leaf itself (level 0) and each subtree it completes. A store that saves
    /// these can answer any later proof. Returns the leaf's index.
    pub fn append(
        &mut self,
        leaf: Hash,
        mut written: impl FnMut(NodeId, Hash),
    ) -> Result<u64, TreeError> {
        let index = self.size;
        check_size(index + 1)?;
        written(NodeId::leaf(index), leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        let mut position = index;
        // Each trailing one bit of the old size is a perfect sibling on the left to merge with.
        while position & 1 == 1 {
            let left = self.hashes.pop().expect("a set bit has its subtree");
            hash = Hash::node(&left, &hash);
            level += 1;
            position >>= 1;
            written(
                NodeId {
                    level,
                    index: position,
                },
                hash,
            );
        }
        self.hashes.push(hash);
        self.size = index + 1;
        Ok(index)
    }
}

/// A store that keeps every perfect node in memory: for tests, the benchmark and offline tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    /// `levels[k][i]` is the node at level `k`, index `i`.
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

/// A node the memory store has not got.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no node at level {} index {}", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    pub fn append(&mut self, leaf: Hash) -> Result<u64, TreeError> {
        let levels = &mut self.levels;
        self.frontier.append(leaf, |id, hash| {
            let level = usize::from(id.level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(levels[level].len() as u64, id.index);
            levels[level].push(hash);
        })
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }
}

impl NodeStore for MemoryStore {
    type Error = MissingNode;

    fn subtree_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        nodes
            .iter()
            .map(|id| {
                usize::try_from(id.index)
                    .ok()
                    .and_then(|i| self.levels.get(usize::from(id.level))?.get(i))
                    .copied()
                    .ok_or(MissingNode(*id))
            })
            .collect()
    }
}

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
