//! The audit ledger over HTTP: `GET /v1/audit/verify` and `GET /v1/audit/subjects/{subject}`
//! (admins and auditors), and for every partner the log's public key, its newest signed
//! checkpoint and proofs (`GET /v1/audit/proofs/inclusion/{event_id}` only for the partner's own
//! entries; admins and auditors for all).

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::{Caller, LedgerReader};
use super::{ApiError, AppState};
use crate::audit::proofs::{self, ProofError};
use crate::audit::{Actor, AuditEvent, AuditSubject, EventKind, Outcome, Verification};
use crate::domain::SubjectId;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/audit/verify", get(verify))
        .route("/v1/audit/subjects/{subject}", get(subject_history))
        .route("/v1/audit/public-key", get(public_key))
        .route("/v1/audit/checkpoint", get(checkpoint))
        .route("/v1/audit/proofs/inclusion/{event_id}", get(inclusion))
        .route("/v1/audit/proofs/consistency", get(consistency))
}

impl From<ProofError> for ApiError {
    fn from(err: ProofError) -> Self {
        match err {
            e @ (ProofError::NoEntry(_)
            | ProofError::NoCheckpoint(_)
            | ProofError::NoCheckpointYet
            | ProofError::Pending { .. }) => ApiError::NotFound(e.to_string()),
            ProofError::Invalid(m) => ApiError::invalid(m, serde_json::Value::Null),
            ProofError::Store(e) => e.into(),
            e @ ProofError::MissingNode { .. } => ApiError::Internal(e.into()),
        }
    }
}

fn verifier(state: &AppState) -> Result<ledger::LogVerifier, ApiError> {
    state.signer.as_ref().map(|s| s.verifier()).ok_or_else(|| {
        ApiError::Unavailable(
            "this process has no audit log key configured (ledger.signing_key_file)".into(),
        )
    })
}

fn text(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

/// Verify the ledger
///
/// Checks the whole audit ledger in one snapshot against the newest signed checkpoint and names the first leaf that fails; entries after the checkpoint are pending. Administrators and auditors.
#[utoipa::path(get, path = "/v1/audit/verify", responses((status = 200, body = Verification)),
    security(("partner_key" = [])), tag = "audit")]
pub async fn verify(
    State(state): State<AppState>,
    reader: LedgerReader,
) -> Result<Json<Verification>, ApiError> {
    let verifier = verifier(&state)?;
    Ok(Json(
        state.verify_ledger(&verifier, &[], &reader.actor()).await?,
    ))
}

/// The log's public key
///
/// The Ed25519 verifier key of the audit log (C2SP signed-note vkey), to check receipts and checkpoints offline. Any partner.
#[utoipa::path(get, path = "/v1/audit/public-key",
    responses((status = 200, description = "the log's Ed25519 verifier key (C2SP signed-note vkey)", content_type = "text/plain")),
    security(("partner_key" = [])), tag = "audit")]
pub async fn public_key(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    Ok(text(format!("{}\n", verifier(&state)?.to_vkey())))
}

/// The newest checkpoint
///
/// The newest signed checkpoint of the audit log (C2SP tlog-checkpoint). 404 before the first is signed. Any partner.
#[utoipa::path(get, path = "/v1/audit/checkpoint",
    responses((status = 200, description = "the newest signed checkpoint (C2SP tlog-checkpoint signed note)", content_type = "text/plain"),
              (status = 404)),
    security(("partner_key" = [])), tag = "audit")]
