//! Characteristics of a subject at a date, computed from the facts creditbridge holds. The same
//! code builds features for serving (facts of one subject, as of now) and for training (every
//! loan's subject, as of its disbursement date): `storage::facts` gathers facts, and pure functions that
//! ignore everything not yet known at the date turn them into characteristics. Training and
//! serving therefore cannot disagree, and no fact dated after a loan leaks into its features.

use chrono::{Datelike, NaiveDate};
use training::{CharacteristicMeta, Value};

use crate::domain::Flag;

pub mod catalogue;
pub mod farmer;
pub mod sme;

pub use catalogue::{Characteristic, Kind};

/// A subject's characteristics in catalogue order, with the knock-out flags and the as-of dates
/// of the data they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureVector {
    pub values: Vec<(&'static str, Value)>,
    pub flags: Vec<Flag>,
    pub data_as_of: serde_json::Value,
}

impl FeatureVector {
    pub fn get(&self, name: &str) -> Option<Value> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Month index (years × 12 + month − 1) of a date or a `YYYY-MM` period.
pub fn month_index(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

pub fn period_index(period: &str) -> Option<i32> {
    let (y, m) = period.split_once('-')?;
    let (y, m): (i32, i32) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}

/// The filing and payment deadline of a monthly period: the 15th of the following month.
pub fn deadline_of(period_idx: i32) -> NaiveDate {
    let next = period_idx + 1;
    NaiveDate::from_ymd_opt(next.div_euclid(12), next.rem_euclid(12) as u32 + 1, 15)
        .expect("valid date")
}

/// Years between two dates, as a decimal.
pub fn years_between(from: NaiveDate, to: NaiveDate) -> f64 {
    (to - from).num_days() as f64 / 365.25
}

pub fn number(x: f64) -> Value {
    if x.is_finite() {
        Value::Number(x)
    } else {
        Value::Missing
    }
}

pub fn category(s: impl Into<String>) -> Value {
    Value::Category(s.into())
}

/// The reason metadata of a characteristic, for the training frame.
pub fn meta_of(c: &Characteristic) -> CharacteristicMeta {
    CharacteristicMeta {
        code: c.code.into(),
        text_en: c.text_en.into(),
        text_zh: c.text_zh.into(),
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Product;

    /// What a product's feature code emits, name by name, for a subject of whom nothing is held
    /// (the names and their order do not depend on the facts).
    fn emitted(product: Product) -> Vec<(&'static str, Value)> {
        let at: NaiveDate = "2026-06-30".parse().unwrap();
        match product {
            Product::Sme => sme::characteristics(&sme::SmeFacts::default(), at).values,
            Product::Farmer => farmer::characteristics(&farmer::FarmerFacts::default(), at).values,
        }
    }

    #[test]
    fn feature_code_emits_exactly_the_catalogue_in_its_order() {
        // A name typed differently in the two places would train on an all-missing column and
        // score every subject as unknown there: the catalogue is what models and reasons read.
        for product in [Product::Sme, Product::Farmer] {
            let emitted: Vec<&str> = emitted(product).iter().map(|(n, _)| *n).collect();
            let catalogue: Vec<&str> = catalogue::of(product).iter().map(|c| c.name).collect();
            assert_eq!(emitted, catalogue, "{}", product.as_str());
        }
    }

    #[test]
    fn every_value_present_has_its_catalogue_kind() {
        for product in [Product::Sme, Product::Farmer] {
            for ((name, value), c) in emitted(product).iter().zip(catalogue::of(product)) {
                let fits = match value {
                    Value::Missing => true,
                    Value::Number(_) => c.kind == Kind::Numeric,
                    Value::Category(_) => c.kind == Kind::Categorical,
                };
                assert!(fits, "{name} is {value:?} but catalogued {:?}", c.kind);
            }
        }
    }

    use super::*;

    #[test]
    fn the_deadline_of_a_period_is_the_15th_of_the_next_month() {
        let p = period_index("2025-12").unwrap();
        assert_eq!(
            deadline_of(p),
            NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
        );
        let p = period_index("2025-03").unwrap();
        assert_eq!(
            deadline_of(p),
            NaiveDate::from_ymd_opt(2025, 4, 15).unwrap()
        );
    }

    #[test]
    fn malformed_periods_have_no_index() {
        assert_eq!(period_index("2025-13"), None);
        assert_eq!(period_index("2025"), None);
        assert_eq!(period_index("x-01"), None);
    }

    #[test]
    fn a_date_and_its_period_share_a_month_index() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        assert_eq!(month_index(d), period_index("2026-02").unwrap());
    }
}
