//! Scoring one subject for a partner: check the request against the subject's consent, build the
//! subject's characteristics as of now with `features`, score them with the product's champion,
//! and record the outcome — delivered or refused — in the audit trail before answering.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{
    digest_of, Actor, AuditError, AuditEvent, AuditSubject, AuditWriter, ConsentRef, CorrelationId,
    EventKind, Outcome, Refusal,
};
use crate::clock::Clock;
use crate::consent::{self, ConsentError};
use crate::domain::{Product, Purpose, SubjectId};
use crate::features::{self, FeatureVector};
use crate::pii::{PiiKey, SubjectRef};
use crate::storage::audit::Observation;
use crate::storage::partners::Partner;
use crate::storage::{Db, StoreError};
use read_model::ReadModel;

pub mod champions;
pub mod read_model;

pub use champions::{Champion, Champions};

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    /// `sme` or `farmer`.
    pub product: String,
    /// Unified social credit code (sme) or the household head's resident id (farmer).
    pub subject: String,
    /// `loan_application`, `post_loan` (banks) or `underwriting` (insurers).
    pub purpose: String,
    /// The consent registered for this partner, subject and purpose.
    pub consent_id: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ScoreResponse {
    pub request_id: String,
    pub product: String,
    /// The subject, masked.
    pub subject: String,
    pub score: i32,
    pub grade: String,
    pub pd: f64,
    pub reasons: Vec<ReasonOut>,
    /// Knock-out policy facts a bank must see whatever the score says.
    pub flags: Vec<String>,
    /// About the subject's identifier, not its credit: `pilot_credit_code` for a credit code
    /// accepted although it fails its check character.
    pub warnings: Vec<String>,
    pub model: ModelRef,
    #[schema(value_type = Object)]
    pub data_as_of: serde_json::Value,
    pub scored_at: DateTime<Utc>,
    /// The audit entry of this answer: keep it to ask for its inclusion proof later.
    pub receipt: ReceiptOut,
}

/// An audit entry's receipt: its server-assigned event id and its leaf hash (base64 of
/// SHA-256(0x00 || leaf bytes)), what `GET /v1/audit/proofs/inclusion/{event_id}` proves.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ReceiptOut {
    pub event_id: String,
    pub leaf_hash: String,
}

impl From<crate::audit::Receipt> for ReceiptOut {
    fn from(r: crate::audit::Receipt) -> Self {
        ReceiptOut {
            event_id: r.event_id,
            leaf_hash: r.leaf_hash,
        }
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReasonOut {
    pub code: String,
    pub characteristic: String,
    pub points_lost: i32,
    pub text_en: String,
    pub text_zh: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ModelRef {
    pub id: String,
    pub trained_at: DateTime<Utc>,
}

/// What scoring reads and writes: `AppState::scorer` lends it.
pub struct Scorer<'a> {
    pub db: &'a Db,
    pub pii: &'a PiiKey,
    pub audit: &'a AuditWriter,
    pub champions: &'a Champions,
    pub read_model: &'a ReadModel,
    pub clock: &'a dyn Clock,
}

/// Why a score was not delivered. The first four are answers to the caller (and go into the
/// refusal's record with their code); the rest are this service's failures.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// A field of the request is not valid (`field` names it).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The caller may not have this score (role, consent).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Nothing is held about the subject for the product.
    #[error("no {} data held for this subject", .0.as_str())]
    NoData(Product),
    #[error("no champion model for {} yet", .0.as_str())]
    NoChampion(Product),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("model {model} could not score: {message}")]
    Model { model: String, message: String },
    /// The score's record could not be committed, so no answer may leave.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// The consent rules' refusals are the score's.
impl From<ConsentError> for ScoreError {
    fn from(err: ConsentError) -> Self {
        match err {
            ConsentError::Invalid { field, message } => ScoreError::Invalid { field, message },
            ConsentError::Forbidden { code, message } => ScoreError::Forbidden { code, message },
            ConsentError::Store(e) => ScoreError::Store(e),
            ConsentError::Audit(e) => ScoreError::Audit(e),
        }
    }
}

impl ScoreError {
    /// The stable machine-readable code the API answers with and the audit record keeps.
    pub fn code(&self) -> &'static str {
        match self {
            ScoreError::Invalid { .. } => "invalid_content",
            ScoreError::Forbidden { code, .. } => code,
            ScoreError::NoData(_) => "not_found",
            ScoreError::NoChampion(_) => "unavailable",
            ScoreError::Store(StoreError::NotFound) => "not_found",
            ScoreError::Store(StoreError::Conflict(_)) => "conflict",
            ScoreError::Store(_) | ScoreError::Model { .. } | ScoreError::Audit(_) => "internal",
        }
    }

