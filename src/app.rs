//! The application's state: what the service holds while it runs (database, keys, audit writer,
//! champions, caches, clock) and the use cases over it. Owned by no layer above it: `http`,
//! `startup`, `cli` and `demo` reach the use cases through here, and the use cases take the
//! parts they need, never the whole state.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::audit::sequencer::SequencerHandle;
use crate::audit::{self, digest_of, AuditEvent, AuditWriter, EventKind, Outcome};
use crate::clock::SharedClock;
use crate::consent::{self, Actor, ConsentError, Registered, Registration};
use crate::domain::{Product, Role, SubjectId};
use crate::feeds::{self, Accepted, FeedError, FeedRequest, Progress};
use crate::lifecycle::monitoring::{self, MonitoringReport};
use crate::lifecycle::retrain::{self, RetrainError, RetrainOutcome};
use crate::lifecycle::{Gates, Registry};
use crate::partners::{self, PartnerError};
use crate::pii::{PiiKey, SubjectRef};
use crate::rate_limit::RateLimiter;
use crate::scoring::read_model::ReadModel;
use crate::scoring::{Champions, Scorer};
use crate::settings::Settings;
use crate::storage::consents::Consent;
use crate::storage::partners::{IssuedKey, NewPartner, Partner, PartnerKey};
use crate::storage::revisions::Revised;
use crate::storage::{Db, StoreError};

pub mod jobs;
pub mod retrain_runs;

/// What every handler and job can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub pii: PiiKey,
    pub settings: Arc<Settings>,
    pub audit: AuditWriter,
    /// The audit log's signing key (only the sequencer signs; everyone else needs its public
    /// half). `None` where no key is configured: such a process records entries but does not
    /// sequence them.
    pub signer: Option<Arc<ledger::LogSigner>>,
    /// The running sequencer of this process, if it is one (`serve`).
    pub sequencer: SequencerHandle,
    pub champions: Arc<Champions>,
    pub limiter: Arc<RateLimiter>,
    pub gates: Arc<Gates>,
    /// Partners, consents and facts in memory for scoring.
    pub read_model: Arc<ReadModel>,
    /// "Now" for every request and job: the system clock in service, a pinned one in tests.
    pub clock: SharedClock,
}

