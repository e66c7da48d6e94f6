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
        assert!(html.contains("id=\"no-approvals-sme\""));
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

/// A valid credit code for enterprise number `i` (its two check characters computed).
fn uscc(i: u32) -> String {
    use creditbridge::domain::Uscc;
    let org = format!("{:08}", 30_000_000 + i);
    let first17 = format!("91440802{org}{}", Uscc::org_check_character(&org).unwrap());
    format!("{first17}{}", Uscc::check_character(&first17).unwrap())
}

/// A delivered score of `product` for an enterprise, recorded in the ledger at `at` with `grade`
/// as the scoring use case records it (subject keyed, product and grade in the body).
async fn delivered(app: &TestApp, code: &str, grade: &str, at: &str) {
    use creditbridge::audit::{Actor, AuditEvent, AuditSubject, EventKind, Outcome};
    let subject = AuditSubject::of(&app.state.pii, "enterprise", code, "91**********1234");
    let event = AuditEvent::new(
        EventKind::ScoreDelivered,
        Actor::Partner {
            partner_id: "bank-test".into(),
        },
        at.parse().unwrap(),
    )
    .subject(subject)
    .with("product", "sme")
    .with("grade", grade)
    .outcome(Outcome::Delivered);
    app.state.audit.record(event).await.unwrap();
}

#[tokio::test]
async fn approval_rate_and_live_bad_rate_by_grade_join_delivered_scores_to_the_loans_after_them() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        fixtures::install_champion(&app.state, "sme", "sme-live", 5).await;
        let grades: Vec<String> = app
            .state
            .champions
            .get(Product::Sme)
            .unwrap()
            .model
            .scorecard()
            .grades
            .iter()
            .map(|g| g.grade.clone())
            .collect();
        assert!(grades.len() >= 2, "{grades:?}");
        let (a, b) = (grades[0].as_str(), grades[1].as_str());
        let e: Vec<String> = (1..=6).map(uscc).collect();
        let mut enterprises =
            String::from("uscc,name,region_code,industry,size,founded_on,closed_on\n");
        for (i, code) in e.iter().enumerate() {
            enterprises.push_str(&format!("{code},测试企业{i},440802,F,small,2015-03-01,\n"));
        }
        fixtures::feed_named(&app.state, "enterprises", &enterprises).await;

        // June: e1, e2, e3 graded a; e4, e5 graded b; e1 again later in June graded b (counted
        // once, under its first score: a). July: e5 again, graded a. e6 is never scored.
        delivered(&app, &e[0], a, "2026-06-03T09:00:00Z").await;
        delivered(&app, &e[1], a, "2026-06-03T10:00:00Z").await;
        delivered(&app, &e[2], a, "2026-06-03T11:00:00Z").await;
        delivered(&app, &e[3], b, "2026-06-03T12:00:00Z").await;
        delivered(&app, &e[4], b, "2026-06-04T09:00:00Z").await;
        delivered(&app, &e[0], b, "2026-06-23T09:00:00Z").await;
        delivered(&app, &e[4], a, "2026-07-05T09:00:00Z").await;
        // One real score through the API (November) for the fixture enterprise.
        let bank = app.partner_key("bank").await;
        let consent = app.consent(&bank, fixtures::USCC, "loan_application").await;
        let (status, real) = app.score(&bank, sme_score_body(&consent)).await;
        assert_eq!(status, 200, "{real}");
        let real_grade = real["grade"].as_str().unwrap().to_owned();

        // e1 defaulted (10 days after); e2 matured (30 days, the window is 90); e3's loan came
        // 120 days after, outside the window; e4's outcome is not known yet; e6 was not scored.
        fixtures::feed(
            &app.state,
            creditbridge::domain::FeedKind::LoanOutcomes,
            &format!(
            "loan_id,product,subject_id,disbursed_on,amount,term_months,defaulted,defaulted_on\n\
             L-1,sme,{},2026-06-13,300000,12,true,2026-09-01\n\
             L-2,sme,{},2026-07-03,300000,12,false,\n\
             L-3,sme,{},2026-10-01,300000,12,false,\n\
             L-4,sme,{},2026-06-08,300000,12,,\n\
             L-6,sme,{},2026-06-10,300000,12,false,\n\
             L-7,sme,{},2026-11-28,300000,12,,\n",
            e[0], e[1], e[2], e[3], e[5], fixtures::USCC
        ),
        )
        .await;

        // The service: by hand, June's a: 3 scored, 2 approved (e1, e2), 2 known, 1 defaulted;
        // June's b: 2 scored (e4, e5), 1 approved (e4), no known outcome; July's a: e5, no loan.
        let h = app
            .state
            .monitoring_history(Product::Sme, 12)
            .await
            .unwrap();
        assert_eq!(h.live.window_days, 90);
        assert!(!h.live.truncated);
        let row = |month: &str, grade: &str| {
            h.live
                .months
                .iter()
                .find(|m| m.month == month)
                .unwrap()
                .grades
                .iter()
                .find(|g| g.grade == grade)
                .cloned()
                .unwrap()
        };
        let june_a = row("2026-06", a);
        assert_eq!(
            (
                june_a.scored,
                june_a.approved,
                june_a.known_outcomes,
                june_a.defaulted
            ),
            (3, 2, 2, 1),
            "{backend:?}"
        );
        assert_eq!(june_a.approval_rate, Some(2.0 / 3.0));
        assert_eq!(june_a.bad_rate, Some(0.5));
        let june_b = row("2026-06", b);
        assert_eq!(
            (
                june_b.scored,
                june_b.approved,
                june_b.known_outcomes,
                june_b.defaulted
            ),
            (2, 1, 0, 0)
        );
        assert_eq!(june_b.approval_rate, Some(0.5));
        assert_eq!(june_b.bad_rate, None);
        let july_a = row("2026-07", a);
        assert_eq!((july_a.scored, july_a.approved), (1, 0));
        assert_eq!(july_a.approval_rate, Some(0.0));
        let november = row("2026-11", &real_grade);
        assert_eq!(
            (november.scored, november.approved, november.known_outcomes),
            (1, 1, 0)
        );
        let scored: u64 = h
            .live
            .months
            .iter()
            .flat_map(|m| &m.grades)
            .map(|g| g.scored)
            .sum();
        assert_eq!(scored, 7, "e6's loan brings no scored subject");

        // The page prints the same figures, in the table and on hover, and no credit code.
        let c = signed_in(&app, "zhao", "auditor").await;
        let html = c.get("/console/monitoring").await.body;
        assert_eq!(cell(&html, "approval-window-sme"), "90");
        assert_eq!(cell(&html, &format!("scored-sme-2026-06-{a}")), "3");
        assert_eq!(cell(&html, &format!("approved-sme-2026-06-{a}")), "2");
        assert_eq!(
            cell(&html, &format!("approval-rate-sme-2026-06-{a}")),
            "66.7%"
        );
        assert_eq!(cell(&html, &format!("known-outcomes-sme-2026-06-{a}")), "2");
        assert_eq!(cell(&html, &format!("defaulted-sme-2026-06-{a}")), "1");
        assert_eq!(
            cell(&html, &format!("live-bad-rate-sme-2026-06-{a}")),
            "50.0%"
        );
        assert_eq!(cell(&html, &format!("scored-sme-2026-06-{b}")), "2");
        assert_eq!(
            cell(&html, &format!("approval-rate-sme-2026-06-{b}")),
            "50.0%"
        );
        assert_eq!(cell(&html, &format!("live-bad-rate-sme-2026-06-{b}")), "—");
        assert_eq!(
            cell(&html, &format!("approval-rate-sme-2026-07-{a}")),
            "0.0%"
        );
        assert_eq!(
            cell(&html, &format!("approval-rate-sme-2026-11-{real_grade}")),
            "100.0%"
        );
        assert!(html.contains("id=\"approval-sme\""));
        assert!(html.contains("id=\"live-bad-rate-sme\""));
        assert!(
            html.contains(&format!("<title>{a} · 2026-06: 0.6667</title>")),
            "{html}"
        );
        assert!(html.contains(&format!("<title>{a} · 2026-06: 0.5000</title>")));
        assert!(!html.contains("id=\"no-approvals-sme\""));
        for code in e.iter().map(String::as_str).chain([fixtures::USCC]) {
            assert!(!html.contains(code), "a credit code in clear on the page");
        }
        app.stop().await;
    }
}

