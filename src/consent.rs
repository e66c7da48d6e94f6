//! Consent: a subject's recorded authorization for one partner and one purpose, without which no
//! score is given (domain.md). Every rule about it lives here — which purposes a role may ask
//! for, what a registration must satisfy, what a consent must cover when a score is asked — so
//! the API, the scorer and any other caller apply the same ones.

use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{
    Actor as AuditActor, AuditError, AuditEvent, AuditSubject, AuditWriter, ConsentRef, EventKind,
    Outcome,
};
use crate::domain::{Purpose, Role, SubjectId};
use crate::pii::{PiiKey, SubjectRef};
use crate::settings::ConsentBounds;
use crate::storage::consents::{Consent, NewConsent};
use crate::storage::partners::Partner;
use crate::storage::{Db, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// A field of the registration is not valid (`field` names it).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The caller may not do this (purpose for its role, someone else's consent), or the consent
    /// does not cover the score asked for; `code` is the API's.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The step was stored but its audit record could not be committed.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl ConsentError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ConsentError::Invalid {
            field,
            message: message.into(),
        }
    }

    fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ConsentError::Forbidden {
            code,
            message: message.into(),
        }
    }
}

/// Who takes a step of a consent's life: a partner through the API, or the operator at the
/// service's own command line (who holds the database anyway).
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    Partner(&'a Partner),
    Operator,
    /// A person signed in to the console (by name), acting for the credit centre like the
    /// operator; the console checks their role before.
    Console(&'a str),
}

impl Actor<'_> {
    /// Who acted, as the audit ledger records it.
    fn audit_actor(self) -> AuditActor {
        match self {
            Actor::Partner(p) => AuditActor::Partner {
                partner_id: p.id.clone(),
            },
            Actor::Operator => AuditActor::operator(),
            Actor::Console(name) => AuditActor::Named {
                name: format!("console:{name}"),
            },
        }
    }
}

/// A registration parsed into domain types (from the API's `ConsentRequest`); the rules that
/// involve the caller or the date are checked by [`register`].
#[derive(Clone, Debug)]
pub struct Registration {
    pub subject: SubjectId,
    pub purpose: Purpose,
    pub valid_until: NaiveDate,
    pub evidence_sha256: String,
    pub signed_at: DateTime<Utc>,
}

/// What a registration stored: the new consent's id and how its subject is shown.
#[derive(Debug)]
pub struct Registered {
    pub consent_id: String,
    pub subject: SubjectRef,
}

/// Banks ask for loan applications and post-loan reviews, insurers for underwriting
/// (`Role::allowed_purposes`); checked at registration and again at every score.
pub fn purpose_allowed(role: Role, purpose: Purpose) -> Result<(), ConsentError> {
    if role.allowed_purposes().contains(&purpose) {
        return Ok(());
    }
    Err(ConsentError::forbidden(
        "purpose_not_allowed",
        format!(
            "a {} may not ask for purpose {}",
            role.as_str(),
            purpose.as_str()
        ),
    ))
}

/// The checks a registration must pass before it is stored, each naming its field (and, for the
/// configured bounds, the setting).
pub fn check_registration(
    reg: &Registration,
    role: Role,
    bounds: &ConsentBounds,
    now: DateTime<Utc>,
) -> Result<(), ConsentError> {
    purpose_allowed(role, reg.purpose)?;
    check_digest("evidence_sha256", &reg.evidence_sha256)?;
    // A few minutes' grace for the partner's clock.
    if reg.signed_at > now + chrono::Duration::minutes(5) {
        return Err(ConsentError::invalid("signed_at", "is in the future"));
    }
    let signed_on = reg.signed_at.date_naive();
    if signed_on < bounds.earliest_signed_at {
        return Err(ConsentError::invalid(
            "signed_at",
            format!(
                "is before {} (consent.earliest_signed_at)",
                bounds.earliest_signed_at
            ),
        ));
    }
    if reg.valid_until < now.date_naive() {
        return Err(ConsentError::invalid("valid_until", "is in the past"));
    }
    if reg.valid_until < signed_on {
        return Err(ConsentError::invalid("valid_until", "is before signed_at"));
    }
    // Measured from the day of signing, so a letter "valid for one year" from its date fits.
    // Past the end of chrono's calendar there is no latest day, so nothing is beyond it.
    let latest = signed_on.checked_add_days(chrono::Days::new(bounds.max_term_days.into()));
    if let Some(latest) = latest.filter(|latest| reg.valid_until > *latest) {
        return Err(ConsentError::invalid(
            "valid_until",
            format!(
                "is more than {} days after signed_at (consent.max_term_days); the latest is {latest}",
                bounds.max_term_days
            ),
        ));
    }
    Ok(())
}

