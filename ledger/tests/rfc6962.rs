//! The tree against the RFC 6962 test vectors of the certificate-transparency reference
//! implementation (the 8-leaf tree, as carried by transparency-dev/merkle proof/verify_test.go),
//! against the RFC's own recursive definitions, and against ct-merkle's in-memory tree.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ledger::tree::{
    prove_consistency, prove_inclusion, root_at, verify_consistency, verify_inclusion,
    ConsistencyError, InclusionError, MemoryStore, MissingNode, NodeId, NodeStore, ProofPlan,
    TreeError,
};
use ledger::{Frontier, Hash, EMPTY_ROOT};
use sha2::Sha256;
use std::cell::Cell;

fn h(hex: &str) -> Hash {
    Hash::from_hex(hex).unwrap()
}

fn leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|x| hex::decode(x).unwrap())
    .collect()
}

/// Roots of the trees of the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, path).
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, proof).
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

fn store_of(leaves: &[Vec<u8>]) -> MemoryStore {
    let mut store = MemoryStore::new();
    for leaf in leaves {
        store.append(Hash::leaf(leaf)).unwrap();
    }
    store
}

const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

#[test]
fn roots_of_sizes_1_to_8_match_the_vectors_at_every_size_of_one_store() {
    let leaves = leaves();
    let full = store_of(&leaves);
    let mut frontier = Frontier::new();
    for (n, want) in ROOTS.iter().enumerate() {
        frontier.append(Hash::leaf(&leaves[n]), |_, _| {}).unwrap();
        assert_eq!(frontier.root(), h(want), "frontier root of size {}", n + 1);
        // The stored tree answers for an older size too, without the leaves after it.
        assert_eq!(
            root_at(&full, n as u64 + 1).unwrap(),
            h(want),
            "size {}",
            n + 1
        );
    }
    assert_eq!(root_at(&full, 0).unwrap(), EMPTY_ROOT);
    assert_eq!(Frontier::new().root(), EMPTY_ROOT);
}

#[test]
fn inclusion_proofs_match_the_vectors_and_verify() {
    let leaves = leaves();
    let store = store_of(&leaves);
    for (index, size, path) in inclusion_vectors() {
        let proof = prove_inclusion(&store, index, size).unwrap();
        assert_eq!(proof, path, "leaf {index} of {size}");
        let root = h(ROOTS[size as usize - 1]);
        let leaf = Hash::leaf(&leaves[index as usize]);
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
    }
}

/// The corruptions transparency-dev/merkle tries on each known-good inclusion proof.
#[test]
fn corrupted_inclusion_proofs_are_refused() {
    let leaves = leaves();
    let some = h(SOME_HASH);
    for (index, size, path) in inclusion_vectors() {
        let root = h(ROOTS[size as usize - 1]);
        let leaf = Hash::leaf(&leaves[index as usize]);
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>, String)> = vec![
            (
                index.wrapping_sub(1),
                size,
                root,
                leaf,
                path.clone(),
                "index - 1".into(),
            ),
            (
                index + 1,
                size,
                root,
                leaf,
                path.clone(),
                "index + 1".into(),
            ),
            (
                index ^ 2,
                size,
                root,
                leaf,
                path.clone(),
                "index ^ 2".into(),
            ),
            (index, size * 2, root, leaf, path.clone(), "size * 2".into()),
            (index, size / 2, root, leaf, path.clone(), "size / 2".into()),
            (
                index,
                size,
                root,
                Hash::leaf(b"WrongLeaf"),
                path.clone(),
                "wrong leaf".into(),
            ),
            (
                index,
                size,
                EMPTY_ROOT,
                leaf,
                path.clone(),
                "empty root".into(),
            ),
            (index, size, some, leaf, path.clone(), "random root".into()),
            (
                index,
                size,
                root,
                leaf,
                [path.clone(), vec![root]].concat(),
                "trailing root".into(),
            ),
            (
                index,
                size,
                root,
                leaf,
                [vec![root], path.clone()].concat(),
                "preceding root".into(),
            ),
        ];
        for i in 0..path.len() {
            let mut wrong = path.clone();
            wrong[i].0[0] ^= 8;
            probes.push((
                index,
                size,
                root,
                leaf,
                wrong,
                format!("modified proof[{i}] bit 3"),
            ));
        }
        if !path.is_empty() {
            probes.push((
                index,
                size,
                root,
                leaf,
                path[..path.len() - 1].to_vec(),
                "removed component".into(),
            ));
        }
        if path.len() > 1 {
            let wrong = [vec![path[0], some], path[1..].to_vec()].concat();
            probes.push((index, size, root, leaf, wrong, "inserted component".into()));
        }
        for (i, n, root, leaf, proof, what) in probes {
            // A size * 2 probe of a perfect tree can be a valid different statement only if the
            // root also matches, which it does not: every probe must fail.
            assert!(
                verify_inclusion(&leaf, i, n, &proof, &root).is_err(),
                "{what} verified for leaf {index} of {size}"
            );
        }
    }
}

