//! Scoring one subject for a partner: check the request against the subject's consent, build the
//! subject's characteristics as of now with `features`, score them with the product's champion,
//! and record the outcome — delivered or refused — in the audit trail before answering.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{AuditEvent, ConsentRef, Refusal};
use crate::domain::{Product, Purpose, SubjectId};
use crate::features::{self, FeatureVector};
use crate::http::{ApiError, AppState};
use crate::pii::SubjectRef;
use crate::storage::audit::Observation;
use crate::storage::partners::Partner;
use crate::storage::StoreError;

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

/// What was established before a score could be refused or delivered, for the audit record.
#[derive(Default)]
struct Context {
    subject: Option<SubjectRef>,
    product: Option<Product>,
    purpose: Option<Purpose>,
    consent: Option<ConsentRef>,
}

/// Scores `req` for `partner`; every outcome is audited before it is returned.
pub async fn score(
    state: &AppState,
    partner: &Partner,
    req: &ScoreRequest,
    request_id: &str,
) -> Result<ScoreResponse, ApiError> {
    let mut ctx = Context::default();
    let (outcome, observation) = match decide(state, partner, req, request_id, &mut ctx).await {
        Ok((response, observation)) => (Ok(response), Some(observation)),
        Err(e) => (Err(e), None),
    };
    let mut event = score_event(partner, request_id, state.clock.now());
    event.subject_key = ctx.subject.as_ref().map(|s| s.key.clone());
    event.subject_masked = ctx.subject.as_ref().map(|s| s.masked.clone());
    event.product = ctx.product.map(|p| p.as_str().to_owned());
    event.purpose = ctx.purpose.map(|p| p.as_str().to_owned());
    event.consent = ctx.consent;
    match &outcome {
        Ok(r) => {
            event.outcome = "delivered".into();
            event.data_as_of = Some(r.data_as_of.clone());
            event.model_id = Some(r.model.id.clone());
            event.score = Some(r.score);
            event.grade = Some(r.grade.clone());
            event.pd = Some(r.pd);
            event.reasons = r.reasons.iter().map(|x| x.code.clone()).collect();
            event.flags = r.flags.clone();
        }
        Err(e) => refuse(&mut event, e, None),
    }
    commit(state, event, observation).await?;
    if let Ok(r) = &outcome {
        metrics::counter!("creditbridge_scores_total", "product" => r.product.clone(), "grade" => r.grade.clone())
            .increment(1);
    }
    outcome
}

/// Audits a scoring request refused before it could be read as one — a caller without a lender
/// role, a body that is not a valid request, a batch too large or empty — and returns the refusal.
/// `message` replaces the error's own text in the record where that text may quote the body.
/// Should the record fail, so does the request (500), as for every other score.
pub async fn refuse_unread(
    state: &AppState,
    partner: &Partner,
    request_id: &str,
    refusal: ApiError,
    message: Option<&str>,
) -> ApiError {
    let mut event = score_event(partner, request_id, state.clock.now());
    refuse(&mut event, &refusal, message);
    match commit(state, event, None).await {
        Ok(()) => refusal,
        Err(e) => e,
    }
}

/// A score request's record, with what is known before anything is checked: who asked.
fn score_event(partner: &Partner, request_id: &str, at: DateTime<Utc>) -> AuditEvent {
    let mut event = AuditEvent::new(request_id, "score", at);
    event.partner_id = Some(partner.id.clone());
    event.partner_name = Some(partner.name.clone());
    event
}

/// Marks `event` refused with `refusal`'s code and `message` (else the refusal's own text).
fn refuse(event: &mut AuditEvent, refusal: &ApiError, message: Option<&str>) {
    event.outcome = "refused".into();
    event.refusal = Some(Refusal {
        code: refusal.code().to_owned(),
        message: message.map_or_else(|| refusal.to_string(), str::to_owned),
    });
}

/// Commits a score request's record. No answer leaves without its record: if the record cannot
/// be committed, the request fails (500) whatever its outcome.
async fn commit(
    state: &AppState,
    event: AuditEvent,
    observation: Option<Observation>,
) -> Result<(), ApiError> {
    state
        .audit
        .record_with(event, observation)
        .await
        .map(|_| ())
        .map_err(|e| ApiError::Internal(e.into()))
}

