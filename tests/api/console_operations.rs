//! The console's operator and auditor work over plain HTTP on SQLite and PostgreSQL (issue 19,
//! part A): partner keys rotated with an overlap and revoked, a partner revoked; feed files
//! uploaded (a wrong kind answered with the feed's own errors by line and column, a refused
//! file listed with its masked rows to download); the audit page's checkpoints, a recorded
//! verification, the export of a range; consents revoked and withdrawals recorded on a
//! subject's page. Each step's ledger entry names the console user. The browser flow for key
//! rotation is in `console_browser`.

use serde_json::Value;

use crate::common::console::{csrf_in, signed_in};
use crate::common::fixtures::{self, RESIDENT, USCC};
use crate::common::{backends, score_body, TestApp, EVIDENCE};

/// (actor, body) of every ledger entry of `kind`, in order.
async fn entries(app: &TestApp, kind: &str) -> Vec<(String, Value)> {
    app.state
        .db
        .ledger_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == kind)
        .map(|r| (r.actor, ledger::entry::decode(&r.leaf).unwrap().body))
        .collect()
}

/// The `action`s of the console entries, as "user action".
async fn console_actions(app: &TestApp) -> Vec<String> {
    entries(app, "console.action")
        .await
        .into_iter()
        .filter(|(_, b)| b["outcome"] == "done")
        .map(|(_, b)| {
            format!(
                "{} {}",
                b["user"].as_str().unwrap(),
                b["action"].as_str().unwrap()
            )
        })
        .filter(|a| !a.ends_with(" subject_lookup"))
        .collect()
}

/// The status a partner request with `key` gets (any key may read the log's public key).
async fn status_with(app: &TestApp, key: &str) -> u16 {
    app.get(key, "/v1/audit/public-key").await.status().as_u16()
}

