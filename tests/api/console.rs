//! The console over plain HTTP (issue 19): sign-in refusals that read the same, the lockout,
//! sessions (cookie attributes, stored hashed, expiry back to sign-in keeping the page), CSRF
//! on every POST, roles refused server side, a subject look-up that never echoes the digits,
//! disputes, four-eyes promotion, and `users add` reading the password from a file. The same
//! behaviour in a real browser is in `console_browser`.

use serde_json::json;
use sha2::Digest;

use crate::common::console::{
    add_user, champion_and_candidate, scored_enterprise, signed_in, ConsoleClient, PASSWORD,
};
use crate::common::fixtures::{self, USCC};
use crate::common::{backends, process, TestApp};

/// The fields of every ledger entry of `kind`, in order.
async fn audit_bodies(app: &TestApp, kind: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for r in app.state.db.ledger_entries(0, 10_000).await.unwrap() {
        if r.kind == kind {
            out.push(ledger::entry::decode(&r.leaf).unwrap().body);
        }
    }
    out
}

#[tokio::test]
async fn unknown_names_and_wrong_passwords_get_the_same_answer_and_are_audited_apart() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        add_user(&app.state, "wang", "operator").await;
        let mut c = ConsoleClient::new(&app);
        let unknown = c.sign_in("nobody", PASSWORD).await;
        let wrong = c.sign_in("wang", "not the password at all").await;
        assert_eq!((unknown.status, wrong.status), (401, 401));
        assert!(c.session.is_none());
        let message = |body: &str| {
            let at = body.find("id=\"login-error\">").expect("an error line") + 17;
            body[at..at + body[at..].find('<').unwrap()].to_owned()
        };
        assert_eq!(message(&unknown.body), message(&wrong.body));
        assert!(message(&wrong.body).contains("Wrong name or password"));
        let refusals: Vec<_> = audit_bodies(&app, "console.sign_in")
            .await
            .into_iter()
            .map(|b| (b["user"].clone(), b["refusal"].clone()))
            .collect();
        assert_eq!(
            refusals,
            vec![
                (json!(null), json!("unknown_name")),
                (json!("wang"), json!("wrong_password"))
            ],
            "{backend:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn five_failures_lock_the_account_until_the_period_has_passed() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        add_user(&app.state, "li", "analyst").await;
        let mut c = ConsoleClient::new(&app);
        for _ in 0..5 {
            assert_eq!(c.sign_in("li", "a wrong password!").await.status, 401);
        }
        // Locked: the right password is refused, with the same words.
        let locked = c.sign_in("li", PASSWORD).await;
        assert_eq!(locked.status, 401, "{backend:?}");
        assert!(locked.body.contains("Wrong name or password"));
        assert!(c.session.is_none());
        let last = audit_bodies(&app, "console.sign_in").await;
        assert_eq!(last[4]["refusal"], "wrong_password_locked");
        assert_eq!(last[5]["refusal"], "locked");
        // Fourteen minutes on, still locked; past the fifteen, the password works again.
        app.clock.advance(chrono::Duration::minutes(14));
        assert_eq!(c.sign_in("li", PASSWORD).await.status, 401);
        app.clock.advance(chrono::Duration::minutes(2));
        assert_eq!(c.sign_in("li", PASSWORD).await.status, 303, "{backend:?}");
        assert!(c.session.is_some());
        app.stop().await;
    }
}