#[test]
fn consistency_proofs_match_the_vectors_and_verify() {
    let store = store_of(&leaves());
    for (old, new, want) in consistency_vectors() {
        let proof = prove_consistency(&store, old, new).unwrap();
        assert_eq!(proof, want, "{old} -> {new}");
        let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
        verify_consistency(old, &r1, new, &r2, &proof).unwrap();
    }
}

/// The corruptions transparency-dev/merkle tries on each known-good consistency proof.
#[test]
fn corrupted_consistency_proofs_are_refused() {
    for (old, new, proof) in consistency_vectors() {
        if proof.is_empty() {
            continue;
        }
        let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
        let wrong_root = Hash::leaf(b"WrongRoot");
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>, String)> = vec![
            (old - 1, new, r1, r2, proof.clone(), "old - 1".into()),
            (old + 1, new, r1, r2, proof.clone(), "old + 1".into()),
            (old ^ 2, new, r1, r2, proof.clone(), "old ^ 2".into()),
            (old, new * 2, r1, r2, proof.clone(), "new * 2".into()),
            (old, new / 2, r1, r2, proof.clone(), "new / 2".into()),
            (
                old,
                new,
                wrong_root,
                r2,
                proof.clone(),
                "wrong root1".into(),
            ),
            (
                old,
                new,
                r1,
                wrong_root,
                proof.clone(),
                "wrong root2".into(),
            ),
            (old, new, r2, r1, proof.clone(), "swapped roots".into()),
            (old, new, r1, r2, vec![], "empty proof".into()),
            (
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r1]].concat(),
                "trailing root1".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r2]].concat(),
                "trailing root2".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                [vec![r1], proof.clone()].concat(),
                "preceding root1".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                [vec![r2], proof.clone()].concat(),
                "preceding root2".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                [vec![proof[0]], proof.clone()].concat(),
                "preceding proof[0]".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                proof[..proof.len() - 1].to_vec(),
                "truncated proof".into(),
            ),
        ];
        for i in 0..proof.len() {
            let mut wrong = proof.clone();
            wrong[i].0[0] ^= 16;
            probes.push((
                old,
                new,
                r1,
                r2,
                wrong,
                format!("modified proof[{i}] bit 4"),
            ));
        }
        for (a, b, ra, rb, p, what) in probes {
            assert!(
                verify_consistency(a, &ra, b, &rb, &p).is_err(),
                "{what} verified for {old} -> {new}"
            );
        }
    }
}

/// transparency-dev/merkle TestVerifyConsistency's edge cases.
#[test]
fn consistency_edge_cases() {
    let (a, b) = (Hash::leaf(b"don't care 1"), Hash::leaf(b"don't care 2"));
    let e = EMPTY_ROOT;
    assert!(verify_consistency(0, &a, 0, &a, &[]).is_ok());
    assert!(verify_consistency(0, &a, 1, &b, &[]).is_ok());
    assert!(verify_consistency(1, &b, 1, &b, &[]).is_ok());
    assert_eq!(
        verify_consistency(1, &a, 1, &b, &[]),
        Err(ConsistencyError::SameSizeDifferentRoots { size: 1 })
    );
    assert_eq!(
        verify_consistency(1, &a, 0, &b, &[]),
        Err(ConsistencyError::Tree(TreeError::OldLarger {
            old: 1,
            new: 0
        }))
    );
    assert!(verify_consistency(2, &a, 1, &b, &[]).is_err());
    assert!(verify_consistency(1, &a, 2, &b, &[]).is_err());
    assert!(verify_consistency(0, &e, 0, &e, &[e]).is_err());
    assert!(verify_consistency(0, &e, 1, &e, &[e]).is_err());
    assert!(verify_consistency(1, &e, 1, &e, &[e]).is_err());
}

