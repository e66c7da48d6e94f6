//! Console users (issue 19): people of the credit centre, separate from partner keys. Who they
//! are (`UserRole`), how a password is kept (`passwords`), and signing in and out with the
//! lockout and the session's expiry (`sessions`). What each role may do is `UserRole::may`.

use chrono::{DateTime, Utc};

use crate::settings::ConsoleSettings;
use crate::storage::{Db, StoreError};

pub mod passwords;
pub mod sessions;

pub use sessions::{LoginError, SessionState, SignedIn};

/// What a console user is for. An operator runs the data side (feeds, partners, consents,
/// subjects' disputes), an analyst the models, an auditor reads everything and changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    Operator,
    Analyst,
    Auditor,
}

/// What a console action changes; each POST names one, and `UserRole::may` decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duty {
    /// Upload feeds.
    Feeds,
    /// Add, revoke and rotate partner keys.
    Partners,
    /// Consents and subjects' disputes.
    Subjects,
    /// Promote, approve, roll back, retrain.
    Models,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Operator => "operator",
            UserRole::Analyst => "analyst",
            UserRole::Auditor => "auditor",
        }
    }

    /// The one place the console's permissions are written down.
    pub fn may(self, duty: Duty) -> bool {
        match self {
            UserRole::Operator => matches!(duty, Duty::Feeds | Duty::Partners | Duty::Subjects),
            UserRole::Analyst => matches!(duty, Duty::Models),
            UserRole::Auditor => false,
        }
    }
}

impl std::str::FromStr for UserRole {
    type Err = UserError;

    fn from_str(s: &str) -> Result<Self, UserError> {
        match s {
            "operator" => Ok(UserRole::Operator),
            "analyst" => Ok(UserRole::Analyst),
            "auditor" => Ok(UserRole::Auditor),
            other => Err(UserError::Role(other.to_owned())),
        }
    }
}

/// The console's two languages; a user's choice is kept with the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// A signed-in person as the console sees them.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub role: UserRole,
    pub lang: Lang,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("role {0:?}: use operator, analyst or auditor")]
    Role(String),
    #[error("name: use 1 to 64 letters, digits, '.', '-' or '_'")]
    Name,
    #[error("password: at least {0} characters")]
    ShortPassword(usize),
    #[error("password: the file or input is empty")]
    EmptyPassword,
    #[error("a console user named {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Adds a console user with an Argon2 hash of `password` (which the caller read from a file or
/// standard input, never the command line).
pub async fn add(
    db: &Db,
    settings: &ConsoleSettings,
    name: &str,
    role: UserRole,
    password: &str,
    now: DateTime<Utc>,
) -> Result<(), UserError> {
    let name = name.trim();
    let name_ok = (1..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !name_ok {
        return Err(UserError::Name);
    }
    // A password file usually ends with a newline that is not part of the password.
    let password = password.strip_suffix('\n').unwrap_or(password);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(UserError::EmptyPassword);
    }
    if password.chars().count() < settings.min_password_chars {
        return Err(UserError::ShortPassword(settings.min_password_chars));
    }
    let hash = passwords::hash(password);
    db.add_console_user(name, role.as_str(), &hash, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => UserError::Exists(name.to_owned()),
            other => UserError::Store(other),
        })
}

/// Remembers `user`'s language.
pub async fn set_lang(db: &Db, user: &str, lang: Lang) -> Result<(), StoreError> {
    db.set_console_lang(user, lang.as_str()).await
}

/// A fresh random password for a generated account (the demo's): `len` characters from an
/// alphabet without look-alikes, from the OS's generator. Shown once to whoever made it; only
/// its Argon2 hash is kept.
pub fn generated_password(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Adds `name` with `role` and `password`, or, when the account exists, gives it `password`
/// instead (unlocked, its sessions ended). True when the account was added.
pub async fn add_or_reset(
    db: &Db,
    settings: &ConsoleSettings,
    name: &str,
    role: UserRole,
    password: &str,
    now: DateTime<Utc>,
) -> Result<bool, UserError> {
    match add(db, settings, name, role, password, now).await {
        Ok(()) => Ok(true),
        Err(UserError::Exists(_)) => {
            db.reset_console_password(name.trim(), &passwords::hash(password))
                .await?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
