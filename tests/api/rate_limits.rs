//! Rate limits counted in scores, shared by replicas, and on requests without a valid key
//! (issue 18, item 4). Time moves by the apps' clocks, never by waiting.

use chrono::Duration;
use serde_json::{json, Value};

use crate::common::fixtures::{self, USCC};
use crate::common::{score_body, Backend, TestApp};

/// A ready SQLite app limited to `per_minute`, a bank and its consent for the fixture
/// enterprise, with the bank's bucket full again (the consent's request cost a token).
async fn limited_app(per_minute: u32) -> (TestApp, String, Value) {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.rate_limit_per_minute = per_minute).await;
    fixtures::seed_subjects(&app.state).await;
    fixtures::install_champion(&app.state, "sme", "sme-test-1", 1).await;
    let bank = app.partner_key("bank").await;
    let consent = app.consent(&bank, USCC, "loan_application").await;
    app.clock.advance(Duration::seconds(60));
    let item = score_body("sme", USCC, "loan_application", &consent);
    (app, bank, item)
}

async fn batch(app: &TestApp, key: &str, item: &Value, n: usize) -> reqwest::Response {
    let requests: Vec<Value> = (0..n).map(|_| item.clone()).collect();
    app.client
        .post(app.url("/v1/scores/batch"))
        .bearer_auth(key)
        .json(&json!({ "requests": requests }))
        .send()
        .await
        .unwrap()
}

/// Scores delivered by a batch answer (items with a score).
async fn delivered(resp: reqwest::Response) -> usize {
    let body: Value = resp.json().await.unwrap();
    body["results"]
        .as_array()
        .map_or(0, |r| r.iter().filter(|i| i["score"].is_i64()).count())
}

#[tokio::test]
async fn batches_deliver_no_more_scores_than_the_limit() {
    // The attack: at 3 a minute, batches delivered 3,000 scores in a second.
    let (app, bank, item) = limited_app(3).await;
    let mut scores = 0;
    let mut statuses = vec![];
    for _ in 0..20 {
        let resp = batch(&app, &bank, &item, 3).await;
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 {
            assert!(resp.headers().get("retry-after").is_some(), "{statuses:?}");
            continue;
        }
        scores += delivered(resp).await;
    }
    assert_eq!(scores, 3, "{statuses:?}");
    assert_eq!(statuses[0], 200);
    assert!(statuses[1..].iter().all(|s| *s == 429), "{statuses:?}");
    // Single scores are refused as well until tokens refill: one per 20 s.
    let (status, _) = app.score(&bank, item.clone()).await;
    assert_eq!(status, 429);
    app.clock.advance(Duration::seconds(20));
    let (status, s) = app.score(&bank, item.clone()).await;
    assert_eq!(status, 200, "{s}");
    app.stop().await;
}

#[tokio::test]
async fn a_batch_is_refused_whole_when_the_tokens_left_do_not_cover_it() {
    let (app, bank, item) = limited_app(3).await;
    // Two of three tokens spent: one left.
    assert_eq!(delivered(batch(&app, &bank, &item, 2).await).await, 2);
    let resp = batch(&app, &bank, &item, 2).await;
    assert_eq!(resp.status(), 429);
    // Its request took the last token; the second item needs one more: 20 s.
    assert_eq!(resp.headers()["retry-after"], "20");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["details"]["retry_after_secs"], 20);
    assert!(body["results"].is_null(), "nothing of it was scored");

    // A batch larger than the whole allowance could never pass: no Retry-After to wait for.
    app.clock.advance(Duration::seconds(60));
    let resp = batch(&app, &bank, &item, 4).await;
    assert_eq!(resp.status(), 413);
    assert!(resp.headers().get("retry-after").is_none());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "batch_over_rate_limit");
    assert_eq!(body["error"]["details"]["limit_per_minute"], 3);

    // Each refusal has its audit record, and no score was delivered by either.
    let scored: Vec<Value> = crate::common::audit_entries(&app.state.db)
        .await
        .into_iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("score."))
        .collect();
    let delivered = scored
        .iter()
        .filter(|e| e["kind"] == "score.delivered")
        .count();
    assert_eq!(delivered, 2);
    let codes: Vec<&Value> = scored
        .iter()
        .filter(|e| e["kind"] != "score.delivered")
        .map(|e| &e["refusal"]["code"])
        .collect();
    assert_eq!(codes, vec!["rate_limited", "batch_over_rate_limit"]);
    app.stop().await;
}

