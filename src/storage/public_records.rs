//! Public credit records (dishonest judgment debtors, administrative penalties, red lists). A
//! record counts from listed_at until display_until, or until it is repaired, whichever is first
//! (`RecordFact::counts_at` in `features::sme`, the rule serving and training use).

use chrono::NaiveDate;
use serde::Serialize;

use super::feeds::{FeedRow, Val};
use super::{StoreError, Tx};
use crate::with_tx;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PublicRecord {
    /// Who fed it (partner id or `cli`); record_id is unique per source.
    pub source: String,
    pub record_id: String,
    /// `enterprise` or `person`.
    pub subject_type: String,
    /// The credit code of an enterprise, or the keyed hash of a person's resident id.
    pub subject_key: String,
    pub kind: String,
    pub severity: String,
    pub listed_at: NaiveDate,
    pub display_until: NaiveDate,
    pub repaired_at: Option<NaiveDate>,
}

impl FeedRow for PublicRecord {
    const TABLE: &'static str = "public_records";
    const COLUMNS: &'static [&'static str] = &[
        "source",
        "record_id",
        "subject_type",
        "subject_key",
        "kind",
        "severity",
        "listed_at",
        "display_until",
        "repaired_at",
    ];
    // A later row for the same record (an extension, a repair) replaces the earlier one.
    const KEY: &'static [&'static str] = &["source", "record_id"];
    const REPLACES: bool = true;

    fn push_values(self, out: &mut Vec<Val>) {
        out.extend([
            Val::Text(self.source),
            Val::Text(self.record_id),
            Val::Text(self.subject_type),
            Val::Text(self.subject_key),
            Val::Text(self.kind),
            Val::Text(self.severity),
            Val::Date(self.listed_at),
            Val::Date(self.display_until),
            Val::OptDate(self.repaired_at),
        ]);
    }
}

/// Deletes negative records (not red lists) whose event ended — display window over or
/// repaired, whichever came first — before `cutoff`. Returns how many went.
pub async fn delete_negative_records_ended_before(
    tx: &mut Tx,
    cutoff: NaiveDate,
) -> Result<u64, StoreError> {
    let sql = "DELETE FROM public_records WHERE kind <> 'red_list' AND \
        (CASE WHEN repaired_at IS NOT NULL AND repaired_at < display_until THEN repaired_at ELSE display_until END) < $1";
    Ok(
        with_tx!(tx, conn => sqlx::query(sql).bind(cutoff).execute(conn).await.map(|r| r.rows_affected()))?,
    )
}