/// The text of the element with `id` in `html` (up to its first tag).
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id} in {html}"))
        + id.len()
        + 6;
    html[at..at + html[at..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn an_operator_rotates_a_key_with_an_overlap_revokes_the_old_one_then_the_partner() {
    for backend in backends() {
        // Arrange: a bank that has done something audited (a consent), two console users.
        let app = TestApp::spawn(backend).await;
        let bank = app.partner("bank").await;
        app.consent(&bank.key, USCC, "loan_application").await;
        let op = signed_in(&app, "op", "operator").await;
        let auditor = signed_in(&app, "au", "auditor").await;
        let rotate = format!("/console/partners/{}/rotate", bank.id);

        // The page: keys, rate limit, last activity; the rotate form for the operator only.
        let page = op.get("/console/partners").await.body;
        assert!(page.contains(&format!("data-key=\"{}\"", bank.key_id)));
        assert!(
            page.contains(&format!("id=\"rotate-{}\"", bank.id)),
            "{backend:?}"
        );
        assert!(page.contains("<td class=\"last-activity\">2026-11-28 10:00 UTC</td>"));
        assert!(page.contains("<td class=\"rate-limit\">6000 "));
        let seen = auditor.get("/console/partners").await.body;
        assert!(seen.contains(&format!("data-key=\"{}\"", bank.key_id)));
        assert!(!seen.contains(&format!("id=\"rotate-{}\"", bank.id)));
        assert!(!seen.contains("revoke-key-"));

        // Refused: another role, an overlap past 30 days, an overlap that is no number.
        let analyst = signed_in(&app, "an", "analyst").await;
        for who in [&auditor, &analyst] {
            let refused = who.post(&rotate, &[("overlap_minutes", "60")]).await;
            assert_eq!(refused.status, 403);
        }
        let long = op.post(&rotate, &[("overlap_minutes", "43201")]).await;
        assert_eq!(long.status, 422, "{backend:?}");
        assert!(long.body.contains("overlap: "), "{}", long.body);
        assert_eq!(
            op.post(&rotate, &[("overlap_minutes", "soon")])
                .await
                .status,
            422
        );
        assert_eq!(app.state.db.partner_keys(&bank.id).await.unwrap().len(), 1);

        // Act: rotate with an hour of overlap.
        let rotated = op.post(&rotate, &[("overlap_minutes", "60")]).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        let new_key = text_of(&rotated.body, "new-key");
        assert!(new_key.starts_with("cbk_"));

        // Both keys work during the overlap; the new key is not shown again.
        assert_eq!(status_with(&app, &bank.key).await, 200);
        assert_eq!(status_with(&app, &new_key).await, 200);
        let again = op.get("/console/partners").await.body;
        assert!(!again.contains("id=\"new-key\"") && !again.contains(&new_key));
        assert!(again.contains("in force until its overlap ends"));
        let (actor, body) = entries(&app, "key.rotated").await.pop().unwrap();
        assert_eq!(actor, "by:console:op");
        assert_eq!(body["overlap_secs"], 3600);
        assert!(!serde_json::to_string(&body).unwrap().contains(&new_key));

        // Revoke the old key: refused at once; the new one goes on. Twice is a conflict.
        let revoke = format!("/console/partner-keys/{}/revoke", bank.key_id);
        assert_eq!(auditor.post(&revoke, &[]).await.status, 403);
        assert_eq!(status_with(&app, &bank.key).await, 200, "still in force");
        assert_eq!(op.post(&revoke, &[]).await.status, 303, "{backend:?}");
        assert_eq!(status_with(&app, &bank.key).await, 401);
        assert_eq!(status_with(&app, &new_key).await, 200);
        assert_eq!(op.post(&revoke, &[]).await.status, 409);
        assert_eq!(entries(&app, "key.revoked").await[0].0, "by:console:op");

        // A rotation's overlap runs out by the clock: the replaced key stops, the newest works.
        let second = op.post(&rotate, &[("overlap_minutes", "30")]).await;
        let newest = text_of(&second.body, "new-key");
        app.clock.advance(chrono::Duration::minutes(31));
        assert_eq!(status_with(&app, &new_key).await, 401, "{backend:?}");
        assert_eq!(status_with(&app, &newest).await, 200);

        // Revoking the partner stops every key.
        let gone = op
            .post(&format!("/console/partners/{}/revoke", bank.id), &[])
            .await;
        assert_eq!(gone.status, 303);
        assert_eq!(status_with(&app, &newest).await, 401);
        assert_eq!(
            op.post(&rotate, &[("overlap_minutes", "60")]).await.status,
            409
        );
        assert_eq!(
            console_actions(&app).await,
            [
                "op partner_key_rotate",
                "op partner_key_revoke",
                "op partner_key_rotate",
                "op partner_revoke"
            ]
        );
        app.stop().await;
    }
}

/// Tax grades for the seeded enterprise: line 3 has a grade that does not exist.
fn grades_with_a_bad_row() -> String {
    format!(
        "uscc,year,grade,score,direct_d,effective_from\n\
         {USCC},2024,A,92,false,2025-04-20\n\
         {USCC},2025,Z,81,false,2026-04-20\n"
    )
}

#[tokio::test]
async fn an_operator_uploads_feeds_a_refused_file_is_listed_with_its_errors_and_masked_rows() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        fixtures::feed_named(&app.state, "enterprises", &fixtures::subject_feeds()[0].1).await;
        let op = signed_in(&app, "op", "operator").await;
        let auditor = signed_in(&app, "au", "auditor").await;
        let households = fixtures::subject_feeds()[4].1.clone();
        let batches_before = app.state.db.recent_batches(100).await.unwrap().len();

        // Only operators upload, and only with the session's token.
        assert!(op
            .get("/console/feeds")
            .await
            .body
            .contains("id=\"upload\""));
        assert!(!auditor
            .get("/console/feeds")
            .await
            .body
            .contains("id=\"upload\""));
        let by_auditor = auditor
            .upload_with_token("households", "h.csv", households.as_bytes())
            .await;
        assert_eq!(by_auditor.status, 403);
        let analyst = signed_in(&app, "an", "analyst").await;
        let by_analyst = analyst
            .upload_with_token("households", "h.csv", households.as_bytes())
            .await;
        assert_eq!(by_analyst.status, 403);
        // A kind that does not exist is named as wrong without repeating a long number.
        let no_kind = op
            .upload_with_token("110105194912310021", "h.csv", households.as_bytes())
            .await;
        assert_eq!(no_kind.status, 422);
        assert!(no_kind.body.contains("kind: ") && !no_kind.body.contains("1101051949"));
        let no_token = op
            .upload(
                "/console/feeds/upload",
                "households",
                "h.csv",
                households.as_bytes(),
            )
            .await;
        assert_eq!(no_token.status, 403, "{backend:?}");

        // A wrong kind: the feed's own errors, by line and column, nothing stored.
        let wrong = op
            .upload_with_token("tax-grades", "h.csv", households.as_bytes())
            .await;
        assert_eq!(wrong.status, 422, "{backend:?}: {}", wrong.body);
        assert!(wrong.body.contains("id=\"upload-errors\""));
        assert!(wrong.body.contains("<td class=\"line\">1</td>"));
        assert!(
            wrong.body.contains("required column uscc"),
            "{}",
            wrong.body
        );
        assert!(!wrong.body.contains(RESIDENT));

        // A bad row: its line and column, and the row to hand back with the credit code masked.
        let bad = op
            .upload_with_token("tax-grades", "g.csv", grades_with_a_bad_row().as_bytes())
            .await;
        assert_eq!(bad.status, 422);
        assert!(
            bad.body
                .contains("<td class=\"line\">3</td><td class=\"column\">grade</td>"),
            "{}",
            bad.body
        );
        assert_eq!(
            app.state.db.recent_batches(100).await.unwrap().len(),
            batches_before,
            "nothing stored"
        );
        let refusals = app
            .state
            .db
            .feed_refusals_since(crate::common::test_now() - chrono::Duration::days(30), 10)
            .await
            .unwrap();
        assert_eq!(refusals.len(), 2, "{backend:?}");
        let r = &refusals
            .iter()
            .find(|r| {
                r.errors_total == 1
                    && r.kind == "tax-grades"
                    && r.rows_csv.as_deref().is_some_and(|c| c.contains("2025"))
            })
            .expect("the bad row's refusal");
        assert_eq!(r.source, "console:op");
        let listed = auditor.get("/console/feeds").await.body;
        assert!(listed.contains(&format!("data-refusal=\"{}\"", r.id)));
        assert!(auditor
            .get("/console")
            .await
            .body
            .contains(&format!("data-refusal=\"{}\"", r.id)));
        let detail = auditor
            .get(&format!("/console/feeds/refusals/{}", r.id))
            .await;
        assert_eq!(detail.status, 200);
        assert!(detail
            .body
            .contains("<td class=\"line\">3</td><td class=\"column\">grade</td>"));
        assert!(detail.body.contains("id=\"refused-rows\""));
        let rows = auditor
            .get(&format!("/console/feeds/refusals/{}/rows.csv", r.id))
            .await;
        assert_eq!(rows.status, 200);
        assert_eq!(
            rows.body,
            "line,uscc,year,grade,score,direct_d,effective_from\n\
             3,**************341L,2025,Z,81,false,2026-04-20\n"
        );
        // Nowhere in clear: not in the page, the download, the stored refusal or the ledger.
        for text in [&detail.body, &rows.body, &r.errors_json, &r.message] {
            assert!(!text.contains(USCC), "{text}");
        }
        for refusal in &refusals {
            assert!(!format!("{refusal:?}").contains(RESIDENT));
        }
        assert_eq!(
            auditor.get("/console/feeds/refusals/no-such").await.status,
            404
        );
        let refused_entries = entries(&app, "feed.refused").await;
        assert_eq!(refused_entries.len(), 2);
        assert!(refused_entries.iter().all(|(a, _)| a == "by:console:op"));

        // A good file: stored under the user as its sender, recorded in the ledger.
        let good = op
            .upload_with_token(
                "tax-grades",
                "g.csv",
                format!("uscc,year,grade,score,direct_d,effective_from\n{USCC},2024,A,92,false,2025-04-20\n").as_bytes(),
            )
            .await;
        assert_eq!(good.status, 303, "{}", good.body);
        let to = good.location.unwrap();
        let batch = app.state.db.recent_batches(1).await.unwrap().remove(0);
        assert_eq!(to, format!("/console/feeds/{}", batch.id));
        assert_eq!(
            (batch.source.as_str(), batch.rows_stored),
            ("console:op", 1)
        );
        assert_eq!(
            entries(&app, "feed.accepted").await.last().unwrap().0,
            "by:console:op"
        );
        assert_eq!(op.get(&to).await.status, 200);
        assert_eq!(
            console_actions(&app).await,
            [
                "op feed_upload",
                "op feed_upload",
                "au feed_refused_rows",
                "op feed_upload"
            ]
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn the_audit_page_lists_checkpoints_records_verifications_and_exports_a_range() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let auditor = signed_in(&app, "au", "auditor").await;
        let admin = app.partner_key("admin").await;
        let page = auditor.get("/console/audit").await.body;
        assert!(page.contains("never run"), "no verification yet");
        assert!(auditor.get("/console").await.body.contains("never run"));

        // Checkpoints, once the sequencer has signed one.
        let report = app.sequence().await;
        let page = auditor.get("/console/audit").await.body;
        assert!(
            page.contains(&format!("data-size=\"{}\"", report.size)),
            "{backend:?}: {page}"
        );

        // A verification from the console is run, shown and recorded, by an auditor too.
        let csrf = csrf_in(&page).unwrap();
        let ran = auditor
            .post_raw("/console/audit/verify", &[("csrf", csrf.as_str())])
            .await;
        assert_eq!(ran.status, 200, "{}", ran.body);
        assert!(ran.body.contains("id=\"verification\" class=\"ok\""));
        let last = app.state.db.last_verification().await.unwrap().unwrap();
        assert!(last.ok);
        assert_eq!(last.verified_by, "by:console:au");
        assert_eq!(last.checkpoint_size, Some(report.size as i64));
        let overview = auditor.get("/console").await.body;
        assert!(overview.contains("The chain verifies"));
        assert!(overview.contains(&format!("id=\"checkpoint-age\">{} · ", report.size)));
        assert_eq!(
            auditor.post_raw("/console/audit/verify", &[]).await.status,
            403,
            "without the token"
        );
        // One from the API is recorded as well, under the partner.
        let api = app.get(&admin, "/v1/audit/verify").await;
        assert_eq!(api.status().as_u16(), 200);
        let last = app.state.db.last_verification().await.unwrap().unwrap();
        assert!(
            last.verified_by.starts_with("partner:p_"),
            "{}",
            last.verified_by
        );

        // Export by leaf index: exactly the range, one JSON object a line, in leaf order.
        app.sequence().await;
        let by_index = auditor
            .get("/console/audit/export?by=index&from=1&to=3")
            .await;
        assert_eq!(by_index.status, 200, "{}", by_index.body);
        let lines: Vec<Value> = by_index
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let indexes: Vec<i64> = lines
            .iter()
            .map(|l| l["leaf_index"].as_i64().unwrap())
            .collect();
        assert_eq!(indexes, [1, 2], "{backend:?}");
        assert_eq!(lines[0]["leaf_hash"].as_str().unwrap().len(), 64);
        // By time: every entry recorded on the (pinned) day, sequenced or not.
        let count = app.state.db.ledger_count().await.unwrap() as usize;
        let by_time = auditor
            .get("/console/audit/export?by=time&from=2026-11-28T00:00&to=2026-11-29T00:00")
            .await;
        assert_eq!(by_time.body.lines().count(), count, "{backend:?}");
        let none = auditor
            .get("/console/audit/export?by=time&from=2026-11-29T00:00&to=2026-11-30T00:00")
            .await;
        assert_eq!((none.status, none.body.as_str()), (200, ""));
        // Bad ranges are explained; a long number is not kept or repeated.
        for query in [
            "by=index&from=5&to=2",
            "by=time&from=yesterday&to=2026-11-29",
            "by=index&from=0&to=110105194912310021",
            "by=month&from=1&to=2",
        ] {
            let bad = auditor.get(&format!("/console/audit/export?{query}")).await;
            assert_eq!(bad.status, 422, "{query}");
            assert!(!bad.body.contains("1101051949"));
        }
        let exports: Vec<Value> = entries(&app, "console.action")
            .await
            .into_iter()
            .map(|(_, b)| b)
            .filter(|b| b["action"] == "audit_export")
            .collect();
        assert_eq!(exports.len(), 3);
        assert_eq!(exports[0]["by"], "index");
        assert_eq!(exports[0]["entries"], 2);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_operator_records_a_withdrawal_and_revokes_a_consent_on_the_subjects_page() {
    for backend in backends() {
        // Arrange: the seeded enterprise with two consents of one bank, scored once.
        let app = TestApp::spawn(backend).await;
        fixtures::seed_subjects(&app.state).await;
        fixtures::install_champion(&app.state, "sme", "sme-test-1", 1).await;
        let bank = app.partner("bank").await;
        let loan = app.consent(&bank.key, USCC, "loan_application").await;
        let review = app.consent(&bank.key, USCC, "post_loan").await;
        let (status, _) = app
            .score(
                &bank.key,
                score_body("sme", USCC, "loan_application", &loan),
            )
            .await;
        assert_eq!(status, 200);
        let op = signed_in(&app, "op", "operator").await;
        let auditor = signed_in(&app, "au", "auditor").await;
        let key = app.state.pii.subject_key(USCC);
        let subject = format!("/console/subjects/{key}");

        // An enterprise's consents (stored under its credit code) are on its page.
        let page = op.get(&subject).await.body;
        for id in [&loan, &review] {
            assert!(
                page.contains(&format!("data-consent=\"{id}\"")),
                "{backend:?}"
            );
        }
        assert!(page.contains(&format!("id=\"withdraw-consent-{loan}\"")));
        let seen = auditor.get(&subject).await.body;
        assert!(seen.contains(&format!("data-consent=\"{loan}\"")));
        assert!(!seen.contains("withdraw-consent-") && !seen.contains("revoke-consent-"));

        let withdraw = format!("{subject}/consents/{loan}/withdraw");
        let by_auditor = auditor
            .post(&withdraw, &[("evidence_sha256", EVIDENCE)])
            .await;
        assert_eq!(by_auditor.status, 403);
        let no_digest = op.post(&withdraw, &[("evidence_sha256", "a letter")]).await;
        assert_eq!(no_digest.status, 422);
        assert!(no_digest.body.contains("evidence_sha256"));
        // Another subject's page does not reach this consent.
        let other = app.state.pii.subject_key(RESIDENT);
        let elsewhere = op
            .post(
                &format!("/console/subjects/{other}/consents/{loan}/withdraw"),
                &[("evidence_sha256", EVIDENCE)],
            )
            .await;
        assert_eq!(elsewhere.status, 404);
        assert!(app
            .state
            .db
            .consent(&loan)
            .await
            .unwrap()
            .withdrawn_at
            .is_none());

        // Act: the withdrawal, then the other consent's revocation.
        let done = op.post(&withdraw, &[("evidence_sha256", EVIDENCE)]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some(subject.as_str()));
        let revoke = format!("{subject}/consents/{review}/revoke");
        assert_eq!(op.post(&revoke, &[]).await.status, 303);
        assert_eq!(op.post(&revoke, &[]).await.status, 409, "{backend:?}");

        // Effective at once for scoring; recorded under the user; shown on the page.
        let (status, answer) = app
            .score(
                &bank.key,
                score_body("sme", USCC, "loan_application", &loan),
            )
            .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (403, Some("consent_withdrawn"))
        );
        assert_eq!(
            entries(&app, "consent.withdrawn").await[0].0,
            "by:console:op"
        );
        assert_eq!(entries(&app, "consent.revoked").await[0].0, "by:console:op");
        let page = op.get(&subject).await.body;
        assert!(page.contains("withdrawn") && page.contains("revoked"));
        assert!(!page.contains(&format!("id=\"withdraw-consent-{loan}\"")));
        assert_eq!(
            console_actions(&app).await,
            ["op consent_withdraw", "op consent_revoke"]
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn files_refused_through_the_api_are_listed_for_thirty_days_under_their_sender() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        fixtures::feed_named(&app.state, "enterprises", &fixtures::subject_feeds()[0].1).await;
        let bureau = app.partner("tax_bureau").await;
        // Rows refused, and a file refused before any row (empty): both kept, only the first
        // with rows to give back.
        let (status, _, answer) = app
            .feed(
                &bureau.key,
                "tax-grades",
                Some("text/csv"),
                None,
                grades_with_a_bad_row().into_bytes(),
            )
            .await;
        assert_eq!(status.as_u16(), 422, "{answer}");
        let (status, _, _) = app
            .feed(
                &bureau.key,
                "tax-grades",
                Some("text/csv"),
                None,
                Vec::new(),
            )
            .await;
        assert_eq!(status.as_u16(), 422);
        let mut refusals = app
            .state
            .db
            .feed_refusals_since(crate::common::test_now() - chrono::Duration::days(30), 10)
            .await
            .unwrap();
        refusals.sort_by_key(|r| r.rows_csv.is_none());
        assert_eq!(refusals.len(), 2, "{backend:?}");
        assert!(refusals.iter().all(|r| r.source == bureau.id));
        assert!(refusals[0].rows_csv.as_deref().unwrap().contains("341L"));
        assert!(refusals[1].rows_csv.is_none());
        assert!(
            refusals[1].message.contains("empty"),
            "{}",
            refusals[1].message
        );

        let auditor = signed_in(&app, "au", "auditor").await;
        let page = auditor.get("/console/feeds").await.body;
        assert!(page.contains(&format!("data-refusal=\"{}\"", refusals[0].id)));
        assert!(page.contains(&bureau.name), "the sender by name");

        // Thirty-one days on they are off the lists (a new session: the first one has ended).
        app.clock.advance(chrono::Duration::days(31));
        let later = signed_in(&app, "au2", "auditor").await;
        assert!(later
            .get("/console/feeds")
            .await
            .body
            .contains("id=\"no-refusals\""));
        assert!(later
            .get("/console")
            .await
            .body
            .contains("id=\"refused-none\""));
        app.stop().await;
    }
}
