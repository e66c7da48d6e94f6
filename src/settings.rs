//! Settings, layered: built-in defaults → optional `creditbridge.toml` → `CREDITBRIDGE_*`
//! environment variables → command-line flags. Secrets are wrapped so that `Debug` and logs never
//! show them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveDate;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/creditbridge.db";
pub const CONFIG_FILE: &str = "creditbridge.toml";
pub const ENV_PREFIX: &str = "CREDITBRIDGE_";

// Serialize only feeds the built-in defaults to figment as its first layer; the two secrets are
// never serialised (and their own Debug redacts them), so both traits are derived.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Settings {
    /// `sqlite://path` (created on first start) or `postgres://…`. Unset: the SQLite file
    /// `creditbridge.db` in `data_dir`.
    #[serde(default, skip_serializing)]
    pub database_url: DatabaseUrl,
    /// Address `serve` listens on.
    pub listen: SocketAddr,
    /// Where the embedded database, the generated PII key and demo files live.
    pub data_dir: PathBuf,
    /// Key for HMAC-SHA256 of resident identity numbers. Required with PostgreSQL (all replicas
    /// must share it); with SQLite it defaults to a key generated once in `data_dir/secrets/pii.key`.
    #[serde(skip_serializing)]
    pub pii_key: Option<SecretString>,
    /// Largest request body accepted, in bytes (413 beyond it). Feeds are the large ones.
    pub body_limit_bytes: usize,
    /// `text` for people, `json` for log shippers.
    pub log_format: LogFormat,
    /// Scores (and other requests) a partner may make per minute, across all replicas: a token
    /// bucket refilled continuously; a batch of n scores costs n (`rate_limit`).
    pub rate_limit_per_minute: u32,
    /// Requests without a valid key (missing, unknown, revoked) one client address may make per
    /// minute on each replica before it gets 429.
    pub unauthenticated_rate_limit_per_minute: u32,
    /// Maximum pooled database connections.
    pub max_connections: u32,
    /// Committed model artifacts (`models/<product>/<id>/model.json`) and new candidates.
    pub models_dir: PathBuf,
    /// Promotion gates (`[gates]` in creditbridge.toml).
    pub gates: GateThresholds,
    /// Drift monitoring (`[monitoring]` in creditbridge.toml).
    pub monitoring: MonitoringThresholds,
    /// Run quarterly retraining inside `serve` (first day of each quarter).
    pub retrain_schedule: bool,
    /// Hour (UTC) of the quarterly retraining.
    pub retrain_hour_utc: u32,
    /// Promote a scheduled candidate that passes every gate without an operator.
    pub auto_promote: bool,
    /// How often a replica checks the registry for a newly promoted champion.
    pub reload_interval_secs: u64,
    /// How often a replica looks for partners, consents or facts changed elsewhere and drops
    /// its cached copies (changes made through the replica itself apply at once).
    pub read_model_refresh_ms: u64,
    /// Memory for cached subjects' facts, in MiB (estimated).
    pub read_model_cache_mb: u64,

    // Hostile input and shutdown (issue 18).
    /// How much of a feed file the readers look at (`[feed_limits]`; docs/operations.md, Limits).
    pub feed_limits: crate::feeds::Limits,
    /// On SIGTERM `/readyz` answers 503 at once; the listener stays open this long more, so that
    /// load balancers see it and stop sending, then closes.
    pub shutdown_delay_ms: u64,
    /// Then requests in flight get this long to finish before the service stops regardless.
    pub shutdown_grace_secs: u64,
    /// What a consent's dates may be (`[consent]`; checked by `consent::check_registration`).
    pub consent: ConsentBounds,
    /// The audit ledger (`[ledger]`; docs/audit.md).
    pub ledger: LedgerSettings,
    /// Console sign-in: session length, lockout (`[console]`; applied by `users`).
    pub console: ConsoleSettings,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: DatabaseUrl(DEFAULT_DATABASE_URL.to_owned()),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            pii_key: None,
            body_limit_bytes: 64 * 1024 * 1024,
            log_format: LogFormat::Text,
            rate_limit_per_minute: 6_000,
            unauthenticated_rate_limit_per_minute: 60,
            max_connections: 16,
            models_dir: PathBuf::from("models"),
            gates: GateThresholds::default(),
            monitoring: MonitoringThresholds::default(),
            retrain_schedule: true,
            retrain_hour_utc: 3,
            auto_promote: false,
            reload_interval_secs: 10,
            read_model_refresh_ms: 500,
            read_model_cache_mb: 512,
            // Hostile input and shutdown (issue 18).
            feed_limits: crate::feeds::Limits::default(),
            shutdown_delay_ms: 5_000,
            shutdown_grace_secs: 30,
            consent: ConsentBounds::default(),
            ledger: LedgerSettings::default(),
            console: ConsoleSettings::default(),
        }
    }
}

