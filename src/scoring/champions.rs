//! The models serving each product. A request takes an `Arc` of the champion when it starts, so
//! a promotion swaps the model for new requests while requests in flight finish on theirs.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::domain::Product;
use crate::storage::artifacts::{ArtifactError, ArtifactStore};
use crate::storage::models::ModelRow;
use crate::storage::{Db, StoreError};

pub struct Champion {
    pub id: String,
    pub product: Product,
    pub trained_at: DateTime<Utc>,
    pub model: training::Model,
}

pub struct Champions {
    /// Where artifacts are loaded from (checked against the registry's digest).
    store: ArtifactStore,
    by_product: RwLock<HashMap<Product, Arc<Champion>>>,
    /// The newest candidate of each product, scored in the shadows beside the champion.
    shadows: RwLock<HashMap<Product, Arc<Champion>>>,
    /// One refresh at a time: two that overlap (the periodic reload and one after a promotion)
    /// could otherwise finish out of order, and the one that read the registry first would put
    /// back the champion the other had just replaced, until the next reload.
    refreshing: tokio::sync::Mutex<()>,
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
    #[error("model {id}: {source}")]
    Stored { id: String, source: ArtifactError },
}

impl Champions {
    pub fn new(store: ArtifactStore) -> Self {
        Champions {
            store,
            by_product: RwLock::default(),
            shadows: RwLock::default(),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The artifact store models are loaded from.
    pub fn store(&self) -> &ArtifactStore {
        &self.store
    }

    /// Loads a registered model from the store, checking its digest: what a promotion does
    /// before it changes the registry, so a corrupted artifact never becomes the champion.
    pub fn load(&self, row: &ModelRow) -> Result<training::Model, ChampionError> {
        let text = self
            .store
            .load(&row.artifact_sha256, Some(&row.artifact))
            .map_err(|source| ChampionError::Stored {
                id: row.id.clone(),
                source,
            })?;
        training::Model::from_json(&text).map_err(|source| ChampionError::Artifact {
            id: row.id.clone(),
            source,
        })
    }
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

    /// Loads each product's champion (and its shadow, the newest candidate since) from the
    /// registry, replacing the one held when it changed. Cheap when nothing changed: replicas call
    /// it periodically to pick up promotions. A model that cannot be loaded (a corrupted
    /// artifact) is not taken: the model held keeps serving and the first such error is returned
    /// after every product was looked at.
    pub async fn refresh(&self, db: &Db) -> Result<(), ChampionError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let mut first_error = None;
        for product in [Product::Sme, Product::Farmer] {
            let champion = db.champion(product.as_str()).await?;
            if let Err(e) = self.take(&self.by_product, product, champion) {
                tracing::error!(product = product.as_str(), error = %e, "champion not loaded; the one held keeps serving");
                first_error.get_or_insert(e);
            }
            let shadow = db.newest_candidate(product.as_str()).await?;
            if let Err(e) = self.take(&self.shadows, product, shadow) {
                tracing::warn!(product = product.as_str(), error = %e, "shadow candidate not loaded");
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Puts `row`'s model in `slot` for `product` unless it is there already; no row empties it.
    fn take(
        &self,
        slot: &RwLock<HashMap<Product, Arc<Champion>>>,
        product: Product,
        row: Option<ModelRow>,
    ) -> Result<(), ChampionError> {
        let Some(row) = row else {
            slot.write().expect("champion lock").remove(&product);
            return Ok(());
        };
        let held = slot.read().expect("champion lock").get(&product).cloned();
        if held.is_some_and(|c| c.id == row.id) {
            return Ok(());
        }
        let model = self.load(&row)?;
        let trained_at = model.artifact().training.trained_at;
        tracing::info!(product = product.as_str(), model = %row.id, "model loaded");
        let loaded = Arc::new(Champion {
            id: row.id,
            product,
            trained_at,
            model,
        });
        slot.write().expect("champion lock").insert(product, loaded);
        Ok(())
    }
}
