//! The audit ledger as a transparency log, independent of storage and transport.
//!
//! - [`entry`]: the canonical, versioned leaf encoding of an audit entry (what is hashed).
//! - [`hash`]: RFC 6962 leaf and node hashes.
//! - [`tree`]: the tree kept as perfect subtrees; the sequencer's [`tree::Frontier`]; proof plans
//!   over any [`tree::NodeStore`]; inclusion and consistency verification.
//! - [`checkpoint`]: the C2SP tlog-checkpoint body.
//! - [`note`]: C2SP signed notes with Ed25519 (checkpoints are signed notes), and the public key
//!   text (`vkey`).
//! - [`keys`]: the signing key in a 0600 file or an environment variable.
//! - [`auditor`]: checks a stored log, fed in order, against signed checkpoints.
//! - [`receipt`]: receipts, the C2SP tlog-proof format and their offline verification.
//!
//! docs/audit.md describes the formats with a worked example (`cargo run -p ledger --example
//! worked_example`).

pub mod auditor;
pub mod checkpoint;
pub mod entry;
pub mod hash;
pub mod keys;
pub mod note;
pub mod receipt;
pub mod tree;

pub use checkpoint::Checkpoint;
pub use hash::{Hash, EMPTY_ROOT};
pub use note::{LogSigner, LogVerifier};
pub use tree::{Frontier, NodeId, NodeStore, ProofPlan};