/// The audit ledger's sequencer, signing key and witness file (`[ledger]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct LedgerSettings {
    /// The file holding the log's Ed25519 signing key (mode 0600; `creditbridge audit keygen` or
    /// `demo` makes one). Unset: `data_dir/secrets/ledger.key`. Never in the database.
    pub signing_key_file: Option<PathBuf>,
    /// The name of an environment variable holding the key text instead of a file.
    pub signing_key_env: Option<String>,
    /// Every signed checkpoint is also appended here (meant for WORM storage or another host).
    pub witness_file: Option<PathBuf>,
    /// Time between two sequencer runs, in milliseconds (100-200 is the intended range).
    pub sequence_interval_ms: u64,
    /// A checkpoint is signed at least this often while entries arrive, in milliseconds.
    pub checkpoint_interval_ms: u64,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        LedgerSettings {
            signing_key_file: None,
            signing_key_env: None,
            witness_file: None,
            sequence_interval_ms: 150,
            checkpoint_interval_ms: 1_000,
        }
    }
}

impl LedgerSettings {
    /// Where the signing key file is: the setting, or the data directory's `secrets/`.
    pub fn key_file(&self, data_dir: &std::path::Path) -> PathBuf {
        self.signing_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("secrets").join("ledger.key"))
    }
}

/// The bounds on a registered consent's dates (`[consent]`): plain values here, checked by
/// `consent::check_registration`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ConsentBounds {
    /// `valid_until` at most this many days after the day of `signed_at`. Chinese credit
    /// authorization letters usually run one year; 366 lets a one-year letter end on the same
    /// calendar day across a 29 February.
    pub max_term_days: u32,
    /// `signed_at` on or after this day. A fixed date rather than a maximum age: the age is
    /// already bounded by the term (a consent still valid today was signed at most
    /// `max_term_days` ago), so this floor is what catches absurd or mistyped years when the term
    /// is raised or older letters are registered. The default is the day the Credit Reporting
    /// Regulation (征信业管理条例), under which these authorizations are collected, took effect.
    pub earliest_signed_at: NaiveDate,
}

impl Default for ConsentBounds {
    fn default() -> Self {
        ConsentBounds {
            max_term_days: 366,
            earliest_signed_at: NaiveDate::from_ymd_opt(2013, 3, 15).expect("a valid date"),
        }
    }
}

/// Console sign-in (`[console]`): plain values here, applied by `users`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ConsoleSettings {
    /// A session ends this long after sign-in, whatever the browser does with its cookie.
    pub session_minutes: u32,
    /// Failed sign-ins in a row that lock an account.
    pub lockout_failures: u32,
    /// How long a locked account stays locked.
    pub lockout_minutes: u32,
    /// Shortest password `users add` accepts.
    pub min_password_chars: usize,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            session_minutes: 8 * 60,
            lockout_failures: 5,
            lockout_minutes: 15,
            min_password_chars: 12,
        }
    }
}

