//! The sequencer's view of the tree, and a store that keeps every node in memory.

use super::{check_size, fold_right, perfect_cover, NodeId, NodeStore, TreeError};
use crate::hash::Hash;

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