#[test]
fn inclusion_edge_cases() {
    let some = h(SOME_HASH);
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        assert!(matches!(
            verify_inclusion(&some, index, size, &[], &EMPTY_ROOT),
            Err(InclusionError::Tree(TreeError::IndexOutOfRange { .. }))
        ));
    }
    // A one-leaf tree: the root is the leaf hash and the path is empty.
    let leaf = Hash::leaf(b"data");
    assert!(verify_inclusion(&leaf, 0, 1, &[], &leaf).is_ok());
    assert_eq!(
        verify_inclusion(&leaf, 0, 1, &[], &some),
        Err(InclusionError::RootMismatch)
    );
    assert!(matches!(
        verify_inclusion(&leaf, 0, u64::MAX, &[], &some),
        Err(InclusionError::Tree(TreeError::TooLarge { .. }))
    ));
}

// ---- RFC 6962 §2.1, written as the RFC states it, as a second reference. ----

fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => EMPTY_ROOT,
        1 => d[0],
        n => {
            let k = split(n);
            Hash::node(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// The largest power of two smaller than n.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = split(n);
    if m < k {
        [path(m, &d[..k]), vec![mth(&d[k..])]].concat()
    } else {
        [path(m - k, &d[k..]), vec![mth(&d[..k])]].concat()
    }
}

fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = split(n);
    if m <= k {
        [subproof(m, &d[..k], b), vec![mth(&d[k..])]].concat()
    } else {
        [subproof(m - k, &d[k..], false), vec![mth(&d[..k])]].concat()
    }
}

fn leaf_hashes(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| Hash::leaf(format!("leaf {i}").as_bytes()))
        .collect()
}

#[test]
fn every_proof_up_to_70_leaves_is_the_rfc_definition_and_verifies() {
    let all = leaf_hashes(70);
    let mut store = MemoryStore::new();
    for leaf in &all {
        store.append(*leaf).unwrap();
    }
    for n in 1..=all.len() {
        let d = &all[..n];
        let root = mth(d);
        assert_eq!(root_at(&store, n as u64).unwrap(), root);
        for m in 0..n {
            let proof = prove_inclusion(&store, m as u64, n as u64).unwrap();
            assert_eq!(proof, path(m, d), "PATH({m}, D[{n}])");
            verify_inclusion(&d[m], m as u64, n as u64, &proof, &root).unwrap();
        }
        for m in 1..=n {
            let proof = prove_consistency(&store, m as u64, n as u64).unwrap();
            let want = if m == n { vec![] } else { subproof(m, d, true) };
            assert_eq!(proof, want, "PROOF({m}, D[{n}])");
            verify_consistency(m as u64, &mth(&d[..m]), n as u64, &root, &proof).unwrap();
        }
    }
}

#[test]
fn proofs_equal_ct_merkle_and_both_verifiers_agree_on_corruptions() {
    let values: Vec<Vec<u8>> = (0..40u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let mut reference = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    let mut store = MemoryStore::new();
    for (n, value) in values.iter().enumerate() {
        reference.push(value.clone());
        store.append(Hash::leaf(value)).unwrap();
        let size = n as u64 + 1;
        let ct_root = reference.root();
        let root = Hash(ct_root.as_bytes().as_slice().try_into().unwrap());
        assert_eq!(store.root(), root);
        for (i, value) in values.iter().enumerate().take(n + 1) {
            let ct_proof = reference.prove_inclusion(i);
            let proof = prove_inclusion(&store, i as u64, size).unwrap();
            let bytes: Vec<u8> = proof.iter().flat_map(|x| x.0).collect();
            assert_eq!(bytes, ct_proof.as_bytes(), "leaf {i} of {size}");
            // Flip each bit position class in each element: both verifiers must say no.
            for k in 0..proof.len() {
                let mut wrong = proof.clone();
                wrong[k].0[k % 32] ^= 1 << (k % 8);
                let ours = verify_inclusion(&Hash::leaf(value), i as u64, size, &wrong, &root);
                let wrong_bytes: Vec<u8> = wrong.iter().flat_map(|x| x.0).collect();
                let ct = ct_root.verify_inclusion(
                    value,
                    i as u64,
                    &ct_merkle::InclusionProof::<Sha256>::from_bytes(wrong_bytes),
                );
                assert!(ours.is_err() && ct.is_err());
            }
            // A neighbouring index with the same proof: same verdict from both.
            if i < n {
                let ours = verify_inclusion(&Hash::leaf(value), i as u64 + 1, size, &proof, &root);
                let ct = ct_root.verify_inclusion(value, i as u64 + 1, &ct_proof);
                assert_eq!(ours.is_ok(), ct.is_ok(), "leaf {i}+1 of {size}");
            }
        }
        for old in 1..=size {
            let ct_proof = reference.prove_consistency((size - old) as usize);
            let proof = prove_consistency(&store, old, size).unwrap();
            let bytes: Vec<u8> = proof.iter().flat_map(|x| x.0).collect();
            assert_eq!(bytes, ct_proof.as_bytes(), "{old} -> {size}");
        }
    }
}

/// Counts the nodes a proof reads, to show it is O(log n) and never the leaves.
struct Counting<'a> {
    inner: &'a MemoryStore,
    reads: Cell<usize>,
}

