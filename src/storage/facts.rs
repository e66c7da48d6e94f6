//! The facts characteristics are computed from, as typed values: for one subject (serving, by
//! indexed look-ups) or for every subject at once (training, a few ordered scans). Both produce
//! the same fact types; `features` turns them into characteristics and owns every rule about
//! them (which grade is in force, whether a record still counts), this module only reads.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;

use super::{Db, StoreError};
use crate::domain::{DomainError, FarmerGrade, RecordKind, TaxGrade, TaxType};
use crate::with_db;

/// An enterprise's facts: its registration, tax grades, monthly payments and public records.
#[derive(Clone, Debug, Default)]
pub struct SmeFacts {
    pub enterprise: Option<EnterpriseFact>,
    pub grades: Vec<GradeFact>,
    pub payments: Vec<PaymentFact>,
    pub records: Vec<RecordFact>,
}

#[derive(Clone, Debug)]
pub struct EnterpriseFact {
    pub region_code: String,
    pub industry: String,
    pub founded_on: NaiveDate,
}

#[derive(Clone, Debug)]
pub struct GradeFact {
    pub id: i64,
    pub year: i64,
    pub grade: TaxGrade,
    pub effective_from: NaiveDate,
}

#[derive(Clone, Debug)]
pub struct PaymentFact {
    pub period: String,
    pub tax_type: TaxType,
    pub revenue: i64,
    pub tax_due: i64,
    pub tax_paid: i64,
    pub filed_on: NaiveDate,
    pub paid_on: Option<NaiveDate>,
}

/// A public credit record of a subject (whether it counts at a date is `features`' rule).
#[derive(Clone, Debug)]
pub struct RecordFact {
    pub kind: RecordKind,
    pub listed_at: NaiveDate,
    pub display_until: NaiveDate,
    pub repaired_at: Option<NaiveDate>,
}

/// A household's facts: the household, its assessments, earlier loans, public records and its
/// village's standing.
#[derive(Clone, Debug, Default)]
pub struct FarmerFacts {
    pub household: Option<HouseholdFact>,
    pub assessments: Vec<AssessmentFact>,
    pub loans: Vec<LoanFact>,
    pub records: Vec<RecordFact>,
    /// Every household of the village (including this one): its assessments' (date, grade).
    /// Shared by all households of the village: a copy each would cost memory quadratic in the
    /// village's size when a whole city is loaded for training.
    pub village: Village,
}

pub type Village = Arc<Vec<Vec<(NaiveDate, FarmerGrade)>>>;

#[derive(Clone, Debug)]
pub struct HouseholdFact {
    pub birth_year: i64,
    pub members: i64,
    pub labourers: i64,
    pub education: String,
    pub land_mu: f64,
    pub main_activity: String,
}

#[derive(Clone, Debug)]
pub struct AssessmentFact {
    pub id: i64,
    pub year: i64,
    pub assessed_on: NaiveDate,
    pub score: f64,
    pub grade: FarmerGrade,
    pub annual_income: i64,
    pub assets: i64,
    pub liabilities: i64,
}

#[derive(Clone, Debug)]
pub struct LoanFact {
    pub disbursed_on: NaiveDate,
    pub defaulted_on: Option<NaiveDate>,
}

/// Runs one query on either dialect and reads every row as `$row`.
macro_rules! fetch {
    ($db:expr, $sql:expr, $row:ty $(, $bind:expr)*) => {{
        let sql: String = $sql;
        let rows: Vec<$row> = with_db!($db, p => sqlx::query_as(&sql)$(.bind($bind))*.fetch_all(p).await)?;
        rows
    }};
}

/// A loan whose 12-month outcome is known: a training example's target.
#[derive(Clone, Debug)]
pub struct MaturedLoan {
    pub loan_id: String,
    pub subject_key: String,
    pub disbursed_on: NaiveDate,
    pub bad: bool,
}