impl AppState {
    /// Scoring over this service's database, caches, champions and audit trail.
    pub fn scorer(&self) -> Scorer<'_> {
        Scorer {
            db: &self.db,
            pii: &self.pii,
            audit: &self.audit,
            champions: &self.champions,
            read_model: &self.read_model,
            clock: &*self.clock,
        }
    }

    /// The registry operations over this service's database, audit trail and champions.
    pub fn registry(&self) -> Registry<'_> {
        Registry {
            db: &self.db,
            audit: &self.audit,
            champions: &self.champions,
            gates: &self.gates,
            clock: &*self.clock,
        }
    }

    /// Validates and stores one feed file (`feeds::import`); a new batch drops this process's
    /// cached facts so it scores with them at once (other replicas follow within the refresh
    /// interval). The one entry point for the API, the CLI and the demo.
    pub async fn import_feed(
        &self,
        req: FeedRequest,
        progress: Option<Progress>,
    ) -> Result<Accepted, FeedError> {
        let hooks = feeds::Hooks {
            progress,
            between_transactions: None,
        };
        self.import_feed_with(req, hooks).await
    }

    /// [`AppState::import_feed`] with every hook of the pipeline (a test holds an import between
    /// two of its transactions through `between_transactions`).
    pub async fn import_feed_with(
        &self,
        req: FeedRequest,
        hooks: feeds::Hooks,
    ) -> Result<Accepted, FeedError> {
        // The pipeline's own first look gives the file's digest for the ledger entry, whatever
        // the outcome (one read of the file, not two).
        let facts = feeds::inspect(&req.path).await?;
        let file_sha256 = facts.sha256.clone();
        let (kind, source) = (req.kind, req.source.clone());
        let (path, format, received_at) = (req.path.clone(), req.format, req.received_at);
        let result = feeds::import_with(&self.db, &self.pii, req, facts.clone(), hooks).await;
        // A refused file is kept for the console as its errors and its masked refused lines
        // (never the file); failing to keep it does not change the sender's answer.
        if let Some(summary) = result.as_ref().err().and_then(feeds::refusals::summarise) {
            let refused = feeds::refusals::Refused {
                kind,
                source: source.clone(),
                received_at,
                path,
                format,
                facts,
            };
            let record =
                tokio::task::spawn_blocking(move || feeds::refusals::record(&refused, summary))
                    .await;
            match record {
                Ok(record) => {
                    if let Err(err) = self.db.add_feed_refusal(&record).await {
                        tracing::error!(error = %err, "keeping a feed refusal");
                    }
                }
                Err(err) => tracing::error!(error = %err, "reading a refused feed back"),
            }
        }
        let actor = if source == "cli" {
            audit::Actor::operator()
        } else if let Some(user) = source.strip_prefix("console:") {
            audit::Actor::Named {
                name: format!("console:{user}"),
            }
        } else {
            audit::Actor::Partner {
                partner_id: source.clone(),
            }
        };
        let event = match &result {
            Ok(accepted) => AuditEvent::new(EventKind::FeedAccepted, actor, self.clock.now())
                .outcome(Outcome::Done)
                .with("batch_id", &accepted.result.batch_id)
                .with("rows", accepted.result.rows)
                .with("replayed", accepted.replayed),
            // The refusal's text may quote the file's rows: only its digest goes in.
            Err(e) => {
                metrics::counter!("creditbridge_feed_rejections_total", "kind" => kind.as_str(), "reason" => e.reason())
                    .increment(1);
                let mut event = AuditEvent::new(EventKind::FeedRefused, actor, self.clock.now())
                    .outcome(Outcome::Refused)
                    .with("reason", digest_of(&e.to_string()));
                // A bank's rows for subjects it holds no consent for: how many, and digests of
                // their keys and of the file, never the keys.
                if let FeedError::Invalid {
                    not_eligible: Some(refused),
                    ..
                } = e
                {
                    event.set("not_eligible", refused);
                }
                event
            }
        }
        .with("feed_kind", kind.as_str())
        .with("file_sha256", &file_sha256)
        .with("source_partner", &source);
        self.audit
            .record(event)
            .await
            .map_err(|e| FeedError::Audit(e.to_string()))?;
        let accepted = result?;
        if !accepted.replayed {
            self.read_model.invalidate(Revised::Facts);
        }
        Ok(accepted)
    }

    /// Registers a consent for `partner` (`consent::register`), effective for scoring on this
    /// replica at once; recorded in the audit ledger.
    pub async fn register_consent(
        &self,
        partner: &Partner,
        registration: &Registration,
    ) -> Result<Registered, ConsentError> {
        let registered = consent::register(
            &self.db,
            &self.pii,
            &self.audit,
            partner,
            registration,
            &self.settings.consent,
            self.clock.now(),
        )
        .await?;
        self.read_model.invalidate(Revised::Consents);
        Ok(registered)
    }

    /// Revokes consent `id` of `partner` now, effective for scoring on this replica at once
    /// (others as soon as the database's notification reaches them; see `read_model`).
    pub async fn revoke_consent(
        &self,
        actor: Actor<'_>,
        id: &str,
    ) -> Result<Consent, ConsentError> {
        let revoked = consent::revoke(
            &self.db,
            &self.pii,
            &self.audit,
            actor,
            id,
            self.clock.now(),
        )
        .await;
        // Dropped even on an audit failure: the revocation itself is stored.
        self.read_model.invalidate(Revised::Consents);
        revoked
    }

    /// Records now, by `actor`, the subject's withdrawal of consent `id` (`consent::withdraw`),
    /// effective like a revocation.
    pub async fn withdraw_consent(
        &self,
        actor: Actor<'_>,
        id: &str,
        evidence_sha256: &str,
    ) -> Result<Consent, ConsentError> {
        let withdrawn = consent::withdraw(
            &self.db,
            &self.pii,
            &self.audit,
            actor,
            id,
            evidence_sha256,
            self.clock.now(),
        )
        .await;
        self.read_model.invalidate(Revised::Consents);
        withdrawn
    }

    /// Every consent held for `subject`, each with where it stands now.
    pub async fn subject_consents(
        &self,
        subject: &SubjectId,
    ) -> Result<(SubjectRef, Vec<(Consent, &'static str)>), ConsentError> {
        let now = self.clock.now();
        let (subject, consents) = consent::of_subject(&self.db, &self.pii, subject).await?;
        let with_status = consents
            .into_iter()
            .map(|c| {
                let status = consent::status(&c, now);
                (c, status)
            })
            .collect();
        Ok((subject, with_status))
    }

    /// Creates a partner with its first key (`partners::add`).
    pub async fn add_partner(
        &self,
        name: &str,
        role: Role,
        actor: audit::Actor,
    ) -> Result<NewPartner, PartnerError> {
        partners::add(&self.db, &self.audit, name, role, actor, self.clock.now()).await
    }

    /// Issues a new key to a partner; its other keys stop after `overlap`
    /// (`partners::rotate_key`).
    pub async fn rotate_partner_key(
        &self,
        partner_id: &str,
        overlap: chrono::Duration,
        actor: audit::Actor,
    ) -> Result<IssuedKey, PartnerError> {
        let now = self.clock.now();
        let issued =
            partners::rotate_key(&self.db, &self.audit, partner_id, overlap, actor, now).await;
        self.read_model.invalidate(Revised::Partners);
        issued
    }

    /// Revokes one key now, effective on this replica at once.
    pub async fn revoke_partner_key(
        &self,
        key_id: &str,
        actor: audit::Actor,
    ) -> Result<PartnerKey, PartnerError> {
        let now = self.clock.now();
        let revoked = partners::revoke_key(&self.db, &self.audit, key_id, actor, now).await;
        self.read_model.invalidate(Revised::Partners);
        revoked
    }

    /// Revokes a partner and all its keys now, effective on this replica at once.
    pub async fn revoke_partner(
        &self,
        partner_id: &str,
        actor: audit::Actor,
    ) -> Result<Partner, PartnerError> {
        let now = self.clock.now();
        let revoked = partners::revoke(&self.db, &self.audit, partner_id, actor, now).await;
        self.read_model.invalidate(Revised::Partners);
        revoked
    }

    /// Drift of `product`'s champion over the last `days` days, with this service's monitoring
    /// thresholds (the one entry point for the API and the CLI).
    pub async fn monitoring_report(
        &self,
        product: Product,
        days: i64,
    ) -> Result<MonitoringReport, StoreError> {
        monitoring::report(
            &self.db,
            &self.champions,
            &self.settings.monitoring,
            product,
            self.clock.now(),
            days,
        )
        .await
    }

    /// The champion's monitoring month by month over the `months` calendar months up to now
    /// (the console's charts), with this service's monitoring thresholds.
    pub async fn monitoring_history(
        &self,
        product: Product,
        months: u32,
    ) -> Result<monitoring::MonitoringHistory, StoreError> {
        let now = self.clock.now();
        let mut h = monitoring::history(
            &self.db,
            &self.champions,
            &self.settings.monitoring,
            product,
            now,
            months,
        )
        .await?;
        if h.model_id.is_some() {
            h.live = monitoring::live_outcomes(
                &self.db,
                &self.pii,
                &h.grades,
                product,
                now,
                months,
                self.settings.monitoring.approval_window_days,
            )
            .await?;
        }
        Ok(h)
    }

    /// Retrains `product` as of `as_of` with the default modelling settings and registers a
    /// candidate (the one entry point for the CLI, the API, the schedule and the demo).
    pub async fn retrain(
        &self,
        product: Product,
        as_of: NaiveDate,
    ) -> Result<RetrainOutcome, RetrainError> {
        self.retrain_as(product, as_of, audit::Actor::System).await
    }

    /// As `retrain`, with the ledger's entry naming who asked (a console user).
    pub async fn retrain_as(
        &self,
        product: Product,
        as_of: NaiveDate,
        by: audit::Actor,
    ) -> Result<RetrainOutcome, RetrainError> {
        let settings = training::Settings::default();
        let trained = retrain::retrain(&self.retraining(&settings), product, as_of).await;
        let label = if trained.is_ok() { "trained" } else { "failed" };
        metrics::counter!("creditbridge_retrains_total", "product" => product.as_str(), "outcome" => label)
            .increment(1);
        let outcome = trained?;
        // The new candidate scores in the shadows on this replica at once (others at their
        // next reload).
        if let Err(e) = self.champions.refresh(&self.db).await {
            tracing::warn!(error = %e, "reloading models after a retraining");
        }
        let event = AuditEvent::new(EventKind::ModelTrained, by, self.clock.now())
            .outcome(Outcome::Done)
            .with("product", product.as_str())
            .with("model_id", &outcome.id)
            .with("as_of", as_of)
            .with("rows_train", outcome.rows_train)
            .with("rows_oot", outcome.rows_oot)
            .with("oot_auc", outcome.oot_auc);
        self.audit
            .record(event)
            .await
            .map_err(RetrainError::Audit)?;
        Ok(outcome)
    }

    /// What a retraining over this service's data, store, champions and gates reads.
    pub fn retraining<'a>(&'a self, settings: &'a training::Settings) -> retrain::Retraining<'a> {
        retrain::Retraining {
            db: &self.db,
            store: self.champions.store(),
            champions: &self.champions,
            settings,
            gates: &self.gates,
            clock: &*self.clock,
        }
    }

    /// Records the start of a process: its version, a digest of its settings (secrets are never
    /// serialised) and the PII key's fingerprint.
    pub async fn record_start(&self, actor: audit::Actor) -> Result<(), audit::AuditError> {
        let settings = serde_json::to_string(&*self.settings).unwrap_or_default();
        let event = AuditEvent::new(EventKind::ProcessStarted, actor, self.clock.now())
            .outcome(Outcome::Done)
            .with("version", env!("CARGO_PKG_VERSION"))
            .with("settings_sha256", digest_of(&settings)["sha256"].clone())
            .with("pii_key_fingerprint", self.pii.fingerprint());
        self.audit.record(event).await.map(|_| ())
    }

    /// Verifies the audit ledger (`audit::verify`) and records the run (who, when, the result),
    /// so the console can say when the trail was last verified and whether it held. The one
    /// entry point for the console, the API and the CLI. A run that could not be recorded is
    /// still answered (and the failure logged): the verification itself stands.
    pub async fn verify_ledger(
        &self,
        verifier: &ledger::LogVerifier,
        kept: &[String],
        by: &audit::Actor,
    ) -> Result<audit::verify::Verification, StoreError> {
        let v = audit::verify(&self.db, verifier, kept).await?;
        let record = crate::storage::verifications::VerificationRecord {
            id: ulid::Ulid::new().to_string(),
            verified_at: self.clock.now(),
            verified_by: by.text(),
            ok: v.ok,
            rows_checked: v.verified as i64,
            checkpoint_size: v.checkpoint_size.map(|n| n as i64),
            problem: v.problem.as_ref().map(|p| match p.leaf_index {
                Some(i) => format!("leaf {i}: {}", p.reason),
                None => p.reason.clone(),
            }),
        };
        if let Err(e) = self.db.add_verification(&record).await {
            tracing::error!(error = %e, "recording a ledger verification");
        }
        Ok(v)
    }
}
