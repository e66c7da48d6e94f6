//! The models serving each product. A request takes an `Arc` of the champion when it starts, so
//! a promotion swaps the model for new requests while requests in flight finish on theirs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::domain::Product;
use crate::storage::models::NewModel;
use crate::storage::{Db, StoreError};

pub struct Champion {
    pub id: String,
    pub product: Product,
    pub trained_at: DateTime<Utc>,
    pub model: training::Model,
}

#[derive(Default)]
pub struct Champions {
    by_product: RwLock<HashMap<Product, Arc<Champion>>>,
    /// The newest candidate of each product, scored in the shadows beside the champion.
    shadows: RwLock<HashMap<Product, Arc<Champion>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChampionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("model {id} cannot be loaded: {source}")]
    Artifact {
        id: String,
        source: training::TrainingError,
    },
    #[error("cannot read {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl Champions {
    pub fn get(&self, product: Product) -> Option<Arc<Champion>> {
        self.by_product
            .read()
            .expect("champion lock")
            .get(&product)
            .cloned()
    }

    pub fn shadow(&self, product: Product) -> Option<Arc<Champion>> {
        self.shadows
            .read()
            .expect("shadow lock")
            .get(&product)
            .cloned()
    }

    pub fn loaded(&self) -> Vec<(Product, String)> {
        let map = self.by_product.read().expect("champion lock");
        map.values().map(|c| (c.product, c.id.clone())).collect()
    }

    /// Loads each product's champion from the registry, replacing the one held when it changed.
    /// Cheap when nothing changed: replicas call it periodically to pick up promotions.
    pub async fn refresh(&self, db: &Db) -> Result<(), ChampionError> {
        for product in [Product::Sme, Product::Farmer] {
            let Some(row) = db.champion(product.as_str()).await? else {
                self.by_product
                    .write()
                    .expect("champion lock")
                    .remove(&product);
                continue;
            };
            if self.get(product).is_some_and(|c| c.id == row.id) {
                continue;
            }
            let model = training::Model::from_json(&row.artifact).map_err(|source| {
                ChampionError::Artifact {
                    id: row.id.clone(),
                    source,
                }
            })?;
            let trained_at = model.artifact().training.trained_at;
            tracing::info!(product = product.as_str(), model = %row.id, "champion loaded");
            let champion = Arc::new(Champion {
                id: row.id,
                product,
                trained_at,
                model,
            });
            self.by_product
                .write()
                .expect("champion lock")
                .insert(product, champion);
        }
        Ok(())
    }
}

/// First start: a product without a champion in the registry gets the artifact committed in
/// `models/<product>/` (named by `models/<product>/CHAMPION`), registered and promoted.
pub async fn bootstrap_from_dir(
    db: &Db,
    models_dir: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ChampionError> {
    for product in [Product::Sme, Product::Farmer] {
        if db.champion(product.as_str()).await?.is_some() {
            continue;
        }
        let dir = models_dir.join(product.as_str());
        let Ok(id) = std::fs::read_to_string(dir.join("CHAMPION")) else {
            continue;
        };
        let id = id.trim();
        let path = dir.join(id).join("model.json");
        let artifact = std::fs::read_to_string(&path).map_err(|source| ChampionError::File {
            path: path.display().to_string(),
            source,
        })?;
        let model =
            training::Model::from_json(&artifact).map_err(|source| ChampionError::Artifact {
                id: id.to_owned(),
                source,
            })?;
        let metrics = serde_json::to_value(&model.artifact().metrics).unwrap_or_default();
        let window = serde_json::json!({ "source": path.display().to_string() });
        match db.model(id).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                db.register_model(&NewModel {
                    id,
                    product: product.as_str(),
                    artifact: &artifact,
                    metrics: &metrics,
                    data_window: &window,
                    created_at: now,
                })
                .await?
            }
            Err(e) => return Err(e.into()),
        }
        db.promote_model(
            id,
            &crate::storage::models::Promotion {
                by: "bootstrap",
                forced: false,
                reason: Some("committed champion"),
                approved_by: None,
                kind: "promotion",
                at: now,
            },
        )
        .await?;
        tracing::info!(
            product = product.as_str(),
            model = id,
            "committed champion registered"
        );
    }
    Ok(())
}
