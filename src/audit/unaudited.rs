//! The benchmark-only build with the ledger switched off (`cargo build --release --features
//! bench-unaudited`), for the one figure that needs it: issue 14's server CPU per audited score
//! against the CPU per score without the ledger (docs/benchmarks.md).
//!
//! It is a build, never a setting: a setting that skipped the audit would be an insider's switch,
//! and the normal build has none (tests/api/audit_trail.rs tries the likely ones). Built with the
//! feature, [`AuditWriter::record_with`](super::AuditWriter::record_with) answers at once with a
//! receipt that names no leaf, encoding, storing and sequencing nothing (the monitoring
//! observation that rides in the same commit is dropped too, so the figure is an upper bound of
//! what the ledger costs). Every command of such a binary says so on stderr, and `serve` and
//! `demo` refuse to start unless [`ACKNOWLEDGE_ENV`] holds [`ACKNOWLEDGEMENT`].

use super::Receipt;

/// Whether this binary was built with the ledger switched off.
pub const ENABLED: bool = cfg!(feature = "bench-unaudited");

/// The environment variable that must acknowledge the build before it serves.
pub const ACKNOWLEDGE_ENV: &str = "CREDITBRIDGE_BENCH_UNAUDITED";

/// Its one accepted value.
pub const ACKNOWLEDGEMENT: &str = "nothing-is-audited";

/// What such a binary prints on stderr at every start.
pub const BANNER: &str = "\
**********************************************************************************
* BENCHMARK BUILD (cargo feature bench-unaudited): THE AUDIT LEDGER IS OFF.      *
* Nothing this process does is recorded; receipts name no leaf. Never deploy it. *
**********************************************************************************";

/// Whether a benchmark build may serve, given the acknowledgement found in the environment.
pub fn may_serve(acknowledgement: Option<&str>) -> Result<(), String> {
    if acknowledgement == Some(ACKNOWLEDGEMENT) {
        Ok(())
    } else {
        Err(format!(
            "this is the benchmark build with the audit ledger switched off (feature \
             bench-unaudited): it serves only with {ACKNOWLEDGE_ENV}={ACKNOWLEDGEMENT}; build \
             without the feature to run the service"
        ))
    }
}

/// The receipt of an entry that was not recorded: a fresh event id and no leaf hash.
pub(crate) fn receipt() -> Receipt {
    Receipt {
        event_id: ulid::Ulid::new().to_string(),
        leaf_hash: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_acknowledgement_lets_a_benchmark_build_serve() {
        assert!(may_serve(Some(ACKNOWLEDGEMENT)).is_ok());
        for wrong in [
            None,
            Some(""),
            Some("1"),
            Some("true"),
            Some("Nothing-Is-Audited"),
        ] {
            let err = may_serve(wrong).unwrap_err();
            assert!(
                err.contains(ACKNOWLEDGE_ENV) && err.contains("bench-unaudited"),
                "{err}"
            );
        }
    }
}