impl NodeStore for Counting<'_> {
    type Error = MissingNode;
    fn subtree_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        self.reads.set(self.reads.get() + nodes.len());
        self.inner.subtree_hashes(nodes)
    }
}

#[test]
fn proofs_read_only_logarithmically_many_nodes() {
    let n: u64 = 100_003;
    let mut store = MemoryStore::new();
    for i in 0..n {
        store.append(Hash::leaf(&i.to_be_bytes())).unwrap();
    }
    let counting = Counting {
        inner: &store,
        reads: Cell::new(0),
    };
    let log2 = 64 - n.leading_zeros() as usize; // 17
    for index in [0, 1, 4242, 65_535, 65_536, 99_999, n - 1] {
        counting.reads.set(0);
        let proof = prove_inclusion(&counting, index, n).unwrap();
        assert!(
            counting.reads.get() <= 2 * log2,
            "{} reads",
            counting.reads.get()
        );
        verify_inclusion(
            &Hash::leaf(&index.to_be_bytes()),
            index,
            n,
            &proof,
            &store.root(),
        )
        .unwrap();
    }
    for old in [1, 7, 65_536, 77_777, n - 1] {
        counting.reads.set(0);
        let proof = prove_consistency(&counting, old, n).unwrap();
        assert!(
            counting.reads.get() <= 2 * log2,
            "{} reads",
            counting.reads.get()
        );
        let old_root = root_at(&store, old).unwrap();
        verify_consistency(old, &old_root, n, &store.root(), &proof).unwrap();
    }
    counting.reads.set(0);
    assert_eq!(root_at(&counting, n).unwrap(), store.root());
    assert_eq!(counting.reads.get(), n.count_ones() as usize);
}

#[test]
fn a_sequencer_extends_a_reloaded_frontier_in_batches() {
    let all = leaf_hashes(1000);
    let mut store = MemoryStore::new();
    for leaf in &all[..613] {
        store.append(*leaf).unwrap();
    }
    // Another process takes over: it reads only the frontier's popcount(613) = 5 nodes.
    let plan = ProofPlan::root(613).unwrap();
    assert_eq!(plan.nodes().len(), 5);
    let hashes = store.subtree_hashes(plan.nodes()).unwrap();
    let mut frontier = Frontier::from_hashes(613, hashes).unwrap();
    assert_eq!(frontier.root(), mth(&all[..613]));
    let mut written = Vec::new();
    for batch in all[613..].chunks(97) {
        for leaf in batch {
            frontier
                .append(*leaf, |id, hash| written.push((id, hash)))
                .unwrap();
        }
        let n = frontier.size() as usize;
        assert_eq!(frontier.root(), mth(&all[..n]), "after {n}");
    }
    // Every written node is the RFC hash of the leaves it covers, and nothing is written twice.
    let mut ids: Vec<NodeId> = written.iter().map(|(id, _)| *id).collect();
    for (id, hash) in &written {
        let r = id.leaves();
        assert_eq!(*hash, mth(&all[r.start as usize..r.end as usize]), "{id:?}");
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), written.len());
    // Leaves 613..1000 and the perfect subtrees they complete: 2 * 387 - (new ones merged).
    assert_eq!(written.iter().filter(|(id, _)| id.level == 0).count(), 387);
    let frontier_nodes: Vec<NodeId> = frontier.nodes().map(|(id, _)| id).collect();
    assert_eq!(frontier_nodes, ProofPlan::root(1000).unwrap().nodes());
}

#[test]
fn bad_frontier_shapes_and_sizes_are_refused() {
    assert_eq!(
        Frontier::from_hashes(3, vec![EMPTY_ROOT]),
        Err(TreeError::FrontierShape {
            size: 3,
            expected: 2,
            got: 1
        })
    );
    assert!(matches!(
        ProofPlan::inclusion(0, u64::MAX),
        Err(TreeError::TooLarge { .. })
    ));
    assert_eq!(
        ProofPlan::inclusion(5, 5),
        Err(TreeError::IndexOutOfRange { index: 5, size: 5 })
    );
    let store = store_of(&leaves());
    // The store holds 8 leaves: a proof for a size it has not reached names the missing node.
    let err = prove_inclusion(&store, 0, 9).unwrap_err();
    assert!(err.to_string().contains("level 0 index 8"), "{err}");
}