#[tokio::test]
async fn replicas_on_one_database_share_one_limit() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("skipped: replicas share a limit on PostgreSQL only (TEST_DATABASE_URL unset)");
        return;
    }
    let a = TestApp::spawn_with(Backend::Postgres, |s| s.rate_limit_per_minute = 3).await;
    let b = a.replica(|s| s.rate_limit_per_minute = 3).await;
    let bank = a.partner_key("bank").await;
    // Each request costs one token (an empty consent is refused with 422 after it paid).
    let ask = |app: &TestApp| {
        let bank = bank.clone();
        let client = app.client.clone();
        let url = app.url("/v1/consents");
        async move {
            client
                .post(url)
                .bearer_auth(bank)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
        }
    };
    let mut statuses = vec![];
    for app in [&a, &b, &a, &b, &a, &b] {
        let resp = ask(app).await;
        if resp.status() == 429 {
            assert!(resp.headers().get("retry-after").is_some());
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, vec![422, 422, 422, 429, 429, 429]);

    // At a limit where each replica takes slices of several tokens, the two together still
    // deliver no more than the limit (tokens come only out of the shared bucket), and at most a
    // slice per replica less (a slice held and unspent).
    let bank2 = a.partner_key("bank").await;
    let (a2, b2) = (
        a.replica(|s| s.rate_limit_per_minute = 500).await,
        b.replica(|s| s.rate_limit_per_minute = 500).await,
    );
    let mut passed = 0;
    for i in 0..560 {
        let app = if i % 3 == 0 { &a2 } else { &b2 };
        let resp = app
            .client
            .post(app.url("/v1/consents"))
            .bearer_auth(&bank2)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if resp.status() != 429 {
            passed += 1;
        }
    }
    let slice = 5; // 1 % of 500
    assert!(
        (500 - 2 * slice..=500).contains(&passed),
        "{passed} passed at 500 a minute"
    );
    for app in [a2, b2, b, a] {
        app.stop().await;
    }
}

#[tokio::test]
async fn requests_without_a_valid_key_are_limited_per_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.unauthenticated_rate_limit_per_minute = 3
    })
    .await;
    let bank = app.partner_key("bank").await;
    let unknown = "cbk_0000000000000000000000000000000000000000000000000000000000000000";
    for _ in 0..3 {
        let (status, body) = app.get_json(unknown, "/v1/audit/public-key").await;
        assert_eq!(status, 401, "{body}");
    }
    // The fourth guess from the same address waits; so does a request with no key at all.
    let resp = app.get(unknown, "/v1/audit/public-key").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "20");
    assert!(resp.headers().get("x-request-id").is_some());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let resp = app
        .client
        .get(app.url("/v1/audit/public-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    // A valid key from the same address is not held back by others' failures.
    let (status, _) = app.get_json(&bank, "/v1/audit/public-key").await;
    assert_eq!(status, 200);
    // The allowance refills with time.
    app.clock.advance(Duration::seconds(20));
    let (status, _) = app.get_json(unknown, "/v1/audit/public-key").await;
    assert_eq!(status, 401);
    app.stop().await;
}

#[tokio::test]
async fn limiters_sharing_a_database_take_from_one_bucket_on_either_dialect() {
    use creditbridge::rate_limit::{Limited, RateLimiter};
    for backend in crate::common::backends() {
        let t = crate::common::test_db(backend).await;
        let now = crate::common::test_now();
        // Two replicas' limiters at 300 a minute: slices of 3 tokens.
        let (a, b) = (
            RateLimiter::shared(300, 10, &t.db),
            RateLimiter::shared(300, 10, &t.db),
        );
        let mut passed = 0;
        for i in 0..400 {
            let limiter = if i % 2 == 0 { &a } else { &b };
            match limiter.take_request("p1", now).await {
                Ok(()) => passed += 1,
                Err(Limited::Wait { retry_after_secs }) => assert!(retry_after_secs >= 1),
                Err(e) => panic!("{backend:?}: {e}"),
            }
        }
        assert!((294..=300).contains(&passed), "{backend:?}: {passed}");
        // A batch of 250 needs 249 more than its request's token: refused whole until enough
        // have refilled (5 a second), then taken at once.
        let later = now + chrono::Duration::seconds(30);
        assert!(matches!(
            a.take_batch_rest("p1", 250, later).await,
            Err(Limited::Wait { .. })
        ));
        let full = now + chrono::Duration::seconds(60);
        a.take_batch_rest("p1", 250, full).await.unwrap();
        // Another partner's bucket is its own.
        b.take_request("p2", now).await.unwrap();
    }
}
