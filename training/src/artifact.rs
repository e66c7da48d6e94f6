//! `model.json`: everything needed to score plus how the model came to be. Loading goes through
//! [`crate::Model::from_artifact`], which validates it before anything is scored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;
use crate::scorecard::Scorecard;
use crate::selection::SelectionRecord;
use crate::settings::Settings;
use crate::tree::TreeChallenger;
use crate::tune::TuningReport;

/// Version of the artifact layout; loading refuses any other.
pub const SCHEMA_VERSION: u32 = 1;
/// The `format` field every artifact carries.
pub const FORMAT: &str = "creditbridge.scorecard";

/// Where and how the model was trained (domain notes §6: reproducible from data and settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingMeta {
    /// SHA-256 of the training file, when trained from one.
    pub input_sha256: Option<String>,
    pub rows: u64,
    pub bads: u64,
    pub bad_rate: f64,
    pub test_rows: u64,
    /// "test file" or "stratified hold-out".
    pub evaluated_on: String,
    pub trained_at: DateTime<Utc>,
    pub seconds: f64,
    pub settings: Settings,
    pub library_version: String,
}

/// Quality on the training and test samples, and the challenger's side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    pub train: Metrics,
    pub test: Metrics,
    pub challenger_test: Option<Metrics>,
}

/// The serialised model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub format: String,
    pub schema_version: u32,
    pub scorecard: Scorecard,
    pub challenger: Option<TreeChallenger>,
    pub selection: Vec<SelectionRecord>,
    pub training: TrainingMeta,
    pub metrics: ModelMetrics,
    /// How the settings were chosen, when they were tuned by cross-validation (absent in
    /// artifacts fitted with fixed settings, and in those written before tuning existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<TuningReport>,
}