/// A household is scored under its head's resident id and lent to under the keyed hash of it:
/// the two meet without the id in clear anywhere on the page.
#[tokio::test]
async fn a_household_scored_then_lent_to_counts_as_approved_with_no_resident_id_shown() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        fixtures::install_champion(&app.state, "farmer", "farmer-live", 6).await;
        let bank = app.partner_key("bank").await;
        let consent = app
            .consent(&bank, fixtures::RESIDENT, "loan_application")
            .await;
        let (status, s) = app
            .score(
                &bank,
                crate::common::score_body(
                    "farmer",
                    fixtures::RESIDENT,
                    "loan_application",
                    &consent,
                ),
            )
            .await;
        assert_eq!(status, 200, "{s}");
        let grade = s["grade"].as_str().unwrap().to_owned();
        let c = signed_in(&app, "zhao", "auditor").await;
        let html = c.get("/console/monitoring").await.body;
        assert!(html.contains("id=\"no-approvals-farmer\""), "{backend:?}");
        // Scored, not yet lent to: counted, not approved.
        let h = app
            .state
            .monitoring_history(Product::Farmer, 12)
            .await
            .unwrap();
        let row = h
            .live
            .months
            .last()
            .unwrap()
            .grades
            .iter()
            .find(|g| g.grade == grade)
            .cloned()
            .unwrap();
        assert_eq!(
            (row.scored, row.approved, row.approval_rate),
            (1, 0, Some(0.0))
        );

        fixtures::feed(
            &app.state,
            creditbridge::domain::FeedKind::LoanOutcomes,
            &format!(
            "loan_id,product,subject_id,disbursed_on,amount,term_months,defaulted,defaulted_on\n\
             H-1,farmer,{},2026-11-28,50000,12,,\n",
            fixtures::RESIDENT
        ),
        )
        .await;
        let html = c.get("/console/monitoring").await.body;
        assert_eq!(
            cell(&html, &format!("approved-farmer-2026-11-{grade}")),
            "1"
        );
        assert_eq!(
            cell(&html, &format!("approval-rate-farmer-2026-11-{grade}")),
            "100.0%"
        );
        assert_eq!(
            cell(&html, &format!("live-bad-rate-farmer-2026-11-{grade}")),
            "—"
        );
        assert!(
            !html.contains(fixtures::RESIDENT),
            "a resident id in clear on the page"
        );
        app.stop().await;
    }
}