/// A SHA-256 digest of a document, as hex.
fn check_digest(field: &'static str, digest: &str) -> Result<(), ConsentError> {
    if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(());
    }
    Err(ConsentError::invalid(
        field,
        "must be 64 hexadecimal characters",
    ))
}

/// Checks and stores `reg` for `partner`; the subject is stored as its keyed hash and mask only.
pub async fn register(
    db: &Db,
    pii: &PiiKey,
    audit: &AuditWriter,
    partner: &Partner,
    reg: &Registration,
    bounds: &ConsentBounds,
    now: DateTime<Utc>,
) -> Result<Registered, ConsentError> {
    check_registration(reg, partner.role, bounds, now)?;
    let subject = pii.subject_ref(&reg.subject);
    let evidence = reg.evidence_sha256.to_ascii_lowercase();
    let consent_id = db
        .add_consent(&NewConsent {
            partner_id: &partner.id,
            subject_type: subject.subject_type,
            subject_key: &subject.key,
            subject_masked: &subject.masked,
            purpose: reg.purpose,
            valid_until: reg.valid_until,
            evidence_sha256: &evidence,
            signed_at: reg.signed_at,
            created_at: now,
        })
        .await?;
    let stored = db.consent(&consent_id).await?;
    audit
        .record(audit_event(
            EventKind::ConsentRegistered,
            pii,
            &stored,
            Actor::Partner(partner),
            now,
        ))
        .await?;
    Ok(Registered {
        consent_id,
        subject,
    })
}

/// Revokes consent `id` as of `now`; of the partners only the one that registered it may (the
/// operator may for it). Returns the consent as it now stands.
pub async fn revoke(
    db: &Db,
    pii: &PiiKey,
    audit: &AuditWriter,
    actor: Actor<'_>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Consent, ConsentError> {
    let consent = db.consent(id).await?;
    if matches!(actor, Actor::Partner(p) if p.id != consent.partner_id) {
        return Err(ConsentError::forbidden(
            "not_your_consent",
            "only the partner that registered a consent may revoke it",
        ));
    }
    db.revoke_consent(id, now).await?;
    let revoked = db.consent(id).await?;
    audit
        .record(audit_event(
            EventKind::ConsentRevoked,
            pii,
            &revoked,
            actor,
            now,
        ))
        .await?;
    Ok(revoked)
}

/// Records, as of `now`, that the subject withdrew consent `id` (an administrator's or the
/// operator's act, on the subject's written withdrawal, whose SHA-256 is `evidence_sha256`). Effective at once: the
/// next score under it is refused as `consent_withdrawn`. Returns the consent as it now stands.
pub async fn withdraw(
    db: &Db,
    pii: &PiiKey,
    audit: &AuditWriter,
    actor: Actor<'_>,
    id: &str,
    evidence_sha256: &str,
    now: DateTime<Utc>,
) -> Result<Consent, ConsentError> {
    if matches!(actor, Actor::Partner(p) if p.role != Role::Admin) {
        return Err(ConsentError::forbidden(
            "role_not_allowed",
            "only an administrator records a subject's withdrawal",
        ));
    }
    check_digest("evidence_sha256", evidence_sha256)?;
    db.withdraw_consent(id, &evidence_sha256.to_ascii_lowercase(), now)
        .await?;
    let withdrawn = db.consent(id).await?;
    audit
        .record(audit_event(
            EventKind::ConsentWithdrawn,
            pii,
            &withdrawn,
            actor,
            now,
        ))
        .await?;
    Ok(withdrawn)
}

