//! The first run for a newcomer: a synthetic city generated, imported through the feed path,
//! both products retrained and promoted, one partner of each role — then `serve`. The pipeline
//! is a library function so a test can run it end to end at a small size.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::app::AppState;
use crate::domain::{Product, Role};
use crate::feeds::{FeedKind, FeedRequest};
use crate::simulator;
use crate::users::{self, UserRole};

#[derive(Clone, Debug)]
pub struct DemoSize {
    pub enterprises: u64,
    pub households: u64,
    pub seed: u64,
}

impl Default for DemoSize {
    /// Sized so the promotion gates can judge the models: as of 2026-12-02 the 20,000 + 20,000
    /// city's out-of-time samples held 43 (sme) and 36 (farmer) defaults, against the 30 the gates
    /// need, and both candidates passed; at 4,000 they held a handful and nothing may be promoted.
    fn default() -> Self {
        DemoSize {
            enterprises: 20_000,
            households: 20_000,
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

/// A console account the demo made, with its password: shown once, only its hash is stored.
#[derive(Debug)]
pub struct DemoUser {
    pub name: String,
    pub role: UserRole,
    pub password: String,
}

#[derive(Debug)]
pub struct Prepared {
    pub city_dir: PathBuf,
    pub champions: Vec<(Product, String, f64)>,
    /// Products whose candidate the gates did not pass, with why: the demo never forces a model
    /// past them, so these products have no champion and their scores are refused.
    pub without_champion: Vec<(Product, String)>,
    pub partners: Vec<DemoPartner>,
    /// One console user per role (`demo-operator`, `demo-analyst`, `demo-auditor`), each with a
    /// password generated on this run (a second run gives the same accounts new passwords).
    pub console_users: Vec<DemoUser>,
    /// One enterprise and one household head with matured loans, to try scores on.
    pub sample_enterprise: String,
    pub sample_household: String,
    /// The clock's day when prepared: the instructions' consents are signed on it, so that they
    /// fall within the consent bounds (`[consent]` settings).
    pub today: chrono::NaiveDate,
}

/// Generates a synthetic city of `size` with the months up to last month (by the state's clock)
/// in `city_dir` and imports it through the feed path, as the demo does before training.
pub async fn import_city(state: &AppState, city_dir: &Path, size: &DemoSize) -> anyhow::Result<()> {
    let (start, end) = simulator::months_up_to_last_month(state.clock.today());
    let config = simulator::Config {
        enterprises: size.enterprises,
        households: size.households,
        seed: size.seed,
        start,
        end,
        inject_errors: 0.0,
    };
    let dir = city_dir.to_path_buf();
    tokio::task::spawn_blocking(move || simulator::generate(&config, &dir)).await??;
    eprintln!("generated a synthetic city in {}", city_dir.display());
    // Subjects before the facts that refer to them: `FeedKind::ALL`'s order.
    for kind in FeedKind::ALL {
        let file = kind.file_name();
        let req = FeedRequest {
            kind,
            source: "cli".into(),
            idempotency_key: None,
            path: city_dir.join(file),
            format: None,
            received_at: state.clock.now(),
            limits: state.settings.feed_limits.clone(),
            sender: None,
        };
        let accepted = state
            .import_feed(req, None)
            .await
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        eprintln!("imported {file}: {} rows", accepted.result.rows);
    }
    Ok(())
}

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
        import_city(state, &city_dir, size).await?;
        let registry = state.registry();
        for product in [Product::Sme, Product::Farmer] {
            let o = match state.retrain(product, today).await {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("{}: not trained: {e:#}", product.as_str());
                    continue;
                }
            };
            eprintln!(
                "trained {}: out-of-time AUC {:.3} (95% CI {:.3}-{:.3}), KS {:.3} on {} loans with {} defaults",
                o.id, o.oot_auc, o.oot_auc_ci.0, o.oot_auc_ci.1, o.oot_ks, o.rows_oot, o.oot_bads
            );
            // Gates apply to the demo as to anyone: a model that fails them does not serve.
            match registry
                .promote(&o.id, "demo", false, None, Some(product))
                .await
            {
                Ok(_) => {}
                Err(crate::lifecycle::PromotionError::GatesFailed { .. }) => eprintln!(
                    "{}: {} is not promoted ({:?}): {}",
                    product.as_str(),
                    o.id,
                    o.gate_verdict,
                    o.gate_failures.join("; ")
                ),
                Err(e) => return Err(e.into()),
            }
        }
        std::fs::write(&marker, today.to_string())?;
    } else {
        eprintln!("reusing the prepared city in {}", data_dir.display());
    }

    // Fresh keys each run: keys are only ever shown once, so the previous demo keys are revoked.
    for p in state.db.list_partners().await? {
        if p.active && p.name.starts_with("demo ") {
            state
                .revoke_partner(&p.id, crate::audit::Actor::operator())
                .await?;
        }
    }
    let mut partners = Vec::new();
    for role in Role::ALL {
        let p = state
            .add_partner(
                &format!("demo {}", role.as_str()),
                *role,
                crate::audit::Actor::operator(),
            )
            .await?;
        partners.push(DemoPartner {
            id: p.id,
            name: p.name,
            role: p.role,
            key: p.key,
        });
    }
    let console_users = console_users(state).await?;
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
    let mut without_champion = Vec::new();
    for product in [Product::Sme, Product::Farmer] {
        if state.champions.get(product).is_none() {
            without_champion.push((product, why_no_champion(state, product).await?));
        }
    }
    let (sample_enterprise, sample_household) = samples(&city_dir)?;
    Ok(Prepared {
        city_dir,
        champions,
        without_champion,
        partners,
        console_users,
        sample_enterprise,
        sample_household,
        today,
    })
}

