//! The one place the console writes to the audit trail: every sign-in (accepted or refused),
//! every sign-out and every action, under the console user's name (`detail.user`). A refusal
//! says why in the record (unknown name, wrong password, locked) although the page does not.

use serde_json::{json, Value};

use super::page::ConsoleError;
use crate::app::AppState;
use crate::audit::AuditEvent;
use crate::users::User;

fn event(state: &AppState, kind: &str) -> AuditEvent {
    AuditEvent::new(
        format!("{kind}-{}", ulid::Ulid::new()),
        kind,
        state.clock.now(),
    )
}

async fn write(state: &AppState, event: AuditEvent) -> Result<(), ConsoleError> {
    state
        .audit
        .record(event)
        .await
        .map(|_| ())
        .map_err(ConsoleError::internal)
}

/// A sign-in. `user` is the account's name only when the account exists (a mistyped password
/// in the name field must not land in the trail).
pub async fn sign_in(
    state: &AppState,
    user: Option<&User>,
    refusal: Option<&str>,
) -> Result<(), ConsoleError> {
    let mut e = event(state, "console_sign_in");
    e.outcome = if refusal.is_some() { "refused" } else { "done" }.into();
    e.detail = Some(json!({
        "user": user.map(|u| u.name.as_str()),
        "role": user.map(|u| u.role.as_str()),
        "refusal": refusal,
    }));
    write(state, e).await
}

/// A refused sign-in of an account that exists but whose `User` the refusal has not built.
pub async fn sign_in_refused_named(
    state: &AppState,
    name: Option<&str>,
    refusal: &str,
) -> Result<(), ConsoleError> {
    let mut e = event(state, "console_sign_in");
    e.outcome = "refused".into();
    e.detail = Some(json!({ "user": name, "refusal": refusal }));
    write(state, e).await
}

/// Something a console user did: `action` names it, `detail` says to what. `subject_key` puts
/// the record in a subject's history (a look-up of that subject).
pub async fn action(
    state: &AppState,
    user: &User,
    action: &str,
    subject: Option<(&str, &str)>,
    mut detail: Value,
) -> Result<(), ConsoleError> {
    let mut e = event(state, "console_action");
    if let Some(obj) = detail.as_object_mut() {
        obj.insert("user".into(), json!(user.name));
        obj.insert("role".into(), json!(user.role.as_str()));
        obj.insert("action".into(), json!(action));
    }
    if let Some((key, masked)) = subject {
        e.subject_key = Some(key.to_owned());
        e.subject_masked = Some(masked.to_owned());
    }
    e.detail = Some(detail);
    write(state, e).await
}

/// A POST refused for its CSRF token. Logged if the trail cannot take it: the refusal stands.
pub async fn refused_csrf(state: &AppState, user: &User, path: &str) {
    let mut e = event(state, "console_action");
    e.outcome = "refused".into();
    e.refusal = Some(crate::audit::Refusal {
        code: "csrf".into(),
        message: "missing or wrong CSRF token".into(),
    });
    e.detail = Some(json!({ "user": user.name, "role": user.role.as_str(), "path": path }));
    if let Err(err) = state.audit.record(e).await {
        tracing::error!(error = %err, "audit of a CSRF refusal");
    }
}

/// A console user added from the command line (by whoever runs it on the server).
pub async fn user_added(
    state: &AppState,
    name: &str,
    role: crate::users::UserRole,
) -> Result<(), ConsoleError> {
    let mut e = event(state, "console_user_added");
    e.detail = Some(json!({ "user": name, "role": role.as_str(), "by": "cli" }));
    write(state, e).await
}
