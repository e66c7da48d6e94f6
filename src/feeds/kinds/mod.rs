//! One validator per feed kind: the columns it accepts (English and Chinese names) and how a row
//! becomes a storage row, with every rule of docs/feeds.md checked and reported per cell.

use std::collections::HashSet;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use chrono::NaiveDate;

use super::cells::Cells;
use super::columns::Column;
use crate::domain::{ResidentId, Uscc};
use crate::pii::PiiKey;
use crate::storage::feeds::FeedRow;

mod farmers;
mod records;
mod tax;

pub use farmers::{Assessments, Households};
pub use records::{LoanOutcomes, PublicRecords};
pub use tax::{Enterprises, TaxGrades, TaxPayments};

/// What validators need beyond the row itself.
pub struct Ctx {
    pub pii: PiiKey,
    /// The feeding partner's id, or `cli`.
    pub source: String,
    /// Birth dates, founding dates and tax periods may not be later than this.
    pub today: NaiveDate,
    /// Founding dates may not be earlier than this year's first day.
    pub earliest_founding_year: i32,
    /// Credit codes and household subject keys already stored (loan outcomes only); for a bank
    /// only those it holds a consent for.
    pub known_subjects: HashSet<String>,
    /// A bank's loan outcomes: a subject outside `known_subjects` gets the one reason
    /// [`NOT_ELIGIBLE`], whether it exists or not, and is tallied for the audit trail.
    pub partner_scoped: bool,
    pub not_eligible: Mutex<Tally>,
}

/// The one reason a bank is given for a loan outcome it may not send: the same whether the
/// subject is unknown or someone else's, so a feed cannot be used to learn who exists.
pub const NOT_ELIGIBLE: &str =
    "not accepted: outcomes are taken only for subjects this partner holds a consent for";

/// Rows refused as not eligible: how many, and a running SHA-256 of their subject keys in file
/// order (what the audit keeps instead of the keys).
#[derive(Default)]
pub struct Tally {
    pub rows: u64,
    pub digest: Sha256,
}

impl Tally {
    fn note(&mut self, subject_key: &str) {
        self.rows += 1;
        self.digest.update(subject_key.as_bytes());
        self.digest.update(b"\n");
    }
}

pub trait Kind: Send + 'static {
    type Row: FeedRow;
    const COLUMNS: &'static [Column];
    /// The columns that identify a row, named in duplicate-row errors.
    const KEY: &'static str;
    /// The row, or `None` with the reasons recorded in `c`.
    fn validate(c: &mut Cells<'_>, ctx: &Ctx) -> Option<Self::Row>;
    /// Two rows of one batch may not share this key (one would silently override the other).
    /// Written into `out` (cleared by the caller), a buffer reused for every row.
    fn key(row: &Self::Row, out: &mut String);
}

/// A credit code; pilot codes that fail the check are accepted with a warning (domain.md §5).
fn uscc(c: &mut Cells<'_>, i: usize) -> Option<Uscc> {
    let code = c.req(i, |s| Uscc::parse(s).map_err(|e| e.to_string()))?;
    if code.pilot_warning() {
        c.warn(
            i,
            format!(
                "{} fails the GB 32100 check; accepted as an early pilot code",
                code.as_str()
            ),
        );
    }
    Some(code)
}

/// A resident id, never echoed back: errors name the rule broken, not the number.
fn resident(c: &mut Cells<'_>, i: usize, ctx: &Ctx) -> Option<ResidentId> {
    c.req(i, |s| {
        ResidentId::parse_as_of(s, ctx.today).map_err(|e| e.to_string())
    })
}
