//! Signing in and out. A sign-in checks the password (Argon2, off the async threads), counts
//! failures and locks the account after `lockout_failures` in a row for `lockout_minutes`; every
//! refusal looks the same to the person signing in (`LoginError`'s message), and only the audit
//! trail tells them apart. A session is a random cookie value whose SHA-256 is stored, with its
//! CSRF token and an expiry from the application's clock.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{passwords, Lang, User, UserRole};
use crate::settings::ConsoleSettings;
use crate::storage::{Db, StoreError};

/// Why a sign-in was refused: for the audit trail only, never shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    UnknownName,
    WrongPassword { locked_now: bool },
    Locked,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::UnknownName => "unknown_name",
            Refusal::WrongPassword { locked_now: false } => "wrong_password",
            Refusal::WrongPassword { locked_now: true } => "wrong_password_locked",
            Refusal::Locked => "locked",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The same words whatever the reason, so the page tells no one which names exist.
    #[error("wrong name or password")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new session: the cookie's value exists only here and in the browser.
#[derive(Debug)]
pub struct SignedIn {
    pub cookie: String,
    pub csrf: String,
    pub user: User,
    pub expires_at: DateTime<Utc>,
}

/// What a request's cookie stands for.
#[derive(Debug)]
pub enum SessionState {
    Valid {
        user: User,
        csrf: String,
    },
    /// It was a session, and its time is up: the console sends the person to sign in again.
    Expired,
    Missing,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn digest(cookie: &str) -> String {
    hex::encode(Sha256::digest(cookie.as_bytes()))
}

fn user_of(row: &crate::storage::users::UserRow) -> Result<User, StoreError> {
    let role: UserRole = row.role.parse().map_err(|e: super::UserError| {
        StoreError::Other(sqlx::Error::Decode(e.to_string().into()))
    })?;
    Ok(User {
        name: row.name.clone(),
        role,
        lang: Lang::parse(&row.lang).unwrap_or(Lang::Zh),
    })
}

/// Checks `password` off the async threads (Argon2 takes tens of milliseconds on purpose).
async fn verify(password: &str, phc: Option<String>) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => passwords::verify(&password, &phc),
        None => {
            passwords::verify_nobody(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

pub async fn login(
    db: &Db,
    settings: &ConsoleSettings,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<SignedIn, LoginError> {
    let Some(row) = db.console_user(name.trim()).await? else {
        verify(password, None).await;
        return Err(LoginError::Refused(Refusal::UnknownName));
    };
    if row.locked_until.is_some_and(|until| until > now) {
        // The password is not even looked at while locked; the time spent is the same.
        verify(password, None).await;
        return Err(LoginError::Refused(Refusal::Locked));
    }
    if !verify(password, Some(row.password_hash.clone())).await {
        let failures = db.count_failed_login(&row.name).await?;
        let locked_now = failures >= i64::from(settings.lockout_failures);
        if locked_now {
            let until = now + Duration::minutes(i64::from(settings.lockout_minutes));
            db.lock_console_user(&row.name, until).await?;
        }
        return Err(LoginError::Refused(Refusal::WrongPassword { locked_now }));
    }
    db.clear_failed_logins(&row.name).await?;
    db.purge_console_sessions(now).await?;
    let cookie = random_hex();
    let csrf = random_hex();
    let expires_at = now + Duration::minutes(i64::from(settings.session_minutes));
    db.add_console_session(&digest(&cookie), &row.name, &csrf, now, expires_at)
        .await?;
    Ok(SignedIn {
        cookie,
        csrf,
        user: user_of(&row)?,
        expires_at,
    })
}

/// The session a cookie stands for at `now`. An expired one is removed as it is found.
pub async fn resolve(
    db: &Db,
    cookie: &str,
    now: DateTime<Utc>,
) -> Result<SessionState, StoreError> {
    let id = digest(cookie);
    let Some(session) = db.console_session(&id).await? else {
        return Ok(SessionState::Missing);
    };
    if session.expires_at <= now {
        db.end_console_session(&id).await?;
        return Ok(SessionState::Expired);
    }
    let Some(row) = db.console_user(&session.user_name).await? else {
        return Ok(SessionState::Missing);
    };
    Ok(SessionState::Valid {
        user: user_of(&row)?,
        csrf: session.csrf_token,
    })
}

pub async fn logout(db: &Db, cookie: &str) -> Result<(), StoreError> {
    db.end_console_session(&digest(cookie)).await
}
