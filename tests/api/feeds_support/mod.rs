//! Feed fixtures shared by the feed tests: valid identifiers, one small city as tables, and
//! writers for each format (CSV, JSON Lines, a minimal XLSX built by hand).
#![allow(dead_code)]

pub mod xlsx;

use creditbridge::domain::{ResidentId, Uscc};

/// A credit code with both check characters right, for region 440800 and organisation `n`.
pub fn uscc(n: u32) -> String {
    let org8 = format!("{:08}", 10_000_000 + n);
    let org9 = format!("{org8}{}", Uscc::org_check_character(&org8).unwrap());
    let first17 = format!("91440800{org9}");
    format!("{first17}{}", Uscc::check_character(&first17).unwrap())
}

/// A resident id born in 1980 with sequence `n`, check character right.
pub fn resident_id(n: u32) -> String {
    let first17 = format!("44080219800101{:03}", n % 1000);
    format!(
        "{first17}{}",
        ResidentId::check_character(&first17).unwrap()
    )
}

/// A feed as a header and rows of text, writable in every format.
#[derive(Clone, Debug)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str], rows: Vec<Vec<String>>) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows,
        }
    }

    pub fn csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.header).unwrap();
        for r in &self.rows {
            w.write_record(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    /// JSON Lines with English keys; empty cells are left out.
    pub fn jsonl(&self) -> Vec<u8> {
        let mut out = String::new();
        for r in &self.rows {
            let mut obj = serde_json::Map::new();
            for (h, v) in self.header.iter().zip(r) {
                if !v.is_empty() {
                    obj.insert(h.clone(), serde_json::Value::String(v.clone()));
                }
            }
            out.push_str(&serde_json::Value::Object(obj).to_string());
            out.push('\n');
        }
        out.into_bytes()
    }

    pub fn xlsx(&self) -> Vec<u8> {
        let mut rows = vec![self.header.clone()];
        rows.extend(self.rows.iter().cloned());
        xlsx::workbook(&rows)
    }

    pub fn with_header(mut self, header: &[&str]) -> Table {
        self.header = header.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// The tax-grades feed's columns, in file order.
pub const GRADE_COLUMNS: [&str; 6] = [
    "uscc",
    "year",
    "grade",
    "score",
    "direct_d",
    "effective_from",
];

pub fn s(v: &str) -> String {
    v.to_owned()
}

/// The kinds in the order a city is loaded (loans need their subjects first).
pub fn city() -> Vec<(&'static str, Table)> {
    let (e1, e2) = (uscc(1), uscc(2));
    let (h1, h2) = (resident_id(11), resident_id(12));
    vec![
        (
            "enterprises",
            Table::new(
                &[
                    "uscc",
                    "name",
                    "region_code",
                    "industry",
                    "size",
                    "founded_on",
                    "closed_on",
                ],
                vec![
                    vec![
                        e1.clone(),
                        s("湛江糖业有限公司"),
                        s("440802"),
                        s("C"),
                        s("small"),
                        s("2012-05-01"),
                        s(""),
                    ],
                    vec![
                        e2.clone(),
                        s("Xuwen Pineapple Co"),
                        s("440825"),
                        s("A"),
                        s("micro"),
                        s("2019-01-15"),
                        s(""),
                    ],
                ],
            ),
        ),
        (
            "tax-grades",
            Table::new(
                &GRADE_COLUMNS,
                vec![
                    vec![
                        e1.clone(),
                        s("2023"),
                        s("A"),
                        s("95"),
                        s("false"),
                        s("2024-04-20"),
                    ],
                    vec![e2.clone(), s("2023"), s("M"), s(""), s(""), s("2024-04-20")],
                ],
            ),
        ),
        (
            "tax-payments",
            Table::new(
                &[
                    "uscc", "period", "tax_type", "revenue", "tax_due", "tax_paid", "filed_on",
                    "paid_on",
                ],
                vec![
                    vec![
                        e1.clone(),
                        s("2024-01"),
                        s("vat"),
                        s("120000.50"),
                        s("3600.02"),
                        s("3600.02"),
                        s("2024-02-10"),
                        s("2024-02-12"),
                    ],
                    vec![
                        e2.clone(),
                        s("2024-01"),
                        s("vat"),
                        s("0"),
                        s("0"),
                        s("0"),
                        s("2024-02-15"),
                        s(""),
                    ],
                ],
            ),
        ),
        (
            "households",
            Table::new(
                &[
                    "head_id",
                    "region_code",
                    "village_code",
                    "village_name",
                    "members",
                    "labourers",
                    "education",
                    "land_mu",
                    "main_activity",
                ],
                vec![
                    vec![
                        h1.clone(),
                        s("440825"),
                        s("440825100201"),
                        s("北腾村"),
                        s("5"),
                        s("3"),
                        s("junior"),
                        s("12.5"),
                        s("pineapple"),
                    ],
                    vec![
                        h2.clone(),
                        s("440823"),
                        s("440823103202"),
                        s("Gangmen"),
                        s("3"),
                        s("2"),
                        s("senior"),
                        s("4"),
                        s("sugarcane"),
                    ],
                ],
            ),
        ),
        (
            "farmer-assessments",
            Table::new(
                &[
                    "head_id",
                    "year",
                    "assessed_on",
                    "score",
                    "grade",
                    "annual_income",
                    "assets",
                    "liabilities",
                ],
                vec![
                    vec![
                        h1.clone(),
                        s("2024"),
                        s("2024-11-02"),
                        s("82"),
                        s("AAA"),
                        s("86000"),
                        s("350000"),
                        s("20000"),
                    ],
                    vec![
                        h2.clone(),
                        s("2024"),
                        s("2024-11-03"),
                        s("55"),
                        s("none"),
                        s("31000"),
                        s("90000"),
                        s("45000"),
                    ],
                ],
            ),
        ),
        (
            "public-records",
            Table::new(
                &[
                    "record_id",
                    "subject_type",
                    "subject_id",
                    "kind",
                    "severity",
                    "listed_at",
                    "display_until",
                    "repaired_at",
                ],
                vec![
                    vec![
                        s("R-1"),
                        s("enterprise"),
                        e2.clone(),
                        s("admin_penalty"),
                        s("normal"),
                        s("2024-03-01"),
                        s("2024-09-01"),
                        s(""),
                    ],
                    vec![
                        s("R-2"),
                        s("person"),
                        h2.clone(),
                        s("dishonest_debtor"),
                        s(""),
                        s("2023-06-01"),
                        s("2025-06-01"),
                        s(""),
                    ],
                ],
            ),
        ),
        (
            "loan-outcomes",
            Table::new(
                &[
                    "loan_id",
                    "product",
                    "subject_id",
                    "disbursed_on",
                    "amount",
                    "term_months",
                    "defaulted",
                    "defaulted_on",
                ],
                vec![
                    vec![
                        s("L-1"),
                        s("sme"),
                        e1,
                        s("2023-05-10"),
                        s("500000"),
                        s("12"),
                        s("false"),
                        s(""),
                    ],
                    vec![
                        s("L-2"),
                        s("farmer"),
                        h2,
                        s("2023-07-01"),
                        s("50000"),
                        s("12"),
                        s("true"),
                        s("2024-03-01"),
                    ],
                ],
            ),
        ),
    ]
}
