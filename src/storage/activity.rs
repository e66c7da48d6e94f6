//! When a partner was last seen: its newest entry in the audit ledger (every request that does
//! something is audited under the partner), for the console's Partners page.

use chrono::{DateTime, Utc};

use super::{Db, StoreError};
use crate::with_db;

impl Db {
    /// The time of the partner's newest ledger entry, if it has one. One index seek per
    /// partner (`ledger_entries_by_partner`, migration 0010), not a scan of the ledger.
    pub async fn partner_last_activity(
        &self,
        partner_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(Option<DateTime<Utc>>,)> = with_db!(self, p => sqlx::query_as(
            "SELECT MAX(recorded_at) FROM ledger_entries WHERE partner_id = $1")
            .bind(partner_id).fetch_optional(p).await)?;
        Ok(row.and_then(|r| r.0))
    }
}