/// Every consent held for `subject`, newest first (for administrators: the subject's own
/// request to see them, or a withdrawal to record).
pub async fn of_subject(
    db: &Db,
    pii: &PiiKey,
    subject: &SubjectId,
) -> Result<(SubjectRef, Vec<Consent>), ConsentError> {
    let subject = pii.subject_ref(subject);
    let consents = db.consents_of_subject(&subject.key).await?;
    Ok((subject, consents))
}

/// Where a consent stands at `now`: `withdrawn`, `revoked`, `expired` or `active` (the first
/// that applies, in that order, as the score-time check refuses).
pub fn status(consent: &Consent, now: DateTime<Utc>) -> &'static str {
    if consent.withdrawn_at.is_some_and(|w| w <= now) {
        "withdrawn"
    } else if consent.revoked_at.is_some_and(|r| r <= now) {
        "revoked"
    } else if consent.valid_until < now.date_naive() {
        "expired"
    } else {
        "active"
    }
}

/// A step of a consent's life as the audit ledger records it (`consent.registered`, `.revoked`,
/// `.withdrawn`): who acted, the subject as its keyed hash and last 4 (an enterprise's public
/// credit code is keyed too: the ledger is never purged), the consent's terms. The one place
/// these entries are built.
pub fn audit_event(
    kind: EventKind,
    pii: &PiiKey,
    consent: &Consent,
    actor: Actor<'_>,
    at: DateTime<Utc>,
) -> AuditEvent {
    let subject = AuditSubject::of(
        pii,
        &consent.subject_type,
        &consent.subject_key,
        &consent.subject_masked,
    );
    AuditEvent::new(kind, actor.audit_actor(), at)
        .subject(subject)
        .outcome(Outcome::Done)
        // The consent's owner (the actor may be an administrator recording a withdrawal).
        .with("consent_partner_id", &consent.partner_id)
        .with(
            "consent",
            ConsentRef {
                id: consent.id.clone(),
                purpose: consent.purpose.clone(),
                valid_until: consent.valid_until,
                evidence_sha256: consent.evidence_sha256.clone(),
            },
        )
        .with(
            "withdrawal_evidence_sha256",
            &consent.withdrawal_evidence_sha256,
        )
}

/// At score time: the consent must be the asking partner's. (Checked before anything about it is
/// recorded with the score, so another partner's consent is never described in its record.)
pub fn given_to(consent: &Consent, partner: &Partner) -> Result<(), ConsentError> {
    if consent.partner_id != partner.id {
        return Err(ConsentError::forbidden(
            "no_consent",
            "the consent was given to another partner",
        ));
    }
    Ok(())
}

/// At score time: the consent must cover this subject and purpose, and be in force at `now`.
pub fn covers(
    consent: &Consent,
    subject_key: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), ConsentError> {
    let refuse = |code, message: &str| Err(ConsentError::forbidden(code, message));
    if consent.subject_key != subject_key {
        return refuse(
            "consent_subject_mismatch",
            "the consent is for another subject",
        );
    }
    if consent.purpose != purpose.as_str() {
        return refuse(
            "consent_purpose_mismatch",
            "the consent does not cover this purpose",
        );
    }
    if consent.withdrawn_at.is_some_and(|w| w <= now) {
        return refuse(
            "consent_withdrawn",
            "the subject has withdrawn this consent",
        );
    }
    if consent.revoked_at.is_some_and(|r| r <= now) {
        return refuse("consent_revoked", "the consent has been revoked");
    }
    if consent.valid_until < now.date_naive() {
        return refuse("consent_expired", "the consent has expired");
    }
    Ok(())
}
