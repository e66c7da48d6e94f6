//! The kinds of feed file data owners send (docs/feeds.md): the one list every layer derives
//! its per-kind parts from.

use std::fmt;
use std::str::FromStr;

use super::Role;

/// A kind of feed file: what it holds and who may send it. The one list of kinds: the feed
/// validators (`feeds::kinds`), the tables (`storage::feed_tables`), the demo and the synthetic
/// city's files all match on it, so a new kind fails to compile until each has its part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeedKind {
    Enterprises,
    TaxGrades,
    TaxPayments,
    Households,
    FarmerAssessments,
    PublicRecords,
    LoanOutcomes,
}

impl FeedKind {
    /// Every kind, in the order a new database takes them: subjects (enterprises, households)
    /// before the facts and loans that name them.
    pub const ALL: [FeedKind; 7] = [
        FeedKind::Enterprises,
        FeedKind::TaxGrades,
        FeedKind::TaxPayments,
        FeedKind::Households,
        FeedKind::FarmerAssessments,
        FeedKind::PublicRecords,
        FeedKind::LoanOutcomes,
    ];

    /// How often a kind is expected to arrive, in days: the console's overview shows a kind as
    /// late past it. Grades and assessments are yearly, payments and loan outcomes monthly (with
    /// a few days' grace), public records weekly, the enterprise register monthly.
    pub fn expected_cadence_days(self) -> i64 {
        match self {
            FeedKind::TaxGrades | FeedKind::Households | FeedKind::FarmerAssessments => 366,
            FeedKind::Enterprises | FeedKind::TaxPayments | FeedKind::LoanOutcomes => 35,
            FeedKind::PublicRecords => 8,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Enterprises => "enterprises",
            FeedKind::TaxGrades => "tax-grades",
            FeedKind::TaxPayments => "tax-payments",
            FeedKind::Households => "households",
            FeedKind::FarmerAssessments => "farmer-assessments",
            FeedKind::PublicRecords => "public-records",
            FeedKind::LoanOutcomes => "loan-outcomes",
        }
    }

    /// The conventional name of this kind's file (`tax-grades.csv`), as the synthetic city
    /// writes it and the demo imports it.
    pub fn file_name(self) -> &'static str {
        match self {
            FeedKind::Enterprises => "enterprises.csv",
            FeedKind::TaxGrades => "tax-grades.csv",
            FeedKind::TaxPayments => "tax-payments.csv",
            FeedKind::Households => "households.csv",
            FeedKind::FarmerAssessments => "farmer-assessments.csv",
            FeedKind::PublicRecords => "public-records.csv",
            FeedKind::LoanOutcomes => "loan-outcomes.csv",
        }
    }

    /// Who may send this kind (product.md): each data owner its own feeds, admin all of them.
    pub fn allowed_roles(self) -> &'static [Role] {
        match self {
            FeedKind::Enterprises | FeedKind::TaxGrades | FeedKind::TaxPayments => {
                &[Role::TaxBureau, Role::Admin]
            }
            FeedKind::Households | FeedKind::FarmerAssessments => &[Role::Assessor, Role::Admin],
            FeedKind::PublicRecords => &[Role::PublicRecords, Role::Admin],
            FeedKind::LoanOutcomes => &[Role::Bank, Role::Admin],
        }
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FeedKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeedKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = FeedKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown feed kind {:?}; expected one of: {}",
                    s.chars().take(40).collect::<String>(),
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_from_its_name_and_names_its_file() {
        for kind in FeedKind::ALL {
            assert_eq!(kind.as_str().parse::<FeedKind>(), Ok(kind));
            assert_eq!(kind.file_name(), format!("{}.csv", kind.as_str()));
        }
        let err = "tax_grades".parse::<FeedKind>().unwrap_err();
        assert!(err.contains("tax-grades"), "{err}");
    }
}
