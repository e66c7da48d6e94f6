//! Console users and their sessions (issue 19). A user row keeps the Argon2 hash of the
//! password, never the password; a session row keeps the SHA-256 of the cookie's value, never
//! the value. What the rows mean (lockout, expiry) is decided in `users`, not here.

use chrono::{DateTime, Utc};

use super::{Db, StoreError};
use crate::with_db;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub lang: String,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub user_name: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const USER_COLUMNS: &str =
    "name, role, password_hash, lang, failed_logins, locked_until, created_at";

impl Db {
    pub async fn add_console_user(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "INSERT INTO console_users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(name).bind(role).bind(password_hash).bind(at)
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::from_insert(e, &format!("console user {name:?}")))
    }

    pub async fn console_user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users WHERE name = $1");
        Ok(with_db!(self, p => sqlx::query_as(&sql).bind(name).fetch_optional(p).await)?)
    }

    pub async fn console_users(&self) -> Result<Vec<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users ORDER BY name");
        Ok(with_db!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?)
    }

    /// Counts one failed sign-in and returns the count, atomically (two browsers guessing at
    /// once both count).
    pub async fn count_failed_login(&self, name: &str) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = with_db!(self, p => sqlx::query_as(
            "UPDATE console_users SET failed_logins = failed_logins + 1 WHERE name = $1 RETURNING failed_logins")
            .bind(name).fetch_optional(p).await)?;
        row.map(|r| r.0).ok_or(StoreError::NotFound)
    }

    /// Locks `name` until `until` and starts the failure count over.
    pub async fn lock_console_user(
        &self,
        name: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "UPDATE console_users SET failed_logins = 0, locked_until = $2 WHERE name = $1")
            .bind(name).bind(until).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// After a good password: no failures, no lock.
    pub async fn clear_failed_logins(&self, name: &str) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "UPDATE console_users SET failed_logins = 0, locked_until = NULL WHERE name = $1")
            .bind(name).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn set_console_lang(&self, name: &str, lang: &str) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query("UPDATE console_users SET lang = $2 WHERE name = $1")
            .bind(name).bind(lang).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn add_console_session(
        &self,
        id_sha256: &str,
        user: &str,
        csrf_token: &str,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query(
            "INSERT INTO console_sessions (id_sha256, user_name, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)")
            .bind(id_sha256).bind(user).bind(csrf_token).bind(created_at).bind(expires_at)
            .execute(p).await.map(|_| ()))
        .map_err(|e| StoreError::from_insert(e, "console session"))
    }

    pub async fn console_session(&self, id_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        Ok(with_db!(self, p => sqlx::query_as(
            "SELECT user_name, csrf_token, created_at, expires_at FROM console_sessions WHERE id_sha256 = $1")
            .bind(id_sha256).fetch_optional(p).await)?)
    }

    pub async fn end_console_session(&self, id_sha256: &str) -> Result<(), StoreError> {
        with_db!(self, p => sqlx::query("DELETE FROM console_sessions WHERE id_sha256 = $1")
            .bind(id_sha256).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Drops sessions that expired before `now` (called at each sign-in: the table stays small
    /// without a job of its own).
    pub async fn purge_console_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(
            with_db!(self, p => sqlx::query("DELETE FROM console_sessions WHERE expires_at < $1")
            .bind(now).execute(p).await.map(|r| r.rows_affected()))?,
        )
    }
}

impl Db {
    /// Replaces `name`'s password hash, unlocks the account and ends its sessions. False when
    /// there is no such user.
    pub async fn reset_console_password(
        &self,
        name: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let n = with_db!(self, p => sqlx::query(
            "UPDATE console_users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE name = $1")
            .bind(name).bind(password_hash)
            .execute(p).await.map(|r| r.rows_affected()))?;
        with_db!(self, p => sqlx::query("DELETE FROM console_sessions WHERE user_name = $1")
            .bind(name).execute(p).await.map(|_| ()))?;
        Ok(n == 1)
    }
}