#[tokio::test]
async fn sessions_are_strict_cookies_stored_hashed_and_expire_back_to_sign_in() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        add_user(&app.state, "zhao", "auditor").await;
        let mut c = ConsoleClient::new(&app);
        let a = c.sign_in("zhao", PASSWORD).await;
        assert_eq!(a.location.as_deref(), Some("/console"));
        let cookie = a
            .set_cookies
            .iter()
            .find(|c| c.starts_with("cb_session="))
            .unwrap();
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/console",
            "Max-Age=28800",
        ] {
            assert!(cookie.contains(attr), "{attr} in {cookie}");
        }
        let value = c.session.clone().unwrap();
        let db = &app.state.db;
        assert!(
            db.console_session(&value).await.unwrap().is_none(),
            "never stored in clear"
        );
        let hashed = hex::encode(sha2::Sha256::digest(value.as_bytes()));
        assert!(db.console_session(&hashed).await.unwrap().is_some());
        assert_eq!(c.get("/console/models").await.status, 200);

        // Eight hours on (the session's length), the page asked for is kept for after sign-in.
        app.clock.advance(chrono::Duration::hours(8));
        let gone = c.get("/console/models?product=sme").await;
        assert_eq!(gone.status, 303);
        assert_eq!(
            gone.location.as_deref(),
            Some("/console/login?next=%2Fconsole%2Fmodels%3Fproduct%3Dsme&expired=1"),
            "{backend:?}"
        );
        assert!(
            db.console_session(&hashed).await.unwrap().is_none(),
            "removed when found expired"
        );
        let login = c.get(gone.location.as_deref().unwrap()).await;
        assert!(login
            .body
            .contains("name=\"next\" value=\"/console/models?product=sme\""));
        assert!(
            login.body.contains("会话已过期"),
            "the sign-in page says why"
        );
        // No session at all: the same redirect, without the notice.
        let none = ConsoleClient::new(&app).get("/console/subjects").await;
        assert_eq!(
            none.location.as_deref(),
            Some("/console/login?next=%2Fconsole%2Fsubjects")
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_post_without_the_session_csrf_token_is_refused_and_changes_nothing() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = signed_in(&app, "chen", "operator").await;
        let before = app.state.db.list_partners().await.unwrap().len();
        let missing = op
            .post_raw("/console/partners", &[("name", "Bank A"), ("role", "bank")])
            .await;
        assert_eq!(missing.status, 403, "{backend:?}");
        assert!(missing.body.contains("did not come from the console"));
        let forged = op
            .post_raw(
                "/console/partners",
                &[
                    ("name", "Bank A"),
                    ("role", "bank"),
                    ("csrf", &"0".repeat(64)),
                ],
            )
            .await;
        assert_eq!(forged.status, 403);
        assert_eq!(app.state.db.list_partners().await.unwrap().len(), before);
        // The sign-in form's own token: another session's form cannot sign this one in.
        let mut other = ConsoleClient::new(&app);
        let login_post = reqwest::Client::new()
            .post(format!("{}/console/login", other.base))
            .form(&[("name", "chen"), ("password", PASSWORD), ("csrf", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(login_post.status().as_u16(), 403);
        // With the token it works, and the new key is shown once.
        let ok = op
            .post("/console/partners", &[("name", "Bank A"), ("role", "bank")])
            .await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert!(ok.body.contains("id=\"new-key\">cbk_"));
        assert_eq!(
            app.state.db.list_partners().await.unwrap().len(),
            before + 1
        );
        let refused = audit_bodies(&app, "console.action")
            .await
            .into_iter()
            .filter(|b| b["outcome"] == "refused")
            .count();
        assert_eq!(refused, 2, "both refusals audited");
        assert_eq!(other.sign_in("chen", PASSWORD).await.status, 303);
        app.stop().await;
    }
}

#[tokio::test]
async fn each_role_sees_only_its_buttons_and_direct_posts_outside_it_are_refused() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        champion_and_candidate(&app).await;
        let operator = signed_in(&app, "op", "operator").await;
        let analyst = signed_in(&app, "an", "analyst").await;
        let auditor = signed_in(&app, "au", "auditor").await;

        let has = |body: String, id: &str| body.contains(&format!("id=\"{id}\""));
        assert!(has(
            operator.get("/console/partners").await.body,
            "add-partner"
        ));
        assert!(!has(
            analyst.get("/console/partners").await.body,
            "add-partner"
        ));
        assert!(!has(
            auditor.get("/console/partners").await.body,
            "add-partner"
        ));
        assert!(has(
            analyst.get("/console/models").await.body,
            "promote-sme-new"
        ));
        assert!(!has(
            operator.get("/console/models").await.body,
            "promote-sme-new"
        ));
        assert!(!has(
            auditor.get("/console/models").await.body,
            "promote-sme-new"
        ));

        // Direct POSTs with a valid token, outside the role: refused, nothing changes.
        let add = [("name", "Sneaky"), ("role", "bank")];
        let promote = [("reason", "because"), ("force", "true")];
        for (who, c) in [("analyst", &analyst), ("auditor", &auditor)] {
            assert_eq!(c.post("/console/partners", &add).await.status, 403, "{who}");
        }
        for (who, c) in [("operator", &operator), ("auditor", &auditor)] {
            let a = c.post("/console/models/sme-new/promote", &promote).await;
            assert_eq!(a.status, 403, "{who}");
            assert!(a.body.contains("Your role may not do this"));
            assert_eq!(
                c.post("/console/models/rollback/sme", &[]).await.status,
                403,
                "{who}"
            );
        }
        assert!(
            app.state.db.list_partners().await.unwrap().is_empty(),
            "{backend:?}"
        );
        assert_eq!(
            app.state.db.model("sme-new").await.unwrap().status,
            "candidate"
        );
        assert!(app.state.db.open_approvals().await.unwrap().is_empty());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_forced_promotion_waits_for_a_second_analyst_and_then_changes_the_champion() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        champion_and_candidate(&app).await;
        let first = signed_in(&app, "analyst1", "analyst").await;
        let second = signed_in(&app, "analyst2", "analyst").await;

        let no_reason = first
            .post(
                "/console/models/sme-new/promote",
                &[("reason", ""), ("force", "true")],
            )
            .await;
        assert_eq!(no_reason.status, 422);
        assert!(no_reason.body.contains("needs a reason"));
        let unforced = first
            .post("/console/models/sme-new/promote", &[("reason", "better")])
            .await;
        assert_eq!(unforced.status, 422, "gates fail without force");
        let asked = first
            .post(
                "/console/models/sme-new/promote",
                &[("reason", "the old one drifts"), ("force", "true")],
            )
            .await;
        assert_eq!(asked.status, 303, "{}", asked.body);
        let page = first.get("/console/models").await.body;
        assert!(page.contains("id=\"awaiting-sme-new\""));
        // The requester cannot approve their own request.
        let own = first.post("/console/models/sme-new/approve", &[]).await;
        assert_eq!(own.status, 409, "{backend:?}");
        assert!(own.body.contains("different"));
        assert_eq!(
            app.state.db.champion("sme").await.unwrap().unwrap().id,
            "sme-old"
        );

        let ok = second.post("/console/models/sme-new/approve", &[]).await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        assert_eq!(
            app.state.db.champion("sme").await.unwrap().unwrap().id,
            "sme-new"
        );
        let overview = second.get("/console").await.body;
        assert!(
            overview.contains("sme-new"),
            "the overview shows the new champion"
        );
        let history = app.state.db.promotion_history("sme").await.unwrap();
        assert_eq!(history[0].promoted_by, "console:analyst1");
        assert_eq!(history[0].approved_by.as_deref(), Some("console:analyst2"));
        let actions: Vec<String> = audit_bodies(&app, "console.action")
            .await
            .into_iter()
            .map(|b| {
                format!(
                    "{} {}",
                    b["user"].as_str().unwrap(),
                    b["action"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            actions,
            ["analyst1 model_promote", "analyst2 model_approve"]
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_subject_lookup_keys_the_id_and_an_invalid_one_is_explained_without_its_digits() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = signed_in(&app, "op", "operator").await;
        // A resident id with a wrong check character.
        let bad = op
            .post(
                "/console/subjects/lookup",
                &[("subject", "110105194912310021")],
            )
            .await;
        assert_eq!(bad.status, 422, "{backend:?}");
        assert!(bad.body.contains("18-digit resident identity number"));
        assert!(!bad.body.contains("1101051949"), "never echoed");
        assert!(!bad.body.contains("0021"), "not even the tail");
        // A good one: the URL carries the key, not the number.
        let good = op
            .post(
                "/console/subjects/lookup",
                &[("subject", fixtures::RESIDENT)],
            )
            .await;
        assert_eq!(good.status, 303);
        let to = good.location.unwrap();
        assert!(!to.contains(fixtures::RESIDENT));
        assert_eq!(
            to,
            format!(
                "/console/subjects/{}",
                app.state.pii.subject_key(fixtures::RESIDENT)
            )
        );
        let page = op.get(&to).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(fixtures::RESIDENT));
        // The look-up is in the trail under the user, keyed, never in clear.
        for row in app.state.db.ledger_entries(0, 1000).await.unwrap() {
            let leaf = String::from_utf8_lossy(&row.leaf).into_owned();
            assert!(!leaf.contains(fixtures::RESIDENT), "{leaf}");
        }
        let lookups = audit_bodies(&app, "console.action").await;
        assert_eq!(lookups.last().unwrap()["action"], "subject_lookup");
        assert_eq!(lookups.last().unwrap()["user"], "op");
        assert_eq!(op.get("/console/subjects/not-a-key").await.status, 404);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_operator_disputes_a_scored_entry_and_resolves_it() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let scored = scored_enterprise(&app).await;
        let score = scored["score"].as_i64().unwrap();
        let key = app.state.pii.subject_key(USCC);

        let op = signed_in(&app, "op", "operator").await;
        let auditor = signed_in(&app, "au", "auditor").await;
        let page = op.get(&format!("/console/subjects/{key}")).await.body;
        assert!(
            page.contains(&format!("<td class=\"score\">{score}</td>")),
            "{backend:?}"
        );
        let event_id = app
            .state
            .db
            .ledger_for_subject(&app.state.pii.subject_key(USCC), 10)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.kind == "score.delivered")
            .unwrap()
            .event_id;
        assert!(!auditor
            .get(&format!("/console/subjects/{key}"))
            .await
            .body
            .contains("class=\"dispute\""));
        let path = format!("/console/subjects/{key}/disputes");
        let refused = auditor
            .post(&path, &[("event_id", &event_id), ("note", "not me")])
            .await;
        assert_eq!(refused.status, 403);
        let with_id = op
            .post(
                &path,
                &[
                    ("event_id", &event_id),
                    ("note", "subject 11010519491231002X says no"),
                ],
            )
            .await;
        assert_eq!(with_id.status, 422);
        assert!(!with_id.body.contains("1101051949"));
        let other = op
            .post(&path, &[("event_id", "no-such-event"), ("note", "x")])
            .await;
        assert_eq!(other.status, 404);
        let opened = op
            .post(
                &path,
                &[
                    ("event_id", &event_id),
                    ("note", "the subject never applied"),
                ],
            )
            .await;
        assert_eq!(opened.status, 303, "{}", opened.body);
        let twice = op
            .post(&path, &[("event_id", &event_id), ("note", "again")])
            .await;
        assert_eq!(twice.status, 409);
        let page = op.get(&format!("/console/subjects/{key}")).await.body;
        assert!(page.contains("the subject never applied"));
        let d = &app.state.db.disputes_of(&key).await.unwrap()[0];
        assert_eq!(
            (d.status.as_str(), d.opened_by.as_str()),
            ("open", "console:op")
        );
        let done = op
            .post(
                &format!("/console/disputes/{}/resolve", d.id),
                &[("resolution", "consent on file; explained")],
            )
            .await;
        assert_eq!(done.status, 303);
        let d = &app.state.db.disputes_of(&key).await.unwrap()[0];
        assert_eq!(d.status, "resolved");
        let report = op
            .get(&format!("/console/subjects/{key}/report"))
            .await
            .body;
        assert!(report.contains("consent on file; explained") && !report.contains("<form"));
        app.stop().await;
    }
}

#[test]
fn users_add_reads_the_password_from_a_file_and_never_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "a long console password\n").unwrap();
    let out = process::succeed(
        process::creditbridge(dir.path())
            .args([
                "users",
                "add",
                "--name",
                "sun",
                "--role",
                "auditor",
                "--password-file",
            ])
            .arg(&file),
    );
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added, json!({ "name": "sun", "role": "auditor" }));
    // No flag takes a password itself.
    let argv = process::creditbridge(dir.path())
        .args([
            "users",
            "add",
            "--name",
            "x",
            "--role",
            "auditor",
            "--password",
            "secret-secret",
        ])
        .output()
        .unwrap();
    assert!(!argv.status.success());
    // Standard input works; a short one is refused by name.
    let mut short = process::creditbridge(dir.path())
        .args(["users", "add", "--name", "zhou", "--role", "analyst"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    short.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let short = short.wait_with_output().unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password: at least 12 characters"));
    let bad_role = process::creditbridge(dir.path())
        .args([
            "users",
            "add",
            "--name",
            "x",
            "--role",
            "admin",
            "--password-file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("use operator, analyst or auditor"));
}
