//! The one place the console writes to the audit ledger: every sign-in (accepted or refused),
//! every sign-out and every action, under the console user's name (actor `by:console:NAME`,
//! and `user` and `role` in the entry). A refusal says why in the entry (unknown name, wrong
//! password, locked) although the page does not.

use serde_json::Value;

use super::page::ConsoleError;
use crate::app::AppState;
use crate::audit::{Actor, AuditEvent, AuditSubject, EventKind, Outcome};
use crate::users::{User, UserRole};

/// A console user as the ledger's actor.
pub fn actor(name: &str) -> Actor {
    Actor::Named {
        name: format!("console:{name}"),
    }
}

async fn write(state: &AppState, event: AuditEvent) -> Result<(), ConsoleError> {
    state
        .audit
        .record(event)
        .await
        .map(|_| ())
        .map_err(ConsoleError::internal)
}

/// An accepted sign-in.
pub async fn sign_in(state: &AppState, user: &User) -> Result<(), ConsoleError> {
    let e = AuditEvent::new(
        EventKind::ConsoleSignIn,
        actor(&user.name),
        state.clock.now(),
    )
    .outcome(Outcome::Done)
    .with("user", &user.name)
    .with("role", user.role.as_str());
    write(state, e).await
}

/// A refused sign-in. `name` only when the account exists (a password typed into the name
/// field must not land in the ledger).
pub async fn sign_in_refused(
    state: &AppState,
    name: Option<&str>,
    refusal: &str,
) -> Result<(), ConsoleError> {
    let who = name.map_or(Actor::System, actor);
    let e = AuditEvent::new(EventKind::ConsoleSignIn, who, state.clock.now())
        .outcome(Outcome::Refused)
        .with("user", name)
        .with("refusal", refusal);
    write(state, e).await
}

/// Something a console user did: `action` names it, `detail` (an object) says to what;
/// `subject` puts the entry in a subject's history (a look-up of that subject).
pub async fn action(
    state: &AppState,
    user: &User,
    action: &str,
    subject: Option<AuditSubject>,
    detail: Value,
) -> Result<(), ConsoleError> {
    let mut e = AuditEvent::new(
        EventKind::ConsoleAction,
        actor(&user.name),
        state.clock.now(),
    )
    .outcome(Outcome::Done);
    if let Value::Object(fields) = detail {
        for (k, v) in fields {
            e.set(&k, v);
        }
    }
    e.set("user", &user.name);
    e.set("role", user.role.as_str());
    e.set("action", action);
    if let Some(s) = subject {
        e = e.subject(s);
    }
    write(state, e).await
}

/// A POST refused for its CSRF token. Logged if the ledger cannot take it: the refusal stands.
pub async fn refused_csrf(state: &AppState, user: &User, path: &str) {
    let e = AuditEvent::new(
        EventKind::ConsoleAction,
        actor(&user.name),
        state.clock.now(),
    )
    .outcome(Outcome::Refused)
    .with("user", &user.name)
    .with("role", user.role.as_str())
    .with("refusal", "csrf")
    .with("path", path);
    if let Err(err) = state.audit.record(e).await {
        tracing::error!(error = %err, "audit of a CSRF refusal");
    }
}

/// A console user added from the command line, by the OS user who ran it; with
/// `password_reset`, an existing user's password replaced instead (the demo's accounts on a
/// second run), marked so in the entry.
pub async fn user_added(
    state: &AppState,
    name: &str,
    role: UserRole,
    password_reset: bool,
) -> Result<(), ConsoleError> {
    let mut e = AuditEvent::new(
        EventKind::ConsoleUserAdded,
        Actor::operator(),
        state.clock.now(),
    )
    .outcome(Outcome::Done)
    .with("user", name)
    .with("role", role.as_str());
    if password_reset {
        e = e.with("password_reset", true);
    }
    write(state, e).await
}