/// The promotion gates' thresholds (`[gates]`): plain numbers here, checked by
/// `lifecycle::Gates`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct GateThresholds {
    /// Signed out-of-time KS at least this (domain.md §7: < 0.2 do not use). A model ranking
    /// risk backwards has a negative KS and fails however large the gap.
    pub min_oot_ks: f64,
    /// The lower end of the out-of-time AUC's DeLong 95 % interval must exceed 0.5 plus this:
    /// the candidate must be shown to rank risk the right way, not merely estimated to.
    pub auc_margin: f64,
    /// Fewer out-of-time bads than this is too little evidence to judge a model on: the result
    /// is `insufficient_evidence`, never a pass.
    pub min_oot_bads: usize,
    /// Out-of-time AUC no worse than the reference's (the champion, or for a product's first
    /// champion the transparent baseline) on the same loans by more than this.
    pub max_auc_drop: f64,
    /// Score PSI between the training and out-of-time samples below this.
    pub max_psi: f64,
}

impl Default for GateThresholds {
    fn default() -> Self {
        GateThresholds {
            min_oot_ks: 0.2,
            auc_margin: 0.05,
            min_oot_bads: 30,
            max_auc_drop: 0.01,
            max_psi: 0.25,
        }
    }
}

/// Drift monitoring's thresholds (`[monitoring]`): plain numbers here, applied by
/// `lifecycle::monitoring`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MonitoringThresholds {
    /// Live scores needed in the window before score PSI and characteristic CSI are computed.
    /// A handful of scores fills one or two bins and reads as a huge shift (one score gave a
    /// PSI of 8.33); below this the report says `insufficient_sample` instead of a figure.
    pub min_sample: usize,
    /// A scored subject counts as approved when a loan of the product was disbursed within this
    /// many days after the score (the Monitoring page's approval rate by grade).
    pub approval_window_days: u32,
}

impl Default for MonitoringThresholds {
    fn default() -> Self {
        MonitoringThresholds {
            min_sample: 500,
            approval_window_days: 90,
        }
    }
}

/// Values given on the command line; `None` leaves the layer below in force.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {0}")]
pub struct SettingsError(String);

impl Settings {
    /// Loads the layers from the working directory and the process environment.
    pub fn load(overrides: &Overrides) -> Result<Settings, SettingsError> {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(CONFIG_FILE))
            .merge(Env::prefixed(ENV_PREFIX).split("__"))
            .merge(Serialized::defaults(overrides))
            .extract::<Settings>()
            .map(Settings::with_default_database)
            .map_err(|e| SettingsError(e.to_string()))
    }

    /// The embedded database lives in the data directory unless a URL was given.
    fn with_default_database(mut self) -> Settings {
        if self.database_url.0.is_empty() {
            self.database_url = DatabaseUrl(format!(
                "sqlite://{}",
                self.data_dir.join("creditbridge.db").display()
            ));
        }
        self
    }
}

