//! Change counters for the serving read model, bumped by triggers (migration 0002) whenever
//! partners, consents or subjects' facts change, whoever changed them.

use super::{Db, StoreError};
use crate::with_db;

/// What a counter covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revised {
    Partners,
    Consents,
    Facts,
}

impl Revised {
    pub const ALL: [Revised; 3] = [Revised::Partners, Revised::Consents, Revised::Facts];

    fn name(self) -> &'static str {
        match self {
            Revised::Partners => "partners",
            Revised::Consents => "consents",
            Revised::Facts => "facts",
        }
    }
}

impl Db {
    /// The current counters, in the order of [`Revised::ALL`].
    pub async fn data_revisions(&self) -> Result<[i64; 3], StoreError> {
        let rows: Vec<(String, i64)> = with_db!(self, p => sqlx::query_as(
            "SELECT name, revision FROM data_revisions").fetch_all(p).await)?;
        let mut out = [0; 3];
        for (slot, r) in out.iter_mut().zip(Revised::ALL) {
            *slot = rows
                .iter()
                .find(|(n, _)| n == r.name())
                .map(|(_, v)| *v)
                .ok_or(StoreError::NotFound)?;
        }
        Ok(out)
    }
}
