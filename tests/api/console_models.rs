//! The console's model pages (issue 19, part B): a model's card inline in the user's language
//! with the characteristics that changed from the champion, and a retraining started from the
//! console that runs in the background under the product's lease, with a progress page that
//! ends in the new candidate or in why it failed, audited under the user.

use creditbridge::clock::Clock;
use creditbridge::demo::{self, DemoSize};
use creditbridge::lifecycle::card;
use creditbridge::users::{self, Lang};
use serde_json::Value;

use crate::common::console::{champion_and_candidate, signed_in, ConsoleClient};
use crate::common::{audit_entries, backends, TestApp};

#[tokio::test]
async fn a_models_card_is_shown_inline_in_the_users_language_with_what_changed() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        champion_and_candidate(&app).await;
        let c = signed_in(&app, "li", "analyst").await;

        let page = c.get("/console/models/sme-new").await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        let html = page.body;
        assert!(html.contains("<h1>Model card sme-new</h1>"), "{html}");
        let registry = app.state.registry();
        let new = registry.card("sme-new").await.unwrap();
        let old = registry.card("sme-old").await.unwrap();
        for ch in &new.characteristics {
            assert!(
                html.contains(&format!("<h3>{}</h3>", ch.name)),
                "{}",
                ch.name
            );
        }
        // Only the card's content: the console's page around it, no second document.
        assert_eq!(html.matches("<html").count(), 1);
        assert!(!html.contains("<script"));

        // What changed from the champion, as lifecycle::card works it out.
        let changes = card::changed_characteristics(&old, &new);
        assert!(!changes.is_empty(), "two fits on different data differ");
        for ch in &changes {
            let word = match ch.change {
                card::Change::Added => "added",
                card::Change::Removed => "removed",
                card::Change::Rebinned => "bins changed",
                card::Change::Reweighted => "points changed",
            };
            assert!(
                html.contains(&format!(
                    "data-characteristic=\"{}\"><td>{}</td><td class=\"change\">{word}</td>",
                    ch.name, ch.name
                )),
                "{}: {word}",
                ch.name
            );
        }
        assert_eq!(
            html.matches("<tr data-characteristic=").count(),
            changes.len()
        );
        // The champion's own card compares with nothing.
        let own = c.get("/console/models/sme-old").await.body;
        assert!(own.contains("<h1>Model card sme-old</h1>") && !own.contains("id=\"changes-"));

        // The models page links each card and shows the changes beside the side-by-side figures.
        let list = c.get("/console/models").await.body;
        assert!(list.contains("href=\"/console/models/sme-new\""));
        assert!(list.contains("id=\"changes-sme-new\""));

        // In Chinese for a user who reads Chinese.
        users::set_lang(&app.state.db, "li", Lang::Zh)
            .await
            .unwrap();
        let zh = c.get("/console/models/sme-new").await.body;
        assert!(
            zh.contains("<h1>模型卡 sme-new</h1>") && zh.contains("p 值"),
            "{zh}"
        );

        let missing = c.get("/console/models/nope").await;
        assert_eq!(missing.status, 404);
        app.stop().await;
    }
}

