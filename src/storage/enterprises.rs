//! Enterprises as the tax bureau registers them. A later feed row for the same credit code
//! replaces the attributes (the register is a current-state list, not a history).

use chrono::NaiveDate;
use serde::Serialize;

use super::feeds::{FeedRow, Val};
use super::{Db, StoreError};
use crate::with_db;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Enterprise {
    pub uscc: String,
    pub name: String,
    pub region_code: String,
    pub industry: String,
    pub size: String,
    pub founded_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    /// An early pilot code that fails the GB 32100 check but is legal.
    pub pilot_code: bool,
}

impl FeedRow for Enterprise {
    const TABLE: &'static str = "enterprises";
    const COLUMNS: &'static [&'static str] = &[
        "uscc",
        "name",
        "region_code",
        "industry",
        "size",
        "founded_on",
        "closed_on",
        "pilot_code",
    ];
    const KEY: &'static [&'static str] = &["uscc"];
    const REPLACES: bool = true;

    fn push_values(self, out: &mut Vec<Val>) {
        out.extend([
            Val::Text(self.uscc),
            Val::Text(self.name),
            Val::Text(self.region_code),
            Val::Text(self.industry),
            Val::Text(self.size),
            Val::Date(self.founded_on),
            Val::OptDate(self.closed_on),
            Val::Bool(self.pilot_code),
        ]);
    }
}

impl Db {
    pub async fn enterprise(&self, uscc: &str) -> Result<Option<Enterprise>, StoreError> {
        let sql =
            "SELECT uscc, name, region_code, industry, size, founded_on, closed_on, pilot_code \
                   FROM visible_enterprises WHERE uscc = $1";
        Ok(
            with_db!(self, p => sqlx::query_as::<_, Enterprise>(sql).bind(uscc).fetch_optional(p).await)?,
        )
    }

    /// Every subject a loan outcome may refer to: enterprise credit codes and household subject
    /// keys. Loaded once per loan batch; tens of thousands of short strings.
    pub async fn known_loan_subjects(
        &self,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let sql = "SELECT uscc FROM visible_enterprises UNION ALL SELECT subject_key FROM visible_households";
        let rows: Vec<(String,)> = with_db!(self, p => sqlx::query_as(sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }
}
