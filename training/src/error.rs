//! The crate's one error type. Every variant names what is wrong so a caller can print it as a
//! single line for a risk analyst, or match on it.

use std::path::PathBuf;

/// Everything that can go wrong while fitting, loading or scoring a model.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    #[error("invalid setting `{name}`: {reason}")]
    InvalidSetting { name: &'static str, reason: String },
    #[error("the training data has no rows")]
    EmptyData,
    #[error("column `{column}` has {len} rows but the target has {expected}")]
    LengthMismatch {
        column: String,
        len: usize,
        expected: usize,
    },
    #[error("duplicate column `{column}`")]
    DuplicateColumn { column: String },
    #[error("the target has no {missing} (rows: {rows}); a scorecard needs both goods and bads")]
    OneClass { missing: &'static str, rows: usize },
    #[error("no characteristic is usable: {reason}")]
    NoCharacteristics { reason: String },
    #[error("logistic regression failed after {attempts} attempts: {message}")]
    Solver { attempts: usize, message: String },
    #[error("decision-tree challenger failed: {message}")]
    Tree { message: String },
    #[error("{path}: line {line}, column {column} (`{name}`): {message}")]
    Cell {
        path: String,
        line: u64,
        column: usize,
        name: String,
        message: String,
    },
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    #[error("{path}: no column `{column}`{hint}")]
    MissingColumn {
        path: String,
        column: String,
        hint: String,
    },
    #[error("the applicant has no value for characteristic `{name}`")]
    MissingCharacteristic { name: String },
    #[error("characteristic `{name}` is {expected}, but the value given is not")]
    ValueKind {
        name: String,
        expected: &'static str,
    },
    #[error("invalid model artifact: {reason}")]
    InvalidArtifact { reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("model JSON: {source}")]
    Json {
        #[from]
        source: serde_json::Error,
    },
    #[error("report chart `{chart}`: {message}")]
    Report { chart: String, message: String },
}

/// Shorthand used across the crate.
pub type Result<T> = std::result::Result<T, TrainingError>;