/// `product`'s loans disbursed from `from` to `cutoff` (both included) whose outcome is known,
/// oldest first.
pub async fn matured_loans(
    db: &Db,
    product: &str,
    from: NaiveDate,
    cutoff: NaiveDate,
) -> Result<Vec<MaturedLoan>, StoreError> {
    let rows = fetch!(
        db,
        "SELECT loan_id, subject_key, disbursed_on, defaulted FROM visible_loans \
         WHERE product = $1 AND disbursed_on <= $2 AND disbursed_on >= $3 AND defaulted IS NOT NULL \
         ORDER BY disbursed_on, loan_id"
            .to_owned(),
        (String, String, NaiveDate, bool),
        product,
        cutoff,
        from
    );
    Ok(rows
        .into_iter()
        .map(|(loan_id, subject_key, disbursed_on, bad)| MaturedLoan {
            loan_id,
            subject_key,
            disbursed_on,
            bad,
        })
        .collect())
}

type EnterpriseRow = (String, String, String, NaiveDate);
type GradeRow = (String, i64, i64, String, NaiveDate);
type PaymentRow = (
    String,
    String,
    String,
    i64,
    i64,
    i64,
    NaiveDate,
    Option<NaiveDate>,
);
type RecordRow = (String, String, NaiveDate, NaiveDate, Option<NaiveDate>);
type HouseholdRow = (String, i64, i64, i64, String, f64, String, String);
type AssessmentRow = (String, i64, i64, NaiveDate, f64, String, i64, i64, i64);
type LoanRow = (String, NaiveDate, Option<NaiveDate>);

const ENTERPRISES: &str = "SELECT uscc, region_code, industry, founded_on FROM visible_enterprises";
const GRADES: &str = "SELECT uscc, id, year, grade, effective_from FROM visible_tax_grades";
const PAYMENTS: &str =
    "SELECT uscc, period, tax_type, revenue, tax_due, tax_paid, filed_on, paid_on FROM visible_tax_payments";
const RECORDS: &str =
    "SELECT subject_key, kind, listed_at, display_until, repaired_at FROM visible_public_records";
const HOUSEHOLDS: &str = "SELECT subject_key, birth_year, members, labourers, education, land_mu, main_activity, village_code FROM visible_households";
const ASSESSMENTS: &str = "SELECT subject_key, id, year, assessed_on, score, grade, annual_income, assets, liabilities FROM visible_farmer_assessments";
const FARMER_LOANS: &str =
    "SELECT subject_key, disbursed_on, defaulted_on FROM visible_loans WHERE product = 'farmer'";

fn enterprise((_, region_code, industry, founded_on): EnterpriseRow) -> EnterpriseFact {
    EnterpriseFact {
        region_code,
        industry,
        founded_on,
    }
}
/// A stored word read back as its domain type, once, here: past storage nobody compares
/// strings. A word the feeds could not have written is a corrupt row, named by its column.
fn parse<T: std::str::FromStr<Err = DomainError>>(
    column: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    text.parse().map_err(|e: DomainError| {
        StoreError::Other(sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: Box::new(e),
        })
    })
}

fn grade((_, id, year, grade, effective_from): GradeRow) -> Result<GradeFact, StoreError> {
    Ok(GradeFact {
        id,
        year,
        grade: parse("tax_grades.grade", &grade)?,
        effective_from,
    })
}
fn payment(
    (_, period, tax_type, revenue, tax_due, tax_paid, filed_on, paid_on): PaymentRow,
) -> Result<PaymentFact, StoreError> {
    Ok(PaymentFact {
        period,
        tax_type: parse("tax_payments.tax_type", &tax_type)?,
        revenue,
        tax_due,
        tax_paid,
        filed_on,
        paid_on,
    })
}
fn record(
    (_, kind, listed_at, display_until, repaired_at): RecordRow,
) -> Result<RecordFact, StoreError> {
    Ok(RecordFact {
        kind: parse("public_records.kind", &kind)?,
        listed_at,
        display_until,
        repaired_at,
    })
}
fn household(r: &HouseholdRow) -> HouseholdFact {
    HouseholdFact {
        birth_year: r.1,
        members: r.2,
        labourers: r.3,
        education: r.4.clone(),
        land_mu: r.5,
        main_activity: r.6.clone(),
    }
}
fn assessment(
    (_, id, year, assessed_on, score, grade, annual_income, assets, liabilities): AssessmentRow,
) -> Result<AssessmentFact, StoreError> {
    Ok(AssessmentFact {
        id,
        year,
        assessed_on,
        score,
        grade: parse("farmer_assessments.grade", &grade)?,
        annual_income,
        assets,
        liabilities,
    })
}
fn loan((_, disbursed_on, defaulted_on): LoanRow) -> LoanFact {
    LoanFact {
        disbursed_on,
        defaulted_on,
    }
}

