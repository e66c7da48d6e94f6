//! Arrange helpers for scoring tests: subjects fed through the real feed path, and small champion
//! models fitted on synthetic frames whose characteristics carry the catalogue's names.

use std::io::Write;

use creditbridge::feeds::{import, FeedKind, FeedRequest};
use creditbridge::http::AppState;
use creditbridge::storage::models::NewModel;
use rand::{Rng, SeedableRng};
use training::{Column, Frame};

pub const USCC: &str = "91110000600037341L";
pub const USCC_UNKNOWN: &str = "91350100M0001TGQXM";
pub const RESIDENT: &str = "11010519491231002X";
pub const RESIDENT_OTHER: &str = "360426199101010071";

pub async fn feed(state: &AppState, kind: FeedKind, csv: &str) {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    f.write_all(csv.as_bytes()).unwrap();
    let req = FeedRequest {
        kind,
        source: "cli".into(),
        idempotency_key: None,
        path: f.path().to_path_buf(),
        format: None,
        received_at: state.clock.now(),
        limits: Default::default(),
        sender: None,
    };
    import(&state.db, &state.pii, req, None)
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
}

/// One enterprise with a B grade, two years of payments (three filed late) and an active
/// dishonest-debtor listing; one household graded AA — as (feed kind, CSV) in feeding order.
pub fn subject_feeds() -> Vec<(&'static str, String)> {
    let today = super::test_today();
    let mut payments =
        String::from("uscc,period,tax_type,revenue,tax_due,tax_paid,filed_on,paid_on\n");
    for back in 1..=24u32 {
        let month = today - chrono::Months::new(back);
        let period = month.format("%Y-%m");
        let filed = if back <= 3 { "28" } else { "10" };
        let filed_on = format!(
            "{}-{filed}",
            (month + chrono::Months::new(1)).format("%Y-%m")
        );
        payments.push_str(&format!(
            "{USCC},{period},vat,200000.00,6000.00,6000.00,{filed_on},{filed_on}\n"
        ));
    }
    let listed = today - chrono::Days::new(30);
    let until = today + chrono::Days::new(700);
    vec![
        ("enterprises", format!(
            "uscc,name,region_code,industry,size,founded_on,closed_on\n{USCC},湛江海鲜贸易有限公司,440802,F,small,2015-03-01,\n")),
        ("tax-grades", format!(
            "uscc,year,grade,score,direct_d,effective_from\n{USCC},2024,A,92,false,2025-04-20\n{USCC},2025,B,81,false,2026-04-20\n")),
        ("tax-payments", payments),
        ("public-records", format!(
            "record_id,subject_type,subject_id,kind,severity,listed_at,display_until,repaired_at\nDD-1,enterprise,{USCC},dishonest_debtor,normal,{listed},{until},\n")),
        ("households", format!(
            "head_id,region_code,village_code,village_name,members,labourers,education,land_mu,main_activity\n{RESIDENT},440825,440825100201,下桥村,4,2,junior,12.5,pineapple\n")),
        ("farmer-assessments", format!(
            "head_id,year,assessed_on,score,grade,annual_income,assets,liabilities\n{RESIDENT},2026,2026-03-15,74,AA,86000,320000,40000\n")),
    ]
}

/// Feeds `subject_feeds` through the import pipeline.
pub async fn seed_subjects(state: &AppState) {
    for (kind, csv) in subject_feeds() {
        feed_named(state, kind, &csv).await;
    }
}

/// `feed` with the kind given by its name (`tax-grades`).
pub async fn feed_named(state: &AppState, kind: &str, csv: &str) {
    let kind = FeedKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .expect("feed kind");
    feed(state, kind, csv).await;
}

pub fn synthetic_frame(product: &str, rows: usize, seed: u64) -> Frame {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut target = Vec::with_capacity(rows);
    let (mut num_a, mut num_b, mut cat) = (Vec::new(), Vec::new(), Vec::new());
    let levels: &[&str] = if product == "sme" {
        &["A", "B", "M", "C", "D"]
    } else {
        &["AAA", "AA", "A", "none"]
    };
    for _ in 0..rows {
        let a: f64 = rng.gen_range(0.0..12.0_f64).floor();
        let b: f64 = rng.gen_range(0.0..100_000.0);
        let g = rng.gen_range(0..levels.len());
        let z = -3.5 + 0.35 * a - b / 60_000.0 + 0.5 * g as f64;
        target.push(rng.gen::<f64>() < 1.0 / (1.0 + (-z).exp()));
        num_a.push(a);
        num_b.push(b);
        cat.push(Some(levels[g]));
    }
    let (na, nb, nc) = if product == "sme" {
        ("late_filing_months_24m", "tax_paid_12m", "tax_grade")
    } else {
        ("prior_defaults", "income_per_head", "farmer_grade")
    };
    let meta = |name: &str| {
        let all = creditbridge::features::catalogue::SME
            .iter()
            .chain(creditbridge::features::catalogue::FARMER);
        creditbridge::features::meta_of(all.into_iter().find(|c| c.name == name).unwrap())
    };
    Frame::new(
        vec![
            Column::numeric(na, num_a).with_meta(meta(na)),
            Column::numeric(nb, num_b).with_meta(meta(nb)),
            Column::categorical(nc, cat).with_meta(meta(nc)),
        ],
        target,
    )
}

/// Fits a small model for `product`, registers it under `id` and makes it the champion.
pub async fn install_champion(state: &AppState, product: &str, id: &str, seed: u64) {
    install_champion_with(state, product, id, seed, serde_json::json!({})).await
}

/// As `install_champion`, with recorded `metrics` (e.g. a training `baseline` for monitoring).
pub async fn install_champion_with(
    state: &AppState,
    product: &str,
    id: &str,
    seed: u64,
    metrics: serde_json::Value,
) {
    register_candidate(state, product, id, seed, metrics).await;
    state
        .db
        .promote_model(
            id,
            &creditbridge::storage::models::Promotion {
                by: "test",
                forced: true,
                reason: Some("fixture"),
                approved_by: None,
                kind: "promotion",
                at: state.clock.now(),
            },
        )
        .await
        .unwrap();
    state.champions.refresh(&state.db).await.unwrap();
}

/// Fits a small model for `product` and registers it under `id` as a candidate with recorded
/// `metrics` (without `gate_inputs` it fails the gates: promoting it needs a second person).
pub async fn register_candidate(
    state: &AppState,
    product: &str,
    id: &str,
    seed: u64,
    metrics: serde_json::Value,
) {
    let fitted = training::fit(
        &synthetic_frame(product, 4000, seed),
        &training::Settings::default(),
    )
    .unwrap();
    state
        .db
        .register_model(
            id,
            &NewModel {
                product,
                artifact: &fitted.model.to_json().unwrap(),
                metrics: &metrics,
                data_window: &serde_json::json!({}),
                created_at: state.clock.now(),
            },
        )
        .await
        .unwrap();
}