    /// The text a refusal's record keeps: what the caller is told, and for this service's own
    /// failures the failure itself (the caller gets an opaque 500).
    fn record_text(&self) -> String {
        match self {
            ScoreError::Store(StoreError::Conflict(m)) => m.clone(),
            other => other.to_string(),
        }
    }
}

/// What was established before a score could be refused or delivered, for the audit record.
#[derive(Default)]
struct Context {
    subject: Option<SubjectRef>,
    audit_subject: Option<AuditSubject>,
    product: Option<Product>,
    purpose: Option<Purpose>,
    consent: Option<ConsentRef>,
}

/// Scores `req` for `partner`; every outcome is audited before it is returned. `correlation` is
/// the client's request id: kept as a plain, non-unique field of the entry.
pub async fn score(
    state: &Scorer<'_>,
    partner: &Partner,
    req: &ScoreRequest,
    request_id: &str,
    correlation: Option<CorrelationId>,
) -> Result<ScoreResponse, ScoreError> {
    let mut ctx = Context::default();
    let (mut outcome, observation) = match decide(state, partner, req, request_id, &mut ctx).await {
        Ok((response, observation)) => (Ok(response), Some(observation)),
        Err(e) => (Err(e), None),
    };
    let kind = match &outcome {
        Ok(_) => EventKind::ScoreDelivered,
        Err(_) => EventKind::ScoreRefused,
    };
    let mut event = score_event(kind, partner, correlation, state.clock.now());
    if let Some(subject) = ctx.audit_subject.take() {
        event = event.subject(subject);
    }
    if let Some(s) = &ctx.subject {
        event.set("subject_masked", &s.masked);
        event.set("subject_type", s.subject_type);
    }
    if let Some(p) = ctx.product {
        event.set("product", p.as_str());
    }
    if let Some(p) = ctx.purpose {
        event.set("purpose", p.as_str());
    }
    if let Some(c) = &ctx.consent {
        event.set("consent", c);
    }
    match &outcome {
        Ok(r) => {
            event.set("outcome", Outcome::Delivered);
            event.set("data_as_of", &r.data_as_of);
            event.set("model_id", &r.model.id);
            event.set("score", r.score);
            event.set("grade", &r.grade);
            event.set("pd", r.pd);
            event.set(
                "reasons",
                r.reasons
                    .iter()
                    .map(|x| x.code.as_str())
                    .collect::<Vec<_>>(),
            );
            event.set("flags", &r.flags);
        }
        Err(e) => {
            if let ScoreError::Invalid { field, .. } = e {
                event.set("field", field);
            }
            refuse(&mut event, e.code(), &e.record_text());
        }
    }
    let receipt = commit(state, event, observation).await?;
    if let Ok(r) = &mut outcome {
        r.receipt = receipt.into();
        metrics::counter!("creditbridge_scores_total", "product" => r.product.clone(), "grade" => r.grade.clone())
            .increment(1);
    }
    outcome
}