/// One enterprise's facts for characteristics at `at` (by indexed look-ups on its credit code;
/// payments only from the 25 months before `at`, all the characteristics look at).
pub async fn sme_facts(db: &Db, uscc: &str, at: NaiveDate) -> Result<SmeFacts, StoreError> {
    let from = at
        .checked_sub_months(chrono::Months::new(25))
        .unwrap_or(at)
        .format("%Y-%m")
        .to_string();
    let e = fetch!(
        db,
        format!("{ENTERPRISES} WHERE uscc = $1"),
        EnterpriseRow,
        uscc
    );
    let g = fetch!(db, format!("{GRADES} WHERE uscc = $1"), GradeRow, uscc);
    let p = fetch!(
        db,
        format!("{PAYMENTS} WHERE uscc = $1 AND period >= $2"),
        PaymentRow,
        uscc,
        &from
    );
    let r = fetch!(
        db,
        format!("{RECORDS} WHERE subject_key = $1"),
        RecordRow,
        uscc
    );
    Ok(SmeFacts {
        enterprise: e.into_iter().next().map(enterprise),
        grades: g.into_iter().map(grade).collect::<Result<_, _>>()?,
        payments: p.into_iter().map(payment).collect::<Result<_, _>>()?,
        records: r.into_iter().map(record).collect::<Result<_, _>>()?,
    })
}

/// The facts of every enterprise with an sme loan disbursed by `until`, keyed by credit code;
/// payments only from `payments_from` (`YYYY-MM`) on — the training set needs no older ones.
pub async fn sme_facts_of_borrowers(
    db: &Db,
    until: NaiveDate,
    payments_from: &str,
) -> Result<HashMap<String, SmeFacts>, StoreError> {
    const BORROWERS: &str =
        "(SELECT subject_key FROM visible_loans WHERE product = 'sme' AND disbursed_on <= $1)";
    let mut out: HashMap<String, SmeFacts> = HashMap::new();
    let sql = format!("{ENTERPRISES} WHERE uscc IN {BORROWERS}");
    for r in fetch!(db, sql, EnterpriseRow, until) {
        let key = r.0.clone();
        out.entry(key).or_default().enterprise = Some(enterprise(r));
    }
    for r in fetch!(
        db,
        format!("{GRADES} WHERE uscc IN {BORROWERS}"),
        GradeRow,
        until
    ) {
        out.entry(r.0.clone()).or_default().grades.push(grade(r)?);
    }
    let sql = format!("{PAYMENTS} WHERE uscc IN {BORROWERS} AND period >= $2");
    for r in fetch!(db, sql, PaymentRow, until, payments_from) {
        out.entry(r.0.clone())
            .or_default()
            .payments
            .push(payment(r)?);
    }
    let sql = format!("{RECORDS} WHERE subject_type = 'enterprise' AND subject_key IN {BORROWERS}");
    for r in fetch!(db, sql, RecordRow, until) {
        out.entry(r.0.clone()).or_default().records.push(record(r)?);
    }
    Ok(out)
}

