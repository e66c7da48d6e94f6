//! The console in a real browser (headless Chromium over WebDriver, see `common::browser`):
//! each role signs in and sees what it may do, hand-made POSTs without a token or outside the
//! role are refused, the language toggle is remembered per user, wrong passwords read the same
//! and five lock the account, and two of the issue's flows end to end. SQLite only: the
//! database behaviour under both dialects is in `console`. With CREDITBRIDGE_SCREENSHOTS=1 the
//! pages are saved to docs/console/ for the README.

use serde_json::json;

use crate::common::browser::{self, Browser};
use crate::common::console::{add_user, champion_and_candidate, scored_enterprise, PASSWORD};
use crate::common::fixtures::USCC;
use crate::common::{Backend, TestApp};

async fn app_and_browser() -> Option<(TestApp, Browser)> {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let b = browser::start(&app).await?;
    Some((app, b))
}

#[tokio::test]
async fn browser_each_role_sees_what_it_may_and_its_direct_posts_outside_it_are_refused() {
    let Some((app, b)) = app_and_browser().await else {
        return;
    };
    champion_and_candidate(&app).await;
    for (name, role) in [("op", "operator"), ("an", "analyst"), ("au", "auditor")] {
        add_user(&app.state, name, role).await;
        b.sign_in(name, PASSWORD).await;
        assert_eq!(
            b.wait_path("/console").await,
            "/console",
            "{role} lands on the overview"
        );
        assert!(b.text("#who").await.starts_with(name));
        b.goto("/console/partners").await;
        assert_eq!(
            b.exists("#add-partner").await,
            role == "operator",
            "{role}: add partner"
        );
        b.goto("/console/models").await;
        assert_eq!(
            b.exists("#promote-sme-new").await,
            role == "analyst",
            "{role}: promote"
        );
        assert!(
            !b.exists("#rollback-sme").await,
            "one champion: nothing to roll back to"
        );
        if role == "auditor" {
            b.shot("models").await;
        }
        // Hand-made POSTs with the page's own valid token, outside the role.
        let token = b.csrf().await;
        let partner = b
            .fetch_post(
                "/console/partners",
                json!({ "name": "X", "role": "bank", "csrf": token }),
            )
            .await;
        assert_eq!(
            partner == 403,
            role != "operator",
            "{role}: add partner by hand: {partner}"
        );
        let promote = b
            .fetch_post(
                "/console/models/sme-new/promote",
                json!({ "reason": "r", "force": "true", "csrf": token }),
            )
            .await;
        // An analyst's is taken (a redirect, which fetch sees as 0): a request for approval.
        assert_eq!(
            promote == 403,
            role != "analyst",
            "{role}: promote by hand: {promote}"
        );
        b.sign_out().await;
    }
    assert_eq!(
        app.state.db.model("sme-new").await.unwrap().status,
        "candidate"
    );
    let asked: Vec<_> = app
        .state
        .db
        .open_approvals()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.requested_by)
        .collect();
    assert_eq!(
        asked,
        ["console:an"],
        "only the analyst's hand-made request was taken"
    );
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_a_post_without_the_csrf_token_is_refused() {
    let Some((app, b)) = app_and_browser().await else {
        return;
    };
    add_user(&app.state, "op", "operator").await;
    b.sign_in("op", PASSWORD).await;
    b.goto("/console/partners").await;
    let without = b
        .fetch_post(
            "/console/partners",
            json!({ "name": "Forged", "role": "bank" }),
        )
        .await;
    assert_eq!(without, 403);
    let wrong = b
        .fetch_post(
            "/console/partners",
            json!({ "name": "Forged", "role": "bank", "csrf": "00" }),
        )
        .await;
    assert_eq!(wrong, 403);
    assert!(app.state.db.list_partners().await.unwrap().is_empty());
    // The form itself carries the token: it works, and the key is shown once.
    b.fill("#partner-name", "Zhanjiang Rural Bank").await;
    b.click("#add-partner-go").await;
    assert!(b.text("#new-key").await.starts_with("cbk_"));
    b.shot("partners").await;
    b.goto("/console/partners").await;
    assert!(!b.exists("#new-key").await, "shown once only");
    assert_eq!(app.state.db.list_partners().await.unwrap().len(), 1);
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_the_language_toggle_is_remembered_per_user() {
    let Some((app, b)) = app_and_browser().await else {
        return;
    };
    add_user(&app.state, "op", "operator").await;
    add_user(&app.state, "an", "analyst").await;
    b.sign_in("op", PASSWORD).await;
    assert_eq!(
        b.text_once("h1", "概览").await,
        "概览",
        "new users start in Chinese"
    );
    b.shot("overview-zh").await;
    b.goto("/console/feeds").await;
    b.click("#lang-toggle").await;
    assert_eq!(
        b.wait_path("/console/feeds").await,
        "/console/feeds",
        "back on the same page"
    );
    assert_eq!(b.text_once("h1", "Feeds").await, "Feeds");
    b.sign_out().await;
    // Another user keeps their own language; the first keeps theirs on the next sign-in.
    b.sign_in("an", PASSWORD).await;
    assert_eq!(b.text_once("h1", "概览").await, "概览");
    b.sign_out().await;
    b.sign_in("op", PASSWORD).await;
    assert_eq!(b.text_once("h1", "Overview").await, "Overview");
    b.shot("overview").await;
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_wrong_passwords_read_the_same_as_unknown_names_and_five_lock_the_account() {
    let Some((app, b)) = app_and_browser().await else {
        return;
    };
    add_user(&app.state, "li", "analyst").await;
    b.sign_in("nobody", PASSWORD).await;
    let unknown = b.text("#login-error").await;
    b.sign_in("li", "a wrong password").await;
    assert_eq!(b.text("#login-error").await, unknown);
    b.shot("sign-in").await;
    for _ in 0..4 {
        b.sign_in("li", "a wrong password").await;
    }
    b.sign_in("li", PASSWORD).await;
    assert_eq!(
        b.text("#login-error").await,
        unknown,
        "locked, with the same words"
    );
    app.clock.advance(chrono::Duration::minutes(16));
    b.sign_in("li", PASSWORD).await;
    assert_eq!(b.wait_path("/console").await, "/console");
    // An expired session goes back to sign-in, keeping the page.
    b.goto("/console/models").await;
    app.clock.advance(chrono::Duration::hours(9));
    b.goto("/console/models").await;
    assert_eq!(
        b.path().await,
        "/console/login?next=%2Fconsole%2Fmodels&expired=1"
    );
    b.fill("#name", "li").await;
    b.fill("#password", PASSWORD).await;
    b.click("#sign-in").await;
    assert_eq!(b.wait_path("/console/models").await, "/console/models");
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_flow_find_a_subject_see_its_score_and_mark_it_disputed() {
    let Some((app, b)) = app_and_browser().await else {
        return;
    };
    let scored = scored_enterprise(&app).await;
    add_user(&app.state, "op", "operator").await;
    let key = app.state.pii.subject_key(USCC);
    b.sign_in("op", PASSWORD).await;
    b.goto("/console/subjects").await;
    // An invalid id: the rule, not the digits.
    b.fill("#subject", "110105194912310021").await;
    b.click("#lookup-go").await;
    assert!(b.text("#lookup-error").await.contains("18位居民身份证号"));
    assert!(!b.source().await.contains("1101051949"));
    b.fill("#subject", USCC).await;
    b.click("#lookup-go").await;
    // Exactly the subject's page: the failed look-up left the browser at
    // /console/subjects/lookup, which a prefix wait would take for the next page.
    let subject_page = format!("/console/subjects/{key}");
    assert_eq!(b.wait_path(&subject_page).await, subject_page);
    assert!(
        b.source()
            .await
            .contains(&format!("<td class=\"score\">{}</td>", scored["score"])),
        "the delivered score {} is in the history",
        scored["score"]
    );
    // The score's row: the look-up itself is an entry of the history too.
    let row = "#history tr[data-kind='score.delivered']";
    b.fill(
        &format!("{row} form.dispute input[name=note]"),
        "the subject never applied to this bank",
    )
    .await;
    b.click(&format!("{row} form.dispute button")).await;
    assert!(b.appears("#disputes tr[data-dispute]").await);
    assert!(
        b.text("#history").await.contains("有异议"),
        "the entry shows disputed"
    );
    b.shot("subject").await;
    b.goto(&format!("/console/subjects/{key}/report")).await;
    assert!(b.source().await.contains("the subject never applied"));
    b.shot("subject-report").await;
    let d = &app.state.db.disputes_of(&key).await.unwrap()[0];
    assert_eq!(
        (d.status.as_str(), d.opened_by.as_str()),
        ("open", "console:op")
    );
    let scored_entry = app
        .state
        .db
        .ledger_for_subject(&app.state.pii.subject_key(USCC), 10)
        .await
        .unwrap();
    let scored_entry = scored_entry
        .iter()
        .find(|r| r.kind == "score.delivered")
        .unwrap();
    assert_eq!(
        d.event_id, scored_entry.event_id,
        "the score's entry is disputed"
    );
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_flow_promote_needing_approval_then_a_second_analyst_approves() {
    let Some((app, b)) = app_and_browser().await else {
        return;
    };
    champion_and_candidate(&app).await;
    add_user(&app.state, "an1", "analyst").await;
    add_user(&app.state, "an2", "analyst").await;
    b.sign_in("an1", PASSWORD).await;
    assert_eq!(
        b.text("#champions tr[data-product=sme] .champion-id").await,
        "sme-old"
    );
    b.goto("/console/models").await;
    b.fill("#reason-sme-new", "the old champion drifts").await;
    b.click("#force-sme-new").await;
    b.click("#promote-sme-new").await;
    assert!(b.appears("#awaiting-sme-new").await);
    b.click("#approve-sme-new").await;
    assert!(
        b.text("#error").await.contains("different"),
        "not by the requester"
    );
    b.goto("/console").await;
    b.sign_out().await;
    b.sign_in("an2", PASSWORD).await;
    b.goto("/console/models").await;
    b.shot("models-awaiting").await;
    b.click("#approve-sme-new").await;
    assert_eq!(b.wait_path("/console/models").await, "/console/models");
    b.goto("/console").await;
    assert_eq!(
        b.text("#champions tr[data-product=sme] .champion-id").await,
        "sme-new"
    );
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_flow_rotate_a_partner_key() {
    let Some((app, b)) = app_and_browser().await else {
        return;
    };
    let bank = app.partner("bank").await;
    add_user(&app.state, "op", "operator").await;
    let works = |key: String| {
        let app = &app;
        async move {
            app.get(&key, "/v1/audit/public-key")
                .await
                .status()
                .as_u16()
        }
    };
    b.sign_in("op", PASSWORD).await;
    assert_eq!(b.wait_path("/console").await, "/console");
    b.goto("/console/partners").await;
    b.fill(&format!("#overlap-{}", bank.id), "60").await;
    b.click(&format!("#rotate-go-{}", bank.id)).await;
    // The new key, shown once.
    let new_key = b.text("#new-key").await;
    assert!(new_key.starts_with("cbk_"), "{new_key}");
    b.shot("partners-rotated").await;
    // Within the overlap both keys work.
    assert_eq!(works(bank.key.clone()).await, 200);
    assert_eq!(works(new_key.clone()).await, 200);
    b.goto("/console/partners").await;
    assert!(!b.exists("#new-key").await, "shown once only");
    assert!(!b.source().await.contains(&new_key));
    // Revoke the old key: its row turns revoked, and the key is refused.
    b.click(&format!("#revoke-key-{}", bank.key_id)).await;
    assert!(
        b.appears(&format!("tr[data-key='{}'] td.late", bank.key_id))
            .await
    );
    assert_eq!(works(bank.key.clone()).await, 401);
    assert_eq!(works(new_key).await, 200);
    let actors: Vec<String> = app
        .state
        .db
        .ledger_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "key.rotated" || r.kind == "key.revoked")
        .map(|r| format!("{} {}", r.kind, r.actor))
        .collect();
    assert_eq!(
        actors,
        ["key.rotated by:console:op", "key.revoked by:console:op"]
    );
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_an_upload_of_a_wrong_kind_shows_the_feeds_errors_and_the_audit_page_verifies() {
    let Some((app, b)) = app_and_browser().await else {
        return;
    };
    add_user(&app.state, "op", "operator").await;
    b.sign_in("op", PASSWORD).await;
    assert_eq!(b.wait_path("/console").await, "/console");
    // A households file sent as tax grades: the feed's own errors, by line and column.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("households.csv");
    std::fs::write(&file, &crate::common::fixtures::subject_feeds()[4].1).unwrap();
    b.goto("/console/feeds").await;
    b.client
        .find(fantoccini::Locator::Css(
            "#upload-kind option[value='tax-grades']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .find(fantoccini::Locator::Css("#upload-file"))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    b.click("#upload-go").await;
    assert!(b.appears("#upload-errors").await);
    assert!(b.text("#upload-errors").await.contains("uscc"));
    assert!(b.exists("#refusals tr[data-refusal]").await, "listed");
    assert!(!b.source().await.contains(crate::common::fixtures::RESIDENT));
    b.shot("feeds-refused").await;
    assert!(app.state.db.recent_batches(10).await.unwrap().is_empty());
    // The audit page: run a verification, see it, and see it on the overview.
    app.sequence().await;
    b.goto("/console/audit").await;
    b.click("#verify").await;
    assert!(b.appears("#verification.ok").await);
    b.shot("audit").await;
    b.goto("/console").await;
    assert!(b
        .text("#ledger #last-verification")
        .await
        .contains("by:console:op"));
    b.close().await;
    app.stop().await;
}
