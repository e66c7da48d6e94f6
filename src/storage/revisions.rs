//! Change counters for the serving read model, bumped by triggers (migration 0002) whenever
//! partners, their keys, consents or subjects' facts change, whoever changed them. On PostgreSQL
//! every bump is also notified (migration 0007), so replicas hear of a change as it commits.

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

    fn from_name(name: &str) -> Option<Revised> {
        Revised::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// The channel the triggers notify, with the counter's name as the payload.
const CHANNEL: &str = "creditbridge_revisions";

/// A PostgreSQL connection listening for counter bumps.
pub struct RevisionListener(sqlx::postgres::PgListener);

/// What a listener heard.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    Changed(Revised),
    /// The connection was lost: changes may have gone unheard. The next call reconnects.
    Lost,
}

impl RevisionListener {
    /// Waits for the next change (a payload naming no counter is skipped).
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        loop {
            match self.0.try_recv().await? {
                None => return Ok(Heard::Lost),
                Some(n) => match Revised::from_name(n.payload()) {
                    Some(what) => return Ok(Heard::Changed(what)),
                    None => tracing::debug!(payload = n.payload(), "unknown revision notified"),
                },
            }
        }
    }
}

impl Db {
    /// A listener for counter bumps on PostgreSQL (one connection of the pool, held); `None` on
    /// SQLite, where the one process that writes drops its caches itself.
    pub async fn listen_revisions(&self) -> Result<Option<RevisionListener>, StoreError> {
        let Db::Postgres(pool) = self else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(RevisionListener(listener)))
    }

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
