//! `creditbridge models list|show|import|promote|approve|rollback|monitor` and `creditbridge retrain`.

use anyhow::Context;
use chrono::NaiveDate;

use crate::domain::Product;
use crate::lifecycle::retrain;
use crate::settings::Settings;
use crate::startup;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// List registered models, newest first
    List,
    /// Show one model's metrics and data window
    Show { id: String },
    /// Make a model its product's champion. Gates apply; --force with --reason puts a failing
    /// model up for a second administrator's `models approve`
    Promote {
        id: String,
        #[arg(long)]
        force: bool,
        #[arg(long)]
        reason: Option<String>,
        /// Refuse unless the model is this product's
        #[arg(long)]
        product: Option<Product>,
        /// Who asks (recorded and audited)
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Approve a forced promotion requested by another administrator
    Approve {
        id: String,
        /// Who approves: must differ from who asked
        #[arg(long)]
        by: String,
    },
    /// Put back the champion before the current one (repeat to go further back)
    Rollback {
        product: Product,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Register the models a directory's <product>/CHAMPION files name (e.g. the repository's
    /// models/ demo fixtures) as candidates, audited; `serve` never does this on its own
    Import {
        /// [default: the `models_dir` setting, `models`]
        dir: Option<std::path::PathBuf>,
        /// Also promote each through the gates (with --force and --reason: put up for a second
        /// administrator's approval)
        #[arg(long)]
        promote: bool,
        #[arg(long, requires = "promote")]
        force: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Drift report: PSI of live scores, CSI per characteristic, shadow candidate
    Monitor {
        product: Product,
        /// Days of live scores to compare
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

#[derive(clap::Args, Debug)]
pub struct RetrainArgs {
    #[arg(long)]
    pub product: Product,
    /// Date the training set is built as of [default: today]
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// A generated city's truth.csv: also report the oracle AUC on the same out-of-time loans
    #[arg(long)]
    pub truth: Option<std::path::PathBuf>,
    /// Also write the training and out-of-time samples as DIR/train.csv and DIR/oot.csv
    #[arg(long)]
    pub export_dir: Option<std::path::PathBuf>,
}

pub fn run(args: Args, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    super::runtime()?.block_on(async move {
        let state = startup::build_state(settings).await?;
        let registry = state.registry();
        let out = match args.action {
            Action::List => {
                let models: Vec<_> = state
                    .db
                    .models(None)
                    .await?
                    .into_iter()
                    .map(crate::http::models::summary)
                    .collect();
                serde_json::to_string_pretty(&models)?
            }
            Action::Show { id } => {
                let m = state
                    .db
                    .model(&id)
                    .await
                    .with_context(|| format!("model {id}"))?;
                serde_json::to_string_pretty(&crate::http::models::summary(m))?
            }
            Action::Promote {
                id,
                force,
                reason,
                product,
                by,
            } => serde_json::to_string(
                &registry
                    .promote(&id, &by, force, reason.as_deref(), product)
                    .await?,
            )?,
            Action::Import {
                dir,
                promote,
                force,
                reason,
                by,
            } => {
                let promotion = crate::lifecycle::import::ImportPromotion {
                    promote,
                    force,
                    reason: reason.as_deref(),
                };
                let dir = dir.unwrap_or_else(|| state.settings.models_dir.clone());
                serde_json::to_string_pretty(&registry.import_dir(&dir, &by, &promotion).await?)?
            }
            Action::Approve { id, by } => {
                serde_json::to_string(&registry.approve(&id, &by).await?)?
            }
            Action::Monitor { product, days } => {
                let r = state.monitoring_report(product, days).await?;
                serde_json::to_string_pretty(&r)?
            }
            Action::Rollback { product, by } => {
                let champion = registry.rollback(product, &by).await?;
                serde_json::json!({ "champion": champion }).to_string()
            }
        };
        println!("{out}");
        state.db.close().await;
        Ok(())
    })
}

pub fn run_retrain(args: RetrainArgs, common: &super::Common) -> anyhow::Result<()> {
    let settings = Settings::load(&common.overrides())?;
    super::runtime()?.block_on(async move {
        let state = startup::build_state(settings).await?;
        let as_of = args.as_of.unwrap_or_else(|| state.clock.today());
        let export = match &args.export_dir {
            Some(dir) => {
                let settings = training::Settings::default();
                let with = state.retraining(&settings);
                Some(retrain::export_samples(&with, args.product, as_of, dir).await?)
            }
            None => None,
        };
        let outcome = state.retrain(args.product, as_of).await?;
        let mut out = serde_json::to_value(&outcome)?;
        if let Some(export) = export {
            out["export"] = export;
        }
        if let Some(truth) = &args.truth {
            let oracle = oracle_auc(&outcome, truth)?;
            out["oracle_oot_auc"] = oracle.into();
            out["auc_vs_oracle"] = (outcome.oot_auc / oracle).into();
        }
        println!("{out}");
        state.db.close().await;
        Ok(())
    })
}

/// AUC of ranking the out-of-time loans by their true default probability (`truth.csv` of a
/// generated city: `loan_id,true_pd`) — the best any model could do on the same loans.
fn oracle_auc(
    outcome: &retrain::RetrainOutcome,
    truth_csv: &std::path::Path,
) -> anyhow::Result<f64> {
    let mut truth = std::collections::HashMap::new();
    let mut reader = csv::Reader::from_path(truth_csv)
        .with_context(|| format!("reading {}", truth_csv.display()))?;
    for row in reader.records() {
        let row = row?;
        let pd: f64 = row
            .get(1)
            .unwrap_or_default()
            .parse()
            .with_context(|| format!("{}: true_pd", truth_csv.display()))?;
        truth.insert(row.get(0).unwrap_or_default().to_owned(), pd);
    }
    let (mut pd, mut bad) = (Vec::new(), Vec::new());
    for (id, b) in &outcome.oot_loans {
        let p = truth
            .get(id)
            .with_context(|| format!("loan {id} is not in {}", truth_csv.display()))?;
        pd.push(*p);
        bad.push(*b);
    }
    Ok(training::metrics::auc(&pd, &bad))
}
