//! The console's Monitoring page (issue 19, part B): month by month per product, the grade mix,
//! score PSI and CSI per characteristic, bad rate by grade and the shadow comparison, as SVG
//! charts with the figures beside them. The page must print the figures the monitoring service
//! computes: compared here with `monitoring_report` over the same scores and with PSI worked
//! out from the scores given, not only looked for.

use creditbridge::domain::Product;
use creditbridge::lifecycle::monitoring::ScoreBaseline;
use serde_json::json;

use crate::common::console::signed_in;
use crate::common::{backends, fixtures, sme_score_body, TestApp};

/// The text of the element with `id` in `html` (up to its first child or end tag).
fn cell(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no element {id}"));
    let open = at + html[at..].find('>').unwrap() + 1;
    html[open..open + html[open..].find('<').unwrap()].to_owned()
}

fn four(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.4}"))
}

/// Training scores spread evenly over 300..900 (as lifecycle's monitoring tests use).
fn wide_baseline() -> ScoreBaseline {
    let training: Vec<f64> = (300..900).map(f64::from).collect();
    ScoreBaseline::from_scores(&training, 10)
}

#[tokio::test]
async fn the_monitoring_page_prints_the_figures_the_monitoring_service_computes() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, |s| s.monitoring.min_sample = 3).await;
        fixtures::seed_subjects(&app.state).await;
        let grade_bands = json!([
            { "grade": "A", "min_score": 700, "max_score": null, "pd_at_min": 0.01, "pd_at_max": null,
              "expected_pd": 0.012, "oot_loans": 200, "oot_bads": 3, "observed_bad_rate": 0.015 },
            { "grade": "B", "min_score": 600, "max_score": 699, "pd_at_min": 0.03, "pd_at_max": 0.01,
              "expected_pd": 0.02, "oot_loans": 100, "oot_bads": 4, "observed_bad_rate": 0.04 }
        ]);
        fixtures::install_champion_with(
            &app.state,
            "sme",
            "sme-mon",
            7,
            json!({ "baseline": wide_baseline(), "grade_bands": grade_bands }),
        )
        .await;
        fixtures::register_candidate(&app.state, "sme", "sme-shadow", 8, json!({})).await;
        app.state.champions.refresh(&app.state.db).await.unwrap();
        let bank = app.partner_key("bank").await;
        let consent = app.consent(&bank, fixtures::USCC, "loan_application").await;
        let mut given = Vec::new();
        for _ in 0..5 {
            let (status, s) = app.score(&bank, sme_score_body(&consent)).await;
            assert_eq!(status, 200, "{s}");
            given.push(s["score"].as_f64().unwrap());
        }
        // Into December: three more scores, a month of their own.
        app.clock.advance(chrono::Duration::days(5));
        for _ in 0..3 {
            let (status, s) = app.score(&bank, sme_score_body(&consent)).await;
            assert_eq!(status, 200, "{s}");
        }
        let c = signed_in(&app, "zhao", "auditor").await;
        let page = c.get("/console/monitoring").await;
        assert_eq!(page.status, 200, "{backend:?}");
        let html = page.body;
        assert!(html.contains("href=\"/console/monitoring\" class=\"here\""));
        assert!(!html.contains("<script"));

        // November: the five scores, their grade and their PSI against the training sample.
        assert_eq!(cell(&html, "observations-sme-2026-11"), "5");
        assert_eq!(cell(&html, "observations-sme-2026-12"), "3");
        assert_eq!(cell(&html, "observations-sme-2026-10"), "0");
        let champion = app.state.champions.get(Product::Sme).unwrap();
        let grade = champion
            .model
            .scorecard()
            .grade_of(given[0] as i32)
            .to_owned();
        assert_eq!(
            cell(&html, &format!("grade-count-sme-2026-11-{grade}")),
            "5"
        );
        assert_eq!(
            cell(&html, "score-psi-sme-2026-11"),
            four(Some(wide_baseline().psi(&given)))
        );
        // Too few scores in October for any figure.
        assert_eq!(cell(&html, "score-psi-sme-2026-10"), "—");

        // December alone is what the service's report over the last day sees: the same figures.
        let report = app.state.monitoring_report(Product::Sme, 1).await.unwrap();
        assert_eq!(report.observations, 3);
        assert_eq!(cell(&html, "score-psi-sme-2026-12"), four(report.score_psi));
        assert!(!report.characteristics.is_empty());
        for ch in &report.characteristics {
            assert_eq!(
                cell(&html, &format!("csi-sme-2026-12-{}", ch.characteristic)),
                four(ch.csi),
                "{}",
                ch.characteristic
            );
        }
        let shadow = report.shadow.expect("a shadow candidate");
        assert_eq!(shadow.model_id, "sme-shadow");
        assert_eq!(cell(&html, "shadow-model-sme"), "sme-shadow");
        assert_eq!(cell(&html, "shadow-observations-sme-2026-12"), "3");
        assert_eq!(
            cell(&html, "shadow-mean-difference-sme-2026-12"),
            four(shadow.mean_difference)
        );
        assert_eq!(
            cell(&html, "shadow-agreement-sme-2026-12"),
            four(shadow.grade_agreement)
        );
        assert_eq!(
            cell(&html, "shadow-spearman-sme-2026-12"),
            four(shadow.rank_correlation)
        );
        assert_eq!(cell(&html, "shadow-psi-sme-2026-12"), four(shadow.psi));

        // Bad rate by grade from the champion's recorded out-of-time outcomes.
        assert_eq!(cell(&html, "bad-rate-sme-A"), "1.5%");
        assert_eq!(cell(&html, "bad-rate-sme-B"), "4.0%");

        // The charts carry the same figures on hover.
        for chart in ["mix-sme", "stability-sme", "bad-rate-sme", "shadow-sme"] {
            assert!(html.contains(&format!("id=\"{chart}\"")), "{chart}");
        }
        assert!(html.contains(&format!(
            "<title>Score PSI · 2026-12: {}</title>",
            four(report.score_psi)
        )));
        assert!(html.contains("<title>2026-11 · "));
        assert!(html.contains("<title>A · Bad rate: 1.5%</title>"));

        // farmer has no champion: said so, nothing drawn.
        assert!(html.contains("id=\"no-champion-farmer\""));
        assert!(!html.contains("id=\"mix-farmer\""));
        app.stop().await;
    }
}

#[tokio::test]
async fn without_scores_outcomes_or_a_shadow_the_page_says_so() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let c = signed_in(&app, "zhao", "auditor").await;
        let html = c.get("/console/monitoring").await.body;
        assert!(html.contains("id=\"no-champion-sme\""), "{backend:?}");
        assert!(html.contains("id=\"no-champion-farmer\""));

        fixtures::install_champion(&app.state, "sme", "sme-quiet", 3).await;
        let html = c.get("/console/monitoring").await.body;
        assert!(html.contains("id=\"no-scores-sme\""), "{html}");
        assert!(html.contains("id=\"no-outcomes-sme\""));
        assert!(html.contains("id=\"no-shadow-sme\""));
        assert!(!html.contains("<svg"));
        // A candidate that has scored nothing yet in the shadows is not a comparison either.
        fixtures::register_candidate(&app.state, "sme", "sme-later", 4, json!({})).await;
        app.state.champions.refresh(&app.state.db).await.unwrap();
        let html = c.get("/console/monitoring").await.body;
        assert!(html.contains("No live scores in the last twelve months"));
        assert!(html.contains("has not scored any request"), "{html}");
        app.stop().await;
    }
}
