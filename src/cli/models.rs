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
    /// A generated city's truth.csv: also report the oracle AUC and the observable ceiling on the
    /// same out-of-time loans
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
            let c = ceilings(&outcome.oot_loans, truth)?;
            out["oracle_oot_auc"] = c.oracle.into();
            out["auc_vs_oracle"] = (outcome.oot_auc / c.oracle).into();
            out["observable_oot_auc"] = c.observable.into();
            out["auc_vs_observable"] = c.observable.map(|o| outcome.oot_auc / o).into();
        }
        println!("{out}");
        state.db.close().await;
        Ok(())
    })
}

/// The two ceilings of a generated city on the same out-of-time loans.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ceilings {
    /// AUC of ranking the loans by their true default probability (`true_pd`: it includes the
    /// hidden terms no model can see) — the best any model could do.
    oracle: f64,
    /// AUC of ranking them by the PD of the observable terms alone (`observable_pd`) — what a
    /// model that got every observable effect right would reach. `None` for a truth.csv written
    /// before that column existed.
    observable: Option<f64>,
}

/// Reads `truth.csv` of a generated city (`loan_id,true_pd[,observable_pd]`, columns found by
/// name) and ranks `oot_loans` (id, defaulted) by each probability.
fn ceilings(oot_loans: &[(String, bool)], truth_csv: &std::path::Path) -> anyhow::Result<Ceilings> {
    let name = truth_csv.display();
    let mut reader =
        csv::Reader::from_path(truth_csv).with_context(|| format!("reading {name}"))?;
    let headers = reader
        .headers()
        .with_context(|| format!("reading {name}"))?
        .clone();
    let column = |c: &str| headers.iter().position(|h| h == c);
    let id_at = column("loan_id").with_context(|| format!("{name}: no column loan_id"))?;
    let true_at = column("true_pd").with_context(|| format!("{name}: no column true_pd"))?;
    let observable_at = column("observable_pd");
    let mut truth = std::collections::HashMap::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("reading {name}"))?;
        let line = n + 2;
        let number = |at: usize, what: &str| -> anyhow::Result<f64> {
            let cell = row.get(at).unwrap_or_default();
            cell.parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .with_context(|| {
                    format!("{name} line {line}: {what} `{cell}` is not a probability")
                })
        };
        let observable = observable_at
            .map(|at| number(at, "observable_pd"))
            .transpose()?;
        truth.insert(
            row.get(id_at).unwrap_or_default().to_owned(),
            (number(true_at, "true_pd")?, observable),
        );
    }
    let (mut oracle, mut observable, mut bad) = (Vec::new(), Vec::new(), Vec::new());
    for (id, b) in oot_loans {
        let (t, o) = truth
            .get(id)
            .with_context(|| format!("loan {id} is not in {name}"))?;
        oracle.push(*t);
        observable.extend(*o);
        bad.push(*b);
    }
    Ok(Ceilings {
        oracle: training::metrics::auc(&oracle, &bad),
        observable: (observable_at.is_some()).then(|| training::metrics::auc(&observable, &bad)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loans(v: &[(&str, bool)]) -> Vec<(String, bool)> {
        v.iter().map(|&(id, b)| (id.to_owned(), b)).collect()
    }

    fn truth(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    /// Both ceilings are measured on the out-of-time loans only: a loan in truth.csv but not
    /// out of time plays no part, and each column ranks by its own probability.
    #[test]
    fn both_ceilings_rank_the_same_out_of_time_loans() {
        let f = truth(
            "loan_id,true_pd,observable_pd\n\
             L1,0.9,0.2\n\
             L2,0.1,0.3\n\
             L3,0.8,0.4\n\
             L4,0.2,0.1\n\
             L5,0.0,1.0\n",
        );
        // Bads L1, L3; goods L2, L4. true_pd ranks both bads above both goods (AUC 1);
        // observable_pd ranks L3 (0.4) > L2 (0.3) > L1 (0.2) > L4 (0.1): 3 of 4 pairs (0.75).
        let oot = loans(&[("L1", true), ("L2", false), ("L3", true), ("L4", false)]);
        let c = ceilings(&oot, f.path()).unwrap();
        assert_eq!(c.oracle, 1.0);
        assert_eq!(c.observable, Some(0.75));
    }

    #[test]
    fn an_older_truth_file_gives_the_oracle_alone() {
        let f = truth("loan_id,true_pd\nL1,0.9\nL2,0.1\n");
        let c = ceilings(&loans(&[("L1", true), ("L2", false)]), f.path()).unwrap();
        assert_eq!((c.oracle, c.observable), (1.0, None));
    }

    #[test]
    fn a_missing_loan_or_a_bad_probability_is_named() {
        let f = truth("loan_id,true_pd,observable_pd\nL1,0.9,0.5\n");
        let err = ceilings(&loans(&[("L9", true)]), f.path()).unwrap_err();
        assert!(err.to_string().contains("loan L9 is not in"), "{err:#}");
        let f = truth("loan_id,true_pd,observable_pd\nL1,0.9,0.5\nL2,0.1,high\n");
        let err = ceilings(&loans(&[("L1", true)]), f.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains("line 3: observable_pd `high` is not a probability"),
            "{err:#}"
        );
        let f = truth("loan,pd\nL1,0.9\n");
        let err = ceilings(&loans(&[("L1", true)]), f.path()).unwrap_err();
        assert!(err.to_string().contains("no column loan_id"), "{err:#}");
    }
}
