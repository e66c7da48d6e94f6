//! The output tables: the feed files of docs/feeds.md, built row by row into in-memory buffers per
//! chunk of entities, with deliberate breakage (`--inject-errors`) recorded as it is written.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::rng::chance;
use crate::domain::FeedKind;

/// The English header row of a kind's file, exactly the column names of docs/feeds.md.
pub fn header(kind: FeedKind) -> &'static str {
    match kind {
        FeedKind::Enterprises => "uscc,name,region_code,industry,size,founded_on,closed_on",
        FeedKind::TaxGrades => "uscc,year,grade,score,direct_d,effective_from",
        FeedKind::TaxPayments => "uscc,period,tax_type,revenue,tax_due,tax_paid,filed_on,paid_on",
        FeedKind::Households => {
            "head_id,region_code,village_code,village_name,members,labourers,education,land_mu,main_activity"
        }
        FeedKind::FarmerAssessments => {
            "head_id,year,assessed_on,score,grade,annual_income,assets,liabilities"
        }
        FeedKind::PublicRecords => {
            "record_id,subject_type,subject_id,kind,severity,listed_at,display_until,repaired_at"
        }
        FeedKind::LoanOutcomes => {
            "loan_id,product,subject_id,disbursed_on,amount,term_months,defaulted,defaulted_on"
        }
    }
}

/// The place of a kind's file among the city's files (`FeedKind::ALL` order).
pub fn slot(kind: FeedKind) -> usize {
    FeedKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL")
}

/// One deliberately broken cell. `row` counts data rows from 1 within the chunk that wrote it;
/// the writer turns it into a file line number.
#[derive(Debug, Clone)]
pub struct Injected {
    pub file: FeedKind,
    pub row: u64,
    pub column: &'static str,
    pub reason: &'static str,
}

#[derive(Default)]
pub struct Rows {
    pub buf: Vec<u8>,
    pub count: u64,
}

/// Everything a chunk of entities writes.
pub struct Out {
    pub tables: [Rows; FeedKind::ALL.len()],
    pub injected: Vec<Injected>,
    inject: Option<(f64, ChaCha8Rng)>,
}

impl Out {
    /// `inject`: the share of rows to break and the stream that picks them (a stream of its own,
    /// so the city itself is the same with or without injection).
    pub fn new(inject: Option<(f64, ChaCha8Rng)>) -> Out {
        Out {
            tables: Default::default(),
            injected: Vec::new(),
            inject,
        }
    }

    /// Starts a row of `file`. When this row is picked for breakage, returns the column (one of
    /// `breakable`) to break and records it with `reason_of(column)`.
    pub fn begin(
        &mut self,
        file: FeedKind,
        breakable: &[(&'static str, &'static str)],
    ) -> Option<&'static str> {
        let rows = &mut self.tables[slot(file)];
        rows.count += 1;
        let (rate, rng) = self.inject.as_mut()?;
        if breakable.is_empty() || !chance(rng, *rate) {
            return None;
        }
        let (column, reason) = breakable[rng.gen_range(0..breakable.len())];
        self.injected.push(Injected {
            file,
            row: rows.count,
            column,
            reason,
        });
        Some(column)
    }

    pub fn buf(&mut self, file: FeedKind) -> &mut Vec<u8> {
        &mut self.tables[slot(file)].buf
    }

    pub fn rows(&self, file: FeedKind) -> &Rows {
        &self.tables[slot(file)]
    }
}

/// Appends an amount in fen as yuan with two decimals.
pub fn push_yuan(buf: &mut Vec<u8>, fen: i64) {
    debug_assert!(fen >= 0);
    push_int(buf, fen / 100);
    buf.push(b'.');
    let cents = (fen % 100) as u8;
    buf.push(b'0' + cents / 10);
    buf.push(b'0' + cents % 10);
}

pub fn push_int(buf: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends free text that the generator itself made up; it never holds commas, quotes or line
/// breaks, so it needs no CSV quoting (checked in debug builds).
pub fn push_text(buf: &mut Vec<u8>, s: &str) {
    debug_assert!(!s.contains([',', '"', '\n', '\r']), "{s}");
    buf.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_in_yuan_with_two_decimals() {
        let mut buf = Vec::new();
        push_yuan(&mut buf, 123_405);
        buf.push(b' ');
        push_yuan(&mut buf, 7);
        assert_eq!(String::from_utf8(buf).unwrap(), "1234.05 0.07");
    }

    #[test]
    fn a_zero_rate_never_breaks_a_row() {
        let mut out = Out::new(Some((
            0.0,
            super::super::rng::stream(1, super::super::rng::Purpose::Villages, 0),
        )));
        for _ in 0..1000 {
            assert!(out.begin(FeedKind::Enterprises, &[("uscc", "x")]).is_none());
        }
        assert_eq!(out.rows(FeedKind::Enterprises).count, 1000);
    }
}