async fn decide(
    state: &AppState,
    partner: &Partner,
    req: &ScoreRequest,
    request_id: &str,
    ctx: &mut Context,
) -> Result<(ScoreResponse, Observation), ApiError> {
    let invalid = |field: &str, msg: String| {
        ApiError::invalid(format!("{field}: {msg}"), json!({ "field": field }))
    };
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
    let subject = SubjectId::parse(&req.subject).map_err(|e| invalid("subject", format!("{e}")))?;
    let subject_ref = state.pii.subject_ref(&subject);
    ctx.subject = Some(subject_ref.clone());
    match (product, &subject) {
        (Product::Sme, SubjectId::Enterprise(_)) | (Product::Farmer, SubjectId::Person(_)) => {}
        _ => {
            return Err(invalid(
                "subject",
                format!(
                    "product {} needs {}",
                    product.as_str(),
                    match product {
                        Product::Sme => "a unified social credit code",
                        Product::Farmer => "the household head's resident id",
                    }
                ),
            ))
        }
    }
    if !partner.role.allowed_purposes().contains(&purpose) {
        return Err(ApiError::forbidden(
            "purpose_not_allowed",
            format!(
                "a {} may not ask for purpose {}",
                partner.role.as_str(),
                purpose.as_str()
            ),
        ));
    }
    let now = state.clock.now();
    check_consent(
        state,
        partner,
        &subject_ref,
        purpose,
        &req.consent_id,
        now,
        ctx,
    )
    .await?;

    let champion = state.champions.get(product).ok_or_else(|| {
        ApiError::Unavailable(format!("no champion model for {} yet", product.as_str()))
    })?;
    let today = now.date_naive();
    let features = match product {
        Product::Sme => features::sme::characteristics(
            &*state
                .read_model
                .sme_facts(&state.db, &subject_ref.key, today)
                .await?,
            today,
        ),
        Product::Farmer => features::farmer::characteristics(
            &*state
                .read_model
                .farmer_facts(&state.db, &subject_ref.key)
                .await?,
            today,
        ),
    };
    if features.flags.iter().any(|f| f.starts_with("unknown_")) {
        return Err(ApiError::NotFound(format!(
            "no {} data held for this subject",
            product.as_str()
        )));
    }
    let shadow = state.champions.shadow(product);
    build_response(
        &champion,
        shadow.as_deref(),
        product,
        &subject_ref,
        &features,
        request_id,
        now,
    )
}

async fn check_consent(
    state: &AppState,
    partner: &Partner,
    subject: &SubjectRef,
    purpose: Purpose,
    consent_id: &str,
    now: DateTime<Utc>,
    ctx: &mut Context,
) -> Result<(), ApiError> {
    let refuse = |code, msg: &str| Err(ApiError::forbidden(code, msg.to_owned()));
    let consent = match state.read_model.consent(&state.db, consent_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return refuse("no_consent", "no consent with this id"),
        Err(e) => return Err(e.into()),
    };
    if consent.partner_id != partner.id {
        return refuse("no_consent", "the consent was given to another partner");
    }
    ctx.consent = Some(ConsentRef {
        id: consent.id.clone(),
        purpose: consent.purpose.clone(),
        valid_until: consent.valid_until,
        evidence_sha256: consent.evidence_sha256.clone(),
    });
    if consent.subject_key != subject.key {
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
    if consent.revoked_at.is_some_and(|r| r <= now) {
        return refuse("consent_revoked", "the consent has been revoked");
    }
    if consent.valid_until < now.date_naive() {
        return refuse("consent_expired", "the consent has expired");
    }
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
) -> Result<(ScoreResponse, Observation), ApiError> {
    let lookup = |name: &str| features.get(name).or(Some(training::Value::Missing));
    let bins = champion.model.locate(&lookup).map_err(|e| {
        ApiError::Internal(anyhow::anyhow!(
            "model {} could not score: {e}",
            champion.id
        ))
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
        flags: features.flags.iter().map(|f| (*f).to_owned()).collect(),
        warnings: subject.warnings.clone(),
        model: ModelRef {
            id: champion.id.clone(),
            trained_at: champion.trained_at,
        },
        data_as_of: features.data_as_of.clone(),
        scored_at: now.trunc_subsecs(0),
    };
    Ok((response, observation))
}