/// Every household's facts, keyed by subject key; each carries its village's assessments.
pub async fn all_farmer_facts(db: &Db) -> Result<HashMap<String, FarmerFacts>, StoreError> {
    let households = fetch!(db, HOUSEHOLDS.to_owned(), HouseholdRow);
    let mut assessments: HashMap<String, Vec<AssessmentFact>> = HashMap::new();
    for r in fetch!(db, ASSESSMENTS.to_owned(), AssessmentRow) {
        assessments
            .entry(r.0.clone())
            .or_default()
            .push(assessment(r)?);
    }
    let mut loans: HashMap<String, Vec<LoanFact>> = HashMap::new();
    for r in fetch!(db, FARMER_LOANS.to_owned(), LoanRow) {
        loans.entry(r.0.clone()).or_default().push(loan(r));
    }
    let mut records: HashMap<String, Vec<RecordFact>> = HashMap::new();
    for r in fetch!(
        db,
        format!("{RECORDS} WHERE subject_type = 'person'"),
        RecordRow
    ) {
        records.entry(r.0.clone()).or_default().push(record(r)?);
    }
    let mut villages: HashMap<String, Vec<Vec<(NaiveDate, FarmerGrade)>>> = HashMap::new();
    for h in &households {
        villages
            .entry(h.7.clone())
            .or_default()
            .push(timeline(assessments.get(&h.0)));
    }
    let villages: HashMap<String, Village> = villages
        .into_iter()
        .map(|(k, v)| (k, Arc::new(v)))
        .collect();
    let mut out = HashMap::with_capacity(households.len());
    for h in &households {
        out.insert(
            h.0.clone(),
            FarmerFacts {
                household: Some(household(h)),
                assessments: assessments.remove(&h.0).unwrap_or_default(),
                loans: loans.remove(&h.0).unwrap_or_default(),
                records: records.remove(&h.0).unwrap_or_default(),
                village: villages.get(&h.7).cloned().unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

fn timeline(a: Option<&Vec<AssessmentFact>>) -> Vec<(NaiveDate, FarmerGrade)> {
    a.map(|v| v.iter().map(|x| (x.assessed_on, x.grade)).collect())
        .unwrap_or_default()
}

/// One household's facts (by subject key), with its village's assessments.
pub async fn farmer_facts(db: &Db, subject_key: &str) -> Result<FarmerFacts, StoreError> {
    let (mut facts, village_code) = household_facts(db, subject_key).await?;
    if let Some(code) = village_code {
        facts.village = village(db, &code).await?;
    }
    Ok(facts)
}

/// One household's own facts and its village code, without the village: serving caches
/// villages apart, shared by their households.
pub async fn household_facts(
    db: &Db,
    subject_key: &str,
) -> Result<(FarmerFacts, Option<String>), StoreError> {
    let h = fetch!(
        db,
        format!("{HOUSEHOLDS} WHERE subject_key = $1"),
        HouseholdRow,
        subject_key
    );
    let r = fetch!(
        db,
        format!("{RECORDS} WHERE subject_key = $1"),
        RecordRow,
        subject_key
    );
    let records = r.into_iter().map(record).collect::<Result<_, _>>()?;
    let Some(h) = h.into_iter().next() else {
        return Ok((
            FarmerFacts {
                records,
                ..Default::default()
            },
            None,
        ));
    };
    let a = fetch!(
        db,
        format!("{ASSESSMENTS} WHERE subject_key = $1"),
        AssessmentRow,
        subject_key
    );
    let l = fetch!(
        db,
        format!("{FARMER_LOANS} AND subject_key = $1"),
        LoanRow,
        subject_key
    );
    let facts = FarmerFacts {
        household: Some(household(&h)),
        assessments: a.into_iter().map(assessment).collect::<Result<_, _>>()?,
        loans: l.into_iter().map(loan).collect(),
        records,
        village: Village::default(),
    };
    Ok((facts, Some(h.7)))
}

/// Every household's assessments (date, grade) in the village `code`.
pub async fn village(db: &Db, code: &str) -> Result<Village, StoreError> {
    let v: Vec<(String, NaiveDate, String)> = fetch!(
        db,
        "SELECT a.subject_key, a.assessed_on, a.grade FROM visible_farmer_assessments a \
         JOIN visible_households h ON h.subject_key = a.subject_key WHERE h.village_code = $1"
            .to_owned(),
        (String, NaiveDate, String),
        code
    );
    let mut by_household: HashMap<String, Vec<(NaiveDate, FarmerGrade)>> = HashMap::new();
    for (k, d, g) in v {
        let g = parse("farmer_assessments.grade", &g)?;
        by_household.entry(k).or_default().push((d, g));
    }
    Ok(Arc::new(by_household.into_values().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_word_outside_the_vocabulary_is_a_decode_error_naming_its_column() {
        let grade: TaxGrade = parse("tax_grades.grade", "D").unwrap();
        assert_eq!(grade, TaxGrade::D);
        let err = parse::<FarmerGrade>("farmer_assessments.grade", "AAAA").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("farmer_assessments.grade"), "{text}");
        assert!(text.contains("AAAA"), "{text}");
    }
}