pub async fn checkpoint(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    match state.db.ledger_checkpoint(None).await {
        Ok((_, note)) => Ok(text(note)),
        Err(crate::storage::StoreError::NotFound) => Err(ProofError::NoCheckpointYet.into()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InclusionQuery {
    /// The checkpoint's tree size to prove against (default: the newest).
    pub tree_size: Option<u64>,
}

/// Inclusion proof of a receipt
///
/// The proof that the caller's entry `event_id` (from a score's receipt) is in the log, against the newest checkpoint or the one of `tree_size`. A partner gets its own entries; administrators and auditors any entry. 404 when the entry is not the caller's or not yet covered by a checkpoint.
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion/{event_id}",
    params(("event_id" = String, Path, description = "the receipt's event id"), InclusionQuery),
    responses((status = 200, description = "C2SP tlog-proof: index, inclusion path, signed checkpoint", content_type = "text/plain"),
              (status = 404, description = "no such entry (or not the caller's), no such checkpoint, or not yet covered")),
    security(("partner_key" = [])), tag = "audit")]
pub async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    Path(event_id): Path<String>,
    Query(q): Query<InclusionQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let entry = proofs::entry(&state.db, &event_id).await?;
    // Another partner's entry answers exactly like a missing one: not even its existence leaks.
    if !caller.0.role.reads_whole_ledger()
        && entry.partner_id.as_deref() != Some(caller.0.id.as_str())
    {
        return Err(ProofError::NoEntry(event_id).into());
    }
    let proof = proofs::inclusion(&state.db, &entry, q.tree_size).await?;
    Ok(text(proof.to_text()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ConsistencyQuery {
    pub from: u64,
    pub to: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// Base64 hashes, RFC 6962 order.
    pub proof: Vec<String>,
}

/// Consistency proof between two checkpoints
///
/// The proof that the log of size `to` extends the log of size `from` (both signed checkpoints' sizes): nothing was rewritten between them. Any partner.
#[utoipa::path(get, path = "/v1/audit/proofs/consistency", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof),
              (status = 404, description = "no checkpoint has been signed yet, or none of size `to`"),
              (status = 422, description = "`from` is above `to`")),
    security(("partner_key" = [])), tag = "audit")]
pub async fn consistency(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let proof = proofs::consistency(&state.db, q.from, q.to).await?;
    Ok(Json(ConsistencyProof {
        from: q.from,
        to: q.to,
        proof: proof.iter().map(|h| h.to_base64()).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// Most recent entries to return (default 100, at most 1000).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub event_id: String,
    /// The entry's place in the tree; none while it waits for the sequencer.
    pub leaf_index: Option<i64>,
    pub kind: String,
    pub actor: String,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    /// The entry's recorded fields.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// A subject's query history
///
/// Who asked about the subject, when and why (newest first), for the subject's right to see its own history; the read is itself recorded. Administrators and auditors.
#[utoipa::path(get, path = "/v1/audit/subjects/{subject}",
    params(("subject" = String, Path, description = "credit code or resident id"), HistoryQuery),
    responses((status = 200, body = [HistoryEntry])), security(("partner_key" = [])), tag = "audit")]
pub async fn subject_history(
    State(state): State<AppState>,
    reader: LedgerReader,
    Path(subject): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    let subject = SubjectId::parse(&subject, state.clock.today())
        .map_err(|e| ApiError::invalid(format!("subject: {e}"), serde_json::Value::Null))?;
    let subject_ref = state.pii.subject_ref(&subject);
    let audit_subject = AuditSubject::of(
        &state.pii,
        subject_ref.subject_type,
        &subject_ref.key,
        &subject_ref.masked,
    );
    let keyed_hash = audit_subject.keyed_hash.clone();
    let rows = state
        .db
        .ledger_for_subject(&keyed_hash, q.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    // Reading a subject's history discloses it: that read is an entry of its own.
    let read = AuditEvent::new(
        EventKind::SubjectHistoryRead,
        Actor::Partner {
            partner_id: reader.partner.id.clone(),
        },
        state.clock.now(),
    )
    .subject(audit_subject)
    .outcome(Outcome::Done)
    .with("entries", rows.len());
    state
        .audit
        .record(read)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let entries = rows
        .into_iter()
        .map(|r| {
            let event = ledger::entry::decode(&r.leaf)
                .map(|e| e.body)
                .unwrap_or(serde_json::Value::Null);
            HistoryEntry {
                event_id: r.event_id,
                leaf_index: r.leaf_index,
                kind: r.kind,
                actor: r.actor,
                recorded_at: r.recorded_at,
                event,
            }
        })
        .collect();
    Ok(Json(entries))
}