/// One console account per role with a fresh generated password, so the tour can open
/// `/console` at once; on a second run the accounts get new passwords (the old ones are never
/// shown again, since only their hashes were kept). Audited as `users add` is.
async fn console_users(state: &AppState) -> anyhow::Result<Vec<DemoUser>> {
    let mut out = Vec::new();
    for role in [UserRole::Operator, UserRole::Analyst, UserRole::Auditor] {
        let name = format!("demo-{}", role.as_str());
        let password = users::generated_password(state.settings.console.min_password_chars.max(20));
        let added = users::add_or_reset(
            &state.db,
            &state.settings.console,
            &name,
            role,
            &password,
            state.clock.now(),
        )
        .await?;
        crate::console::audit::user_added(state, &name, role, !added)
            .await
            .map_err(|e| anyhow::anyhow!("audit: {e:?}"))?;
        out.push(DemoUser {
            name,
            role,
            password,
        });
    }
    Ok(out)
}

/// Why `product` has no champion, from its latest candidate's recorded gate verdict.
async fn why_no_champion(state: &AppState, product: Product) -> anyhow::Result<String> {
    let models = state.db.models(Some(product.as_str())).await?;
    Ok(match models.first() {
        Some(m) => {
            let r = crate::lifecycle::gate_result(&state.gates, &m.metrics);
            format!(
                "candidate {} did not pass the promotion gates ({}): {}",
                m.id,
                serde_json::to_value(r.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                r.failures.join("; ")
            )
        }
        None => "no model could be trained from this city".into(),
    })
}

/// The first sme and farmer loan subjects of the generated loan file.
fn samples(city_dir: &Path) -> anyhow::Result<(String, String)> {
    let mut reader = csv::Reader::from_path(city_dir.join(FeedKind::LoanOutcomes.file_name()))?;
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
    for (product, why) in &p.without_champion {
        out.push_str(&format!(
            "  {:<7} none: {why}.\n          Scores for {0} are refused until a model passes. A larger city has more \
             defaults to judge a model on: run `creditbridge demo --data-dir NEW_DIR` with the default \
             size (20,000 each) or more.\n",
            product.as_str()
        ));
    }
    let bank = key(Role::Bank);
    let insurer = key(Role::Insurer);
    let admin = key(Role::Admin);
    let evidence = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    // Signed today, valid for six months: inside the default one-year term.
    let signed_at = format!("{}T00:00:00Z", p.today);
    let valid_until = p.today + chrono::Days::new(182);
    out.push_str(&format!(
        r#"
Try it (bash):

  # 1. a bank registers the enterprise's consent, then asks for its score
  CONSENT=$(curl -s {base}/v1/consents -H 'Authorization: Bearer {bank}' -H 'Content-Type: application/json' \
    -d '{{"subject":"{ent}","purpose":"loan_application","valid_until":"{valid_until}","evidence_sha256":"{evidence}","signed_at":"{signed_at}"}}' | sed -E 's/.*"consent_id":"([^"]+)".*/\1/')
  curl -s {base}/v1/scores -H 'Authorization: Bearer {bank}' -H 'Content-Type: application/json' \
    -d "{{\"product\":\"sme\",\"subject\":\"{ent}\",\"purpose\":\"loan_application\",\"consent_id\":\"$CONSENT\"}}"

  # 2. an insurer does the same for a farmer household (synthetic identity number)
  CONSENT=$(curl -s {base}/v1/consents -H 'Authorization: Bearer {insurer}' -H 'Content-Type: application/json' \
    -d '{{"subject":"{hh}","purpose":"underwriting","valid_until":"{valid_until}","evidence_sha256":"{evidence}","signed_at":"{signed_at}"}}' | sed -E 's/.*"consent_id":"([^"]+)".*/\1/')
  curl -s {base}/v1/scores -H 'Authorization: Bearer {insurer}' -H 'Content-Type: application/json' \
    -d "{{\"product\":\"farmer\",\"subject\":\"{hh}\",\"purpose\":\"underwriting\",\"consent_id\":\"$CONSENT\"}}"

  # 3. the operator checks the audit trail and drift
  curl -s {base}/v1/audit/verify -H 'Authorization: Bearer {admin}'
  curl -s {base}/v1/monitoring/sme -H 'Authorization: Bearer {admin}'

Console: {base}/console (passwords shown once; stored as Argon2 hashes only)
{console}
Interactive API docs: {base}/docs     Metrics: {base}/metrics
The city's feed files are in {city}
"#,
        ent = p.sample_enterprise,
        hh = p.sample_household,
        city = p.city_dir.display(),
        console = p
            .console_users
            .iter()
            .map(|u| format!("  {:<9} name {:<14} password {}", u.role.as_str(), u.name, u.password))
            .collect::<Vec<_>>()
            .join("\n"),
    ));
    out
}