/// Follows a run's page until it is no longer running (each look a fresh GET; no time limit is
/// asserted, only a bound so that a stuck run fails the test instead of hanging it).
async fn until_done(c: &ConsoleClient, path: &str) -> String {
    for _ in 0..6000 {
        let page = c.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        if !page.body.contains("data-state=\"running\"") {
            assert!(!page.body.contains("http-equiv=\"refresh\""));
            return page.body;
        }
        assert!(page
            .body
            .contains("<meta http-equiv=\"refresh\" content=\"3\">"));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the run at {path} never ended");
}

fn console_actions(entries: &[Value], action: &str) -> Vec<Value> {
    entries
        .iter()
        .filter(|e| e["kind"] == "console.action" && e["action"] == action)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_retrains_from_the_console_and_follows_it_to_the_new_candidate() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let size = DemoSize {
            enterprises: 1200,
            households: 1200,
            seed: 11,
        };
        demo::import_city(&app.state, &app.test_db.dir.path().join("city"), &size)
            .await
            .unwrap();
        let auditor = signed_in(&app, "zhao", "auditor").await;
        let c = signed_in(&app, "li", "analyst").await;

        // An auditor sees the runs but no form, and a direct POST is refused.
        let page = auditor.get("/console/retrain").await.body;
        assert!(!page.contains("id=\"retrain-form\""));
        let refused = auditor
            .post(
                "/console/retrain",
                &[("product", "sme"), ("as_of", "2026-11-28")],
            )
            .await;
        assert_eq!(refused.status, 403, "{backend:?}");
        assert!(c
            .get("/console/retrain")
            .await
            .body
            .contains("id=\"retrain-form\""));

        // Bad input: the form says what is wrong, and nothing starts.
        for (fields, words) in [
            (
                [("product", "car"), ("as_of", "2026-11-28")],
                "choose sme or farmer",
            ),
            ([("product", "sme"), ("as_of", "28/11/2026")], "YYYY-MM-DD"),
            (
                [("product", "sme"), ("as_of", "2026-11-29")],
                "no later than today",
            ),
        ] {
            let a = c.post("/console/retrain", &fields).await;
            assert_eq!(a.status, 422, "{fields:?}");
            assert!(a.body.contains(words), "{}", a.body);
        }

        // While another retraining of the product holds the lease, none starts.
        let now = app.clock.now();
        assert!(app
            .state
            .db
            .take_lease(
                "retrain-lock:sme",
                "elsewhere",
                now,
                now + chrono::Duration::hours(1)
            )
            .await
            .unwrap());
        let busy = c
            .post(
                "/console/retrain",
                &[("product", "sme"), ("as_of", "2026-11-28")],
            )
            .await;
        assert_eq!(busy.status, 409);
        assert!(busy.body.contains("already running"), "{}", busy.body);
        app.state
            .db
            .release_lease("retrain-lock:sme", "elsewhere", now)
            .await
            .unwrap();
        app.clock.advance(chrono::Duration::minutes(1));

        // An as-of date before any loan matured: the run fails and says why.
        let started = c
            .post(
                "/console/retrain",
                &[("product", "sme"), ("as_of", "2014-01-01")],
            )
            .await;
        assert_eq!(started.status, 303, "{}", started.body);
        let failed_at = started.location.unwrap();
        assert!(failed_at.starts_with("/console/retrain/"), "{failed_at}");
        let failed = until_done(&c, &failed_at).await;
        assert!(failed.contains("data-state=\"failed\""), "{failed}");
        assert!(!failed.contains("id=\"run-model\""));
        assert!(failed.contains("id=\"run-error\""));
        assert!(
            app.state.db.models(Some("sme")).await.unwrap().is_empty(),
            "no candidate from a failed run"
        );
        app.clock.advance(chrono::Duration::minutes(1));

        // As of today: the page answers at once with the run, which ends in a candidate.
        let started = c
            .post(
                "/console/retrain",
                &[("product", "sme"), ("as_of", "2026-11-28")],
            )
            .await;
        assert_eq!(started.status, 303, "{}", started.body);
        let at = started.location.unwrap();
        let done = until_done(&c, &at).await;
        assert!(done.contains("data-state=\"finished\""), "{done}");
        let models = app.state.db.models(Some("sme")).await.unwrap();
        assert_eq!(models.len(), 1, "{models:?}");
        assert_eq!(models[0].status, "candidate");
        let id = &models[0].id;
        assert!(done.contains(&format!(
            "<a id=\"run-model\" href=\"/console/models/{id}\">{id}</a>"
        )));
        let list = c.get("/console/retrain").await.body;
        assert_eq!(list.matches("<td class=\"finished\">").count(), 1, "{list}");
        assert_eq!(list.matches("<td class=\"failed\">").count(), 1);

        // In the ledger under the user: each request, the training and each end.
        app.sequence().await;
        let entries = audit_entries(&app.state.db).await;
        let asked = console_actions(&entries, "model_retrain");
        assert_eq!(asked.len(), 2);
        assert!(asked
            .iter()
            .all(|e| e["actor"] == "by:console:li" && e["user"] == "li"));
        let ended = console_actions(&entries, "model_retrain_done");
        assert_eq!(ended.len(), 2, "{ended:?}");
        assert_eq!(ended[0]["outcome"]["state"], "failed");
        assert_eq!(ended[1]["outcome"]["state"], "finished");
        assert_eq!(ended[1]["outcome"]["model_id"], id.as_str());
        let trained: Vec<&Value> = entries
            .iter()
            .filter(|e| e["kind"] == "model.trained")
            .collect();
        assert_eq!(trained.len(), 1);
        assert_eq!(trained[0]["actor"], "by:console:li");
        assert_eq!(trained[0]["model_id"], id.as_str());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_run_in_progress_refreshes_itself_and_one_whose_process_died_reads_abandoned() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let c = signed_in(&app, "zhao", "auditor").await;
        let now = app.clock.now();
        let run = ulid::Ulid::from_datetime(now.into()).to_string();
        // A run another replica started and is still running.
        app.state
            .db
            .take_lease(
                &format!("retrain-run:{run}:farmer:2026-11-01"),
                "console:wang",
                now,
                now + chrono::Duration::hours(2),
            )
            .await
            .unwrap();
        let page = c.get(&format!("/console/retrain/{run}")).await;
        assert_eq!(page.status, 200, "{backend:?}");
        assert!(page.body.contains("data-state=\"running\""));
        assert!(page
            .body
            .contains("<meta http-equiv=\"refresh\" content=\"3\">"));
        assert!(page.body.contains("console:wang") && page.body.contains("2026-11-01"));
        // Its lease ran out unfinished: that process is gone.
        app.clock.advance(chrono::Duration::hours(3));
        let c = signed_in(&app, "qian", "auditor").await;
        let page = c.get(&format!("/console/retrain/{run}")).await;
        assert!(
            page.body.contains("data-state=\"abandoned\""),
            "{}",
            page.body
        );
        assert!(!page.body.contains("http-equiv=\"refresh\""));
        assert_eq!(
            c.get("/console/retrain/01ARZ3NDEKTSV4RRFFQ69G5FAV")
                .await
                .status,
            404
        );
        app.stop().await;
    }
}
