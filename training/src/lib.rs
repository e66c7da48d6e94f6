//! # training — explainable credit scorecards
//!
//! Binning, weight of evidence, a logistic scorecard with integer points, reason codes, a
//! decision-tree challenger, metrics, stability indices and a self-contained HTML report. No HTTP
//! and no SQL: the service feeds it frames and stores its artifacts.
//!
//! ## The API the service uses
//!
//! Fitting from data the service has assembled:
//!
//! ```no_run
//! use training::{fit, Column, Frame, Settings, CharacteristicMeta};
//! let frame = Frame::new(
//!     vec![
//!         Column::numeric("late_filing_months_24m", vec![0.0, 3.0, f64::NAN /* missing */]).with_meta(
//!             CharacteristicMeta { code: "SME-TAX-03".into(), text_en: "Late tax filings in the last 24 months".into(), text_zh: "近24个月存在逾期申报".into() }),
//!         Column::categorical("tax_grade", [Some("A"), Some("B"), None]),
//!     ],
//!     vec![false, true, false], // true = bad
//! );
//! let fitted = fit(&frame, &Settings::default().max_bins(6))?; // stratified hold-out
//! fitted.model.save("model.json")?;
//! # Ok::<(), training::TrainingError>(())
//! ```
//!
//! Loading and scoring one applicant:
//!
//! ```no_run
//! use std::collections::HashMap;
//! use training::{Model, Value};
//! let model = Model::load("model.json")?; // validates the artifact
//! let applicant = HashMap::from([
//!     ("late_filing_months_24m".to_string(), Value::Number(2.0)),
//!     ("tax_grade".to_string(), Value::Category("B".into())),
//! ]);
//! let out = model.score(&applicant)?; // score: i32, pd: f64, grade: String, reasons: Vec<Reason>
//! # Ok::<(), training::TrainingError>(())
//! ```
//!
//! * [`fit`] / [`fit_with_test`] → [`FittedModel`] (`model` + test-sample [`Evaluation`]).
//! * [`Model::load`], [`Model::from_json`], [`Model::from_artifact`] validate; [`Model::save`].
//! * [`Model::score`] takes any [`Applicant`] (a `HashMap<String, Value>`, a `BTreeMap`, or a
//!   closure `Fn(&str) -> Option<Value>`); an absent characteristic is an error, an unknown one
//!   is [`Value::Missing`]. Reasons carry the stable code and en/zh texts from the frame's
//!   [`CharacteristicMeta`] (generated from the column name when none is given).
//! * [`Model::score_frame`] scores columns in bulk; [`batch::score_csv`] scores a CSV.
//! * [`metrics`]: `auc`, `ks`, `gini`, `brier`, `log_loss`, `gains`, `psi`, `psi_from_counts`, `csi`.
//!
//! ## Conventions
//!
//! * The event is **bad**: `Frame::target[i] == true`. linfa's own class convention is undone in
//!   exactly one place, [`logistic::bad_log_odds`].
//! * WoE = ln(%good / %bad), smoothed (see [`woe`]); higher WoE is safer.
//! * `score = offset + factor · ln(good:bad odds)`; default 600 at 50:1, PDO 20.
//! * A missing value scores in the characteristic's missing bin; a category never seen in
//!   training scores in its "unseen" bin, which has WoE 0 and therefore 0 points (the average
//!   applicant). Both bins are listed with their points in `model.json` and the report.

pub mod artifact;
pub mod batch;
pub mod binning;
mod blocks;
pub mod categorical;
pub mod csv_input;
mod error;
mod fit;
pub mod frame;
pub mod logistic;
pub mod merge;
pub mod metrics;
mod model;
pub mod reasons;
pub mod report;
pub mod scorecard;
pub mod selection;
pub mod settings;
pub mod tree;
pub mod tune;
pub mod woe;

pub use artifact::ModelArtifact;
pub use error::{Result, TrainingError};
pub use fit::{fit, fit_tuned, fit_with_test, fit_with_test_tuned, Evaluation, FittedModel};
pub use frame::{CategoricalData, CharacteristicMeta, Column, ColumnData, Frame};
pub use model::{Applicant, Model, ScoreOutcome, Value};
pub use reasons::Reason;
pub use settings::{GradeBand, Scaling, Settings, Trend};
pub use tune::{FoldScheme, StandardErrorRule, Tuning, TuningReport};