/// Audits a scoring request refused before it could be read as one — a caller without a lender
/// role, a body that is not a valid request, a batch too large or empty — under the refusal's
/// code (its text only as a digest: it may quote the body). Should the record fail, so does
/// the request (500), as for every other score.
pub async fn refuse_unread(
    state: &Scorer<'_>,
    partner: &Partner,
    correlation: Option<CorrelationId>,
    refusal: Refusal,
) -> Result<(), ScoreError> {
    let mut event = score_event(
        EventKind::ScoreRefused,
        partner,
        correlation,
        state.clock.now(),
    );
    refuse(&mut event, &refusal.code, &refusal.message);
    commit(state, event, None).await.map(|_| ())
}

/// A score request's record, with what is known before anything is checked: who asked.
fn score_event(
    kind: EventKind,
    partner: &Partner,
    correlation: Option<CorrelationId>,
    at: DateTime<Utc>,
) -> AuditEvent {
    AuditEvent::new(
        kind,
        Actor::Partner {
            partner_id: partner.id.clone(),
        },
        at,
    )
    .correlation(correlation)
}

/// Marks `event` refused with `code`; the message only as a digest and length, since it may
/// quote what the caller sent (an identity number in the wrong field).
fn refuse(event: &mut AuditEvent, code: &str, message: &str) {
    event.set("outcome", Outcome::Refused);
    event.set(
        "refusal",
        serde_json::json!({ "code": code, "message": digest_of(message) }),
    );
}

/// Commits a score request's record. No answer leaves without its record: if the record cannot
/// be committed, the request fails (500) whatever its outcome.
async fn commit(
    state: &Scorer<'_>,
    event: AuditEvent,
    observation: Option<Observation>,
) -> Result<crate::audit::Receipt, ScoreError> {
    Ok(state.audit.record_with(event, observation).await?)
}

/// The score itself, stage by stage: the request parsed, the caller's right to it (role and
/// consent), the subject's characteristics, the champion's answer.
async fn decide(
    state: &Scorer<'_>,
    partner: &Partner,
    req: &ScoreRequest,
    request_id: &str,
    ctx: &mut Context,
) -> Result<(ScoreResponse, Observation), ScoreError> {
    let (product, purpose, subject) = parse_request(state.pii, state.clock.today(), req, ctx)?;
    consent::purpose_allowed(partner.role, purpose)?;
    let now = state.clock.now();
    check_consent(state, partner, &subject, purpose, &req.consent_id, now, ctx).await?;
    let champion = state
        .champions
        .get(product)
        .ok_or(ScoreError::NoChampion(product))?;
    let features = characteristics(state, product, &subject.key, now.date_naive()).await?;
    if features.flags.iter().any(|f| f.unknown_subject()) {
        return Err(ScoreError::NoData(product));
    }
    let shadow = state.champions.shadow(product);
    build_response(
        &champion,
        shadow.as_deref(),
        product,
        &subject,
        &features,
        request_id,
        now,
    )
}

/// The request's product, purpose and subject as domain types (each kept in `ctx` for the
/// record as soon as it is known), the subject of the kind the product scores; a resident id
/// born after `today` (the clock's day) is refused.
fn parse_request(
    pii: &PiiKey,
    today: chrono::NaiveDate,
    req: &ScoreRequest,
    ctx: &mut Context,
) -> Result<(Product, Purpose, SubjectRef), ScoreError> {
    let invalid = |field: &'static str, message: String| ScoreError::Invalid { field, message };
    let product: Product = req
        .product
        .parse()
        .map_err(|e| invalid("product", format!("{e}")))?;
    ctx.product = Some(product);
    let purpose: Purpose = req
        .purpose
        .parse()
        .map_err(|e| invalid("purpose", format!("{e}")))?;
    ctx.purpose = Some(purpose);
    let subject =
        SubjectId::parse(&req.subject, today).map_err(|e| invalid("subject", format!("{e}")))?;
    let subject_ref = pii.subject_ref(&subject);
    ctx.audit_subject = Some(AuditSubject::of(
        pii,
        subject_ref.subject_type,
        &subject_ref.key,
        &subject_ref.masked,
    ));
    ctx.subject = Some(subject_ref.clone());
    match (product, &subject) {
        (Product::Sme, SubjectId::Enterprise(_)) | (Product::Farmer, SubjectId::Person(_)) => {
            Ok((product, purpose, subject_ref))
        }
        _ => Err(invalid(
            "subject",
            format!(
                "product {} needs {}",
                product.as_str(),
                match product {
                    Product::Sme => "a unified social credit code",
                    Product::Farmer => "the household head's resident id",
                }
            ),
        )),
    }
}

