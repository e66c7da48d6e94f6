//! When each partner was last seen: its newest entry in the audit ledger (every request that
//! does something is audited under the partner), for the console's Partners page.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Db, StoreError};
use crate::with_db;

impl Db {
    /// Per partner id, the time of its newest ledger entry (partners never audited are absent).
    pub async fn partners_last_activity(
        &self,
    ) -> Result<BTreeMap<String, DateTime<Utc>>, StoreError> {
        let rows: Vec<(String, DateTime<Utc>)> = with_db!(self, p => sqlx::query_as(
            "SELECT partner_id, MAX(recorded_at) FROM ledger_entries \
             WHERE partner_id IS NOT NULL GROUP BY partner_id")
            .fetch_all(p).await)?;
        Ok(rows.into_iter().collect())
    }
}
