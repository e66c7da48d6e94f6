//! The first run for a newcomer: a synthetic city generated, imported through the feed path,
//! both products retrained and promoted, one partner of each role — then `serve`. The pipeline
//! is a library function so a test can run it end to end at a small size.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{Datelike, Months};
use serde::Serialize;

use crate::app::AppState;
use crate::domain::{Product, Role};
use crate::feeds::{FeedKind, FeedRequest};
use crate::simulator::{self, Month};

#[derive(Clone, Debug)]
pub struct DemoSize {
    pub enterprises: u64,
    pub households: u64,
    pub seed: u64,
}

impl Default for DemoSize {
    /// Sized so the whole pipeline is ready within about half a minute after the build.
    fn default() -> Self {
        DemoSize {
            enterprises: 4_000,
            households: 4_000,
            seed: 7,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DemoPartner {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub key: String,
}

#[derive(Debug)]
pub struct Prepared {
    pub city_dir: PathBuf,
    pub champions: Vec<(Product, String, f64)>,
    pub partners: Vec<DemoPartner>,
    /// One enterprise and one household head with matured loans, to try scores on.
    pub sample_enterprise: String,
    pub sample_household: String,
}

/// Feed order: subjects before the facts that refer to them.
const ORDER: [(FeedKind, &str); 7] = [
    (FeedKind::Enterprises, "enterprises.csv"),
    (FeedKind::TaxGrades, "tax-grades.csv"),
    (FeedKind::TaxPayments, "tax-payments.csv"),
    (FeedKind::Households, "households.csv"),
    (FeedKind::FarmerAssessments, "farmer-assessments.csv"),
    (FeedKind::PublicRecords, "public-records.csv"),
    (FeedKind::LoanOutcomes, "loan-outcomes.csv"),
];

/// Runs the pipeline once as of the state's clock; a data directory that already holds a prepared
/// city is reused (only new demo partner keys are issued, the old ones revoked).
pub async fn prepare(
    state: &AppState,
    data_dir: &Path,
    size: &DemoSize,
) -> anyhow::Result<Prepared> {
    let today = state.clock.today();
    let city_dir = data_dir.join("city");
    let marker = data_dir.join("demo-ready");
    if !marker.exists() {
        // The city runs up to last month, so today's scores see a full year of tax history.
        let last = today.checked_sub_months(Months::new(1)).context("date")?;
        let first = last.checked_sub_months(Months::new(47)).context("date")?;
        let config = simulator::Config {
            enterprises: size.enterprises,
            households: size.households,
            seed: size.seed,
            start: Month::new(first.year(), first.month()),
            end: Month::new(last.year(), last.month()),
            inject_errors: 0.0,
        };
        let dir = city_dir.clone();
        tokio::task::spawn_blocking(move || simulator::generate(&config, &dir)).await??;
        eprintln!("generated a synthetic city in {}", city_dir.display());
        for (kind, file) in ORDER {
            let req = FeedRequest {
                kind,
                source: "cli".into(),
                idempotency_key: None,
                path: city_dir.join(file),
                format: None,
                received_at: state.clock.now(),
                limits: state.settings.feed_limits.clone(),
            };
            let accepted = state
                .import_feed(req, None)
                .await
                .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
            eprintln!("imported {file}: {} rows", accepted.result.rows);
        }
        let registry = state.registry();
        for product in [Product::Sme, Product::Farmer] {
            let o = state
                .retrain(product, today)
                .await
                .with_context(|| format!("retraining {}", product.as_str()))?;
            eprintln!(
                "trained {}: out-of-time AUC {:.3}, KS {:.3} on {} loans",
                o.id, o.oot_auc, o.oot_ks, o.rows_oot
            );
            let forced = !o.gate_failures.is_empty();
            let reason =
                forced.then(|| format!("demo bootstrap despite: {}", o.gate_failures.join("; ")));
            registry
                .promote(&o.id, "demo", forced, reason.as_deref())
                .await?;
        }
        std::fs::write(&marker, today.to_string())?;
    } else {
        eprintln!("reusing the prepared city in {}", data_dir.display());
    }

    // Fresh keys each run: keys are only ever shown once, so the previous demo keys are revoked.
    for p in state.db.list_partners().await? {
        if p.active && p.name.starts_with("demo ") {
            state.db.revoke_partner(&p.id).await?;
        }
    }
    let mut partners = Vec::new();
    for role in Role::ALL {
        let p = state
            .db
            .add_partner(&format!("demo {}", role.as_str()), *role)
            .await?;
        partners.push(DemoPartner {
            id: p.id,
            name: p.name,
            role: p.role,
            key: p.key,
        });
    }
    let champions = state
        .champions
        .loaded()
        .into_iter()
        .map(|(p, id)| {
            let auc = state
                .champions
                .get(p)
                .and_then(|c| c.model.artifact().metrics.test.auc.into())
                .unwrap_or(f64::NAN);
            (p, id, auc)
        })
        .collect();
    let (sample_enterprise, sample_household) = samples(&city_dir)?;
    Ok(Prepared {
        city_dir,
        champions,
        partners,
        sample_enterprise,
        sample_household,
    })
}

/// The first sme and farmer loan subjects of the generated loan file.
fn samples(city_dir: &Path) -> anyhow::Result<(String, String)> {
    let mut reader = csv::Reader::from_path(city_dir.join("loan-outcomes.csv"))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .context("loan-outcomes.csv columns")
    };
    let (product, subject) = (col("product")?, col("subject_id")?);
    let (mut sme, mut farmer) = (None, None);
    for row in reader.records() {
        let row = row?;
        match &row[product] {
            "sme" if sme.is_none() => sme = Some(row[subject].to_owned()),
            "farmer" if farmer.is_none() => farmer = Some(row[subject].to_owned()),
            _ => {}
        }
        if sme.is_some() && farmer.is_some() {
            break;
        }
    }
    Ok((
        sme.context("no sme loan in the city")?,
        farmer.context("no farmer loan in the city")?,
    ))
}

/// What the newcomer reads: keys and ready-to-paste commands.
pub fn instructions(p: &Prepared, base: &str) -> String {
    let key = |role: Role| {
        p.partners
            .iter()
            .find(|x| x.role == role)
            .map(|x| x.key.as_str())
            .unwrap_or("")
    };
    let mut out = String::from(
        "\ncreditbridge demo is ready.\n\nPartner keys (shown once; stored hashed):\n",
    );
    for x in &p.partners {
        out.push_str(&format!("  {:<15} {}\n", x.role.as_str(), x.key));
    }
    out.push_str("\nChampions:\n");
    for (product, id, auc) in &p.champions {
        out.push_str(&format!(
            "  {:<7} {id} (test AUC {auc:.3})\n",
            product.as_str()
        ));
    }
    let bank = key(Role::Bank);
    let insurer = key(Role::Insurer);
    let admin = key(Role::Admin);
    let evidence = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    out.push_str(&format!(
        r#"
Try it (bash):

  # 1. a bank registers the enterprise's consent, then asks for its score
  CONSENT=$(curl -s {base}/v1/consents -H 'Authorization: Bearer {bank}' -H 'Content-Type: application/json' \
    -d '{{"subject":"{ent}","purpose":"loan_application","valid_until":"2099-12-31","evidence_sha256":"{evidence}","signed_at":"2026-01-01T00:00:00Z"}}' | sed -E 's/.*"consent_id":"([^"]+)".*/\1/')
  curl -s {base}/v1/scores -H 'Authorization: Bearer {bank}' -H 'Content-Type: application/json' \
    -d "{{\"product\":\"sme\",\"subject\":\"{ent}\",\"purpose\":\"loan_application\",\"consent_id\":\"$CONSENT\"}}"

  # 2. an insurer does the same for a farmer household (synthetic identity number)
  CONSENT=$(curl -s {base}/v1/consents -H 'Authorization: Bearer {insurer}' -H 'Content-Type: application/json' \
    -d '{{"subject":"{hh}","purpose":"underwriting","valid_until":"2099-12-31","evidence_sha256":"{evidence}","signed_at":"2026-01-01T00:00:00Z"}}' | sed -E 's/.*"consent_id":"([^"]+)".*/\1/')
  curl -s {base}/v1/scores -H 'Authorization: Bearer {insurer}' -H 'Content-Type: application/json' \
    -d "{{\"product\":\"farmer\",\"subject\":\"{hh}\",\"purpose\":\"underwriting\",\"consent_id\":\"$CONSENT\"}}"

  # 3. the operator checks the audit trail and drift
  curl -s {base}/v1/audit/verify -H 'Authorization: Bearer {admin}'
  curl -s {base}/v1/monitoring/sme -H 'Authorization: Bearer {admin}'

Interactive API docs: {base}/docs     Metrics: {base}/metrics
The city's feed files are in {city}
"#,
        ent = p.sample_enterprise,
        hh = p.sample_household,
        city = p.city_dir.display(),
    ));
    out
}