/// A database URL whose password never reaches `Debug` or `Display`.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(url.into())
    }

    /// The URL with its password; only for opening the connection.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Reads a secret for use, keeping the expose call in one place.
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
// figment's Jail closures return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    // figment's Jail gives each test its own working directory and environment, serialised so
    // tests never see each other's variables.

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        Jail::expect_with(|_jail| {
            let s = Settings::load(&Overrides::default()).unwrap();
            assert_eq!(s.database_url.expose(), DEFAULT_DATABASE_URL);
            let elsewhere = Overrides {
                data_dir: Some("/srv/cb".into()),
                ..Default::default()
            };
            let s = Settings::load(&elsewhere).unwrap();
            assert_eq!(
                s.database_url.expose(),
                "sqlite:///srv/cb/creditbridge.db",
                "follows the data directory"
            );
            assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
            assert_eq!(s.monitoring.min_sample, 500);
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_then_flags_override_in_that_order() {
        Jail::expect_with(|jail| {
            jail.create_file(
                CONFIG_FILE,
                "listen = \"127.0.0.1:9000\"\nrate_limit_per_minute = 5\nmax_connections = 3\n",
            )?;
            let s = Settings::load(&Overrides::default()).unwrap();
            assert_eq!(s.listen.port(), 9000);
            assert_eq!(s.rate_limit_per_minute, 5);

            jail.set_env("CREDITBRIDGE_LISTEN", "127.0.0.1:9100");
            jail.set_env("CREDITBRIDGE_RATE_LIMIT_PER_MINUTE", "7");
            let s = Settings::load(&Overrides::default()).unwrap();
            assert_eq!(s.listen.port(), 9100);
            assert_eq!(s.rate_limit_per_minute, 7);
            assert_eq!(
                s.max_connections, 3,
                "the file's value survives where env is silent"
            );

            let flags = Overrides {
                listen: Some("127.0.0.1:9200".parse().unwrap()),
                ..Default::default()
            };
            let s = Settings::load(&flags).unwrap();
            assert_eq!(s.listen.port(), 9200);
            Ok(())
        });
    }

    #[test]
    fn debug_never_prints_the_pii_key_or_the_database_password() {
        Jail::expect_with(|jail| {
            jail.set_env("CREDITBRIDGE_PII_KEY", "super-secret-pii-key");
            jail.set_env(
                "CREDITBRIDGE_DATABASE_URL",
                "postgres://app:hunter2@db.example:5432/credit",
            );
            let s = Settings::load(&Overrides::default()).unwrap();
            let shown = format!("{s:?} {}", s.database_url);
            assert!(!shown.contains("super-secret-pii-key"), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("db.example"), "{shown}");
            assert_eq!(expose(s.pii_key.as_ref().unwrap()), "super-secret-pii-key");
            Ok(())
        });
    }

    #[test]
    fn nested_gate_settings_come_from_the_file_and_from_double_underscore_variables() {
        Jail::expect_with(|jail| {
            jail.create_file(CONFIG_FILE, "[gates]\nmax_psi = 0.2\n")?;
            jail.set_env("CREDITBRIDGE_GATES__MIN_OOT_KS", "0.3");
            jail.set_env("CREDITBRIDGE_MONITORING__MIN_SAMPLE", "40");
            let s = Settings::load(&Overrides::default()).unwrap();
            assert_eq!(s.monitoring.min_sample, 40);
            assert_eq!(s.gates.min_oot_ks, 0.3);
            assert_eq!(s.gates.max_psi, 0.2);
            assert_eq!(
                s.gates.max_auc_drop, 0.01,
                "unset gates keep their defaults"
            );
            Ok(())
        });
    }

    #[test]
    fn consent_bounds_come_from_the_file_and_from_double_underscore_variables() {
        Jail::expect_with(|jail| {
            let s = Settings::load(&Overrides::default()).unwrap();
            assert_eq!(s.consent, ConsentBounds::default());
            assert_eq!(s.consent.max_term_days, 366);
            jail.create_file(
                CONFIG_FILE,
                "[consent]\nearliest_signed_at = \"2016-01-01\"\n",
            )?;
            jail.set_env("CREDITBRIDGE_CONSENT__MAX_TERM_DAYS", "730");
            let s = Settings::load(&Overrides::default()).unwrap();
            assert_eq!(s.consent.max_term_days, 730);
            assert_eq!(
                s.consent.earliest_signed_at,
                NaiveDate::from_ymd_opt(2016, 1, 1).unwrap()
            );
            Ok(())
        });
    }

    #[test]
    fn a_malformed_value_is_an_error_naming_the_setting() {
        Jail::expect_with(|jail| {
            jail.create_file(CONFIG_FILE, "listen = \"not an address\"\n")?;
            let err = Settings::load(&Overrides::default()).unwrap_err();
            assert!(err.to_string().contains("listen"), "{err}");
            Ok(())
        });
    }
}