/// The subject's characteristics today, from the read model's facts.
async fn characteristics(
    state: &Scorer<'_>,
    product: Product,
    subject_key: &str,
    today: NaiveDate,
) -> Result<FeatureVector, ScoreError> {
    Ok(match product {
        Product::Sme => features::sme::characteristics(
            &*state
                .read_model
                .sme_facts(state.db, subject_key, today)
                .await?,
            today,
        ),
        Product::Farmer => features::farmer::characteristics(
            &*state.read_model.farmer_facts(state.db, subject_key).await?,
            today,
        ),
    })
}

async fn check_consent(
    state: &Scorer<'_>,
    partner: &Partner,
    subject: &SubjectRef,
    purpose: Purpose,
    consent_id: &str,
    now: DateTime<Utc>,
    ctx: &mut Context,
) -> Result<(), ScoreError> {
    let consent = match state.read_model.consent(state.db, consent_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => {
            return Err(ScoreError::Forbidden {
                code: "no_consent",
                message: "no consent with this id".into(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    consent::given_to(&consent, partner)?;
    ctx.consent = Some(ConsentRef {
        id: consent.id.clone(),
        purpose: consent.purpose.clone(),
        valid_until: consent.valid_until,
        evidence_sha256: consent.evidence_sha256.clone(),
    });
    consent::covers(&consent, &subject.key, purpose, now)?;
    Ok(())
}

fn build_response(
    champion: &Arc<Champion>,
    shadow: Option<&Champion>,
    product: Product,
    subject: &SubjectRef,
    features: &FeatureVector,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<(ScoreResponse, Observation), ScoreError> {
    let lookup = |name: &str| features.get(name).or(Some(training::Value::Missing));
    let bins = champion
        .model
        .locate(&lookup)
        .map_err(|e| ScoreError::Model {
            model: champion.id.clone(),
            message: e.to_string(),
        })?;
    let out = champion.model.outcome(&bins);
    // The newest candidate scores the same subject in the shadows; its score is never delivered.
    let shadow_score =
        shadow.and_then(|s| s.model.score(&lookup).ok().map(|o| (s.id.clone(), o.score)));
    let observation = Observation {
        product: product.as_str().to_owned(),
        model_id: champion.id.clone(),
        scored_at: now,
        score: out.score,
        bins,
        shadow_model_id: shadow_score.as_ref().map(|s| s.0.clone()),
        shadow_score: shadow_score.map(|s| s.1),
    };
    let response = ScoreResponse {
        request_id: request_id.to_owned(),
        product: product.as_str().to_owned(),
        subject: subject.masked.clone(),
        score: out.score,
        grade: out.grade,
        pd: (out.pd * 1e6).round() / 1e6,
        reasons: out
            .reasons
            .into_iter()
            .map(|r| ReasonOut {
                code: r.code,
                characteristic: r.characteristic,
                points_lost: r.points_lost,
                text_en: r.text_en,
                text_zh: r.text_zh,
            })
            .collect(),
        flags: features
            .flags
            .iter()
            .map(|f| f.as_str().to_owned())
            .collect(),
        warnings: subject.warnings.clone(),
        model: ModelRef {
            id: champion.id.clone(),
            trained_at: champion.trained_at,
        },
        data_as_of: features.data_as_of.clone(),
        scored_at: now.trunc_subsecs(0),
        receipt: ReceiptOut::default(),
    };
    Ok((response, observation))
}
