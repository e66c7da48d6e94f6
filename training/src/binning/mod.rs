//! Bins of one characteristic: what they are ([`Bin`], [`Binning`]), whether they follow their
//! declared shape ([`trend`]), how a value finds its bin ([`Locator`], shared by training and
//! scoring so the two can never disagree), and the numeric binning itself ([`numeric`]):
//! quantile pre-bins merged by [`crate::merge::best_partition`].

mod locator;
mod numeric;
mod trend;

use serde::{Deserialize, Serialize};

use crate::settings::Trend;
use crate::woe::{iv_term, woe};

pub use locator::Locator;
pub use numeric::{bin_numeric, shape_criterion, SHAPE_PENALTY_PER_PARAMETER};
pub(crate) use numeric::{bin_numeric_on_cuts, constraints, quantile_cuts};
pub use trend::{bins_follow_trend, follows_trend, regular_bins};

/// Which values fall into a bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BinRule {
    /// `lower <= x < upper`; `None` is unbounded.
    Range {
        lower: Option<f64>,
        upper: Option<f64>,
    },
    /// A named special code such as -1.
    Special {
        value: f64,
    },
    Missing,
    Categories {
        values: Vec<String>,
    },
    /// A category never seen in training. Scores with WoE 0, the average applicant's risk.
    Unseen,
}

impl BinRule {
    /// Human label for tables and charts.
    pub fn label(&self) -> String {
        match self {
            BinRule::Range { lower, upper } => {
                let l = lower.map_or("-inf".to_owned(), |v| format!("{v}"));
                let u = upper.map_or("+inf".to_owned(), |v| format!("{v}"));
                format!("[{l}, {u})")
            }
            BinRule::Special { value } => format!("= {value}"),
            BinRule::Missing => "missing".to_owned(),
            BinRule::Categories { values } if values.len() > 6 => {
                format!(
                    "{{{}, … ({} categories)}}",
                    values[..5].join(", "),
                    values.len()
                )
            }
            BinRule::Categories { values } => format!("{{{}}}", values.join(", ")),
            BinRule::Unseen => "unseen category".to_owned(),
        }
    }
}

/// One bin with its training counts, WoE, IV contribution and (once scaled) its points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub rule: BinRule,
    pub goods: u64,
    pub bads: u64,
    pub woe: f64,
    pub iv: f64,
    /// Scorecard points; 0 until the scorecard is built.
    pub points: i32,
}

impl Bin {
    pub fn bad_rate(&self) -> Option<f64> {
        let n = self.goods + self.bads;
        (n > 0).then(|| self.bads as f64 / n as f64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Numeric,
    Categorical,
}

/// The bins of one characteristic. Layout: numeric = regular ranges in ascending order, then
/// special bins, then the missing bin; categorical = category groups, missing, unseen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binning {
    pub name: String,
    pub kind: Kind,
    /// The bad-rate shape the regular bins follow.
    pub trend: Trend,
    pub bins: Vec<Bin>,
    pub iv: f64,
}

impl Binning {
    pub(crate) fn finish(
        name: &str,
        kind: Kind,
        trend: Trend,
        mut bins: Vec<Bin>,
        tg: u64,
        tb: u64,
        a: f64,
    ) -> Self {
        for b in &mut bins {
            b.woe = woe(b.goods, b.bads, tg, tb, a);
            b.iv = iv_term(b.goods, b.bads, tg, tb, a);
        }
        let iv = bins.iter().map(|b| b.iv).sum();
        Binning {
            name: name.to_owned(),
            kind,
            trend,
            bins,
            iv,
        }
    }
}

impl Binning {
    /// The bins the trend applies to (see [`regular_bins`]).
    pub fn regular_bins(&self) -> impl Iterator<Item = &Bin> {
        regular_bins(&self.bins)
    }

    /// Whether the regular bins follow the declared trend (see [`bins_follow_trend`]).
    pub fn follows_trend(&self) -> bool {
        bins_follow_trend(self.trend, &self.bins)
    }
}
