//! `models import DIR`: the explicit way committed model files (the repository's `models/`,
//! synthetic demo fixtures) enter the registry. `serve` never does this on its own. Each
//! product's `DIR/<product>/CHAMPION` names a `DIR/<product>/<name>/model.json`; it is copied
//! into the artifact store and registered as a candidate (once: importing the same file again
//! finds it), audited; promoting it is asked for separately or with `--promote`, through the
//! gates like any other model.

use std::path::Path;

use chrono::Datelike;
use serde::Serialize;
use serde_json::json;

use super::{PromotionError, PromotionOutcome, Registry};
use crate::domain::Product;
use crate::storage::models::NewModel;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0} holds no <product>/CHAMPION file naming a model to import")]
    Nothing(String),
    #[error("cannot read {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a model artifact: {source}")]
    NotAModel {
        path: String,
        #[source]
        source: training::TrainingError,
    },
    #[error(transparent)]
    Promotion(#[from] PromotionError),
}

impl From<crate::storage::StoreError> for ImportError {
    fn from(e: crate::storage::StoreError) -> Self {
        ImportError::Promotion(e.into())
    }
}

/// One imported model.
#[derive(Debug, Serialize)]
pub struct Imported {
    pub product: String,
    /// The name it has in the directory (e.g. `sme-2026Q4-1`).
    pub fixture: String,
    /// Its registry id.
    pub id: String,
    /// False when the same artifact was already registered.
    pub registered: bool,
    /// When a promotion was asked for: what it led to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion: Option<PromotionOutcome>,
}

/// What to do with imported models beyond registering them.
#[derive(Debug, Default)]
pub struct ImportPromotion<'a> {
    pub promote: bool,
    pub force: bool,
    pub reason: Option<&'a str>,
}

impl Registry<'_> {
    /// Registers the models named in `dir` (see the module comment) and, when asked, promotes
    /// each through the gates (a forced promotion waits for a second administrator).
    pub async fn import_dir(
        &self,
        dir: &Path,
        by: &str,
        promotion: &ImportPromotion<'_>,
    ) -> Result<Vec<Imported>, ImportError> {
        let mut out = Vec::new();
        for product in [Product::Sme, Product::Farmer] {
            let pdir = dir.join(product.as_str());
            let Ok(name) = std::fs::read_to_string(pdir.join("CHAMPION")) else {
                continue;
            };
            let name = name.trim().to_owned();
            let path = pdir.join(&name).join("model.json");
            let artifact = std::fs::read_to_string(&path).map_err(|source| ImportError::File {
                path: path.display().to_string(),
                source,
            })?;
            let model =
                training::Model::from_json(&artifact).map_err(|source| ImportError::NotAModel {
                    path: path.display().to_string(),
                    source,
                })?;
            let digest = self
                .champions
                .store()
                .put(&artifact)
                .map_err(|e| PromotionError::Unloadable(e.to_string()))?;
            let (id, registered) = match self.db.model_by_digest(product.as_str(), &digest).await? {
                Some(existing) => (existing.id, false),
                None => {
                    let trained = model.artifact().training.trained_at.date_naive();
                    let prefix = format!(
                        "{}-{}Q{}-",
                        product.as_str(),
                        trained.year(),
                        trained.month0() / 3 + 1
                    );
                    let id = self
                        .db
                        .register_candidate(
                            &prefix,
                            &NewModel {
                                product: product.as_str(),
                                artifact: &artifact,
                                metrics: &json!({ "imported": true, "model": model.artifact().metrics }),
                                data_window: &json!({ "imported_from": path.display().to_string(), "fixture": name }),
                                created_at: self.clock.now(),
                            },
                        )
                        .await?;
                    self.audit_event(
                        crate::audit::EventKind::ModelImported,
                        by,
                        product.as_str(),
                        &id,
                        json!({ "from": path.display().to_string(), "fixture": name,
                                "artifact_sha256": digest }),
                    )
                    .await?;
                    (id, true)
                }
            };
            let promotion = if promotion.promote {
                Some(
                    self.promote(&id, by, promotion.force, promotion.reason, Some(product))
                        .await?,
                )
            } else {
                None
            };
            out.push(Imported {
                product: product.as_str().into(),
                fixture: name,
                id,
                registered,
                promotion,
            });
        }
        if out.is_empty() {
            return Err(ImportError::Nothing(dir.display().to_string()));
        }
        Ok(out)
    }
}
