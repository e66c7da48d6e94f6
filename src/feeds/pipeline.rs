//! The batch pipeline. A blocking thread reads and validates rows and hands chunks of valid rows
//! over a bounded channel to the async side, which stages them, `rows_per_transaction` at a
//! time, in short transactions while the batch is invisible; the next chunk is parsed meanwhile.
//! One short transaction then makes the batch visible (`storage::staging::publish`), so readers
//! see all of it or nothing, and no transaction holds SQLite's write lock for the whole file. If
//! any row is invalid the staged rows are deleted again; errors are collected through the whole
//! file so the sender sees them all (the first `MAX_LISTED` listed, all counted).

use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sha2::Digest;
use tokio::sync::mpsc;

use super::cells::{Cells, RowBuf};
use super::format::{self, Encoding, FileFacts, Format};
use super::kinds::{self, Ctx, Kind};
use super::reader::{self, Next};
use super::staging as lifecycle;
use super::{Accepted, BatchResult, FeedError, FeedKind, Issue, Limits, NotEligible, MAX_LISTED};
use crate::domain::Role;
use crate::pii::PiiKey;
use crate::storage::feed_tables::shape_of;
use crate::storage::feeds::{self as store, rows_per_chunk, BatchRecord, FeedRow};
use crate::storage::{households, staging, tax, Db, StoreError, Tx};

/// Called with the number of data rows read so far.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// Awaited after each staging transaction commits, with the rows staged so far: a test holds
/// the import there, between two transactions, to look at the database meanwhile.
pub type Pause = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What an import reports to, or waits on, while it runs.
#[derive(Clone, Default)]
pub struct Hooks {
    pub progress: Option<Progress>,
    pub between_transactions: Option<Pause>,
}

#[derive(Clone)]
pub struct FeedRequest {
    pub kind: FeedKind,
    /// The partner id, or `cli`: idempotency keys are scoped to it.
    pub source: String,
    /// `None`: the SHA-256 of the content is the key.
    pub idempotency_key: Option<String>,
    pub path: PathBuf,
    /// From the Content-Type or the file extension; `None` sniffs the content.
    pub format: Option<Format>,
    /// When the file arrived, from the caller's clock: the batch's timestamp, and the "today"
    /// that dates in the rows are checked against.
    pub received_at: DateTime<Utc>,
    /// How much of the file the readers will look at (the `feed_limits` settings).
    pub limits: Limits,
    /// The sending partner's role; `None` for the operator's command line. A bank's loan
    /// outcomes are limited to its consented subjects, refused with one generic reason.
    pub sender: Option<Role>,
}

/// Validates and stores one file, or replays the batch stored earlier under the same key.
/// Stages: look at the file, replay a key seen before, open the batch in its transaction, load
/// the rows, supersede older versions, record the answer and commit.
pub async fn import(
    db: &Db,
    pii: &PiiKey,
    req: FeedRequest,
    progress: Option<Progress>,
) -> Result<Accepted, FeedError> {
    let facts = inspect(&req.path).await?;
    import_inspected(db, pii, req, facts, progress).await
}

/// The file's first look (digest, size, encoding, head): the one read of the whole file before
/// its rows. Public so the application can record the digest whatever the outcome.
pub async fn inspect(path: &std::path::Path) -> Result<FileFacts, FeedError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || format::inspect(&path))
        .await
        .map_err(join_error)?
        .map_err(FeedError::from)
}

/// [`import`] with the file already inspected.
pub async fn import_inspected(
    db: &Db,
    pii: &PiiKey,
    req: FeedRequest,
    facts: FileFacts,
    progress: Option<Progress>,
) -> Result<Accepted, FeedError> {
    let hooks = Hooks {
        progress,
        between_transactions: None,
    };
    import_with(db, pii, req, facts, hooks).await
}

/// [`import_inspected`] with every hook. Stages: finish batches dead importers left, look at the
/// file, replay a key seen before, open the batch (invisible), stage the rows, then in one short
/// transaction supersede older versions, record the answer and make the batch visible; last,
/// delete the versions it replaced. A refusal deletes what was staged.
pub async fn import_with(
    db: &Db,
    pii: &PiiKey,
    req: FeedRequest,
    facts: FileFacts,
    hooks: Hooks,
) -> Result<Accepted, FeedError> {
    let slice = req.limits.rows_per_transaction.max(1);
    let lease = std::time::Duration::from_secs(req.limits.staging_lease_secs);
    // Someone else's leftovers must not stop this file: a failure here is only logged.
    if let Err(e) = lifecycle::finish_abandoned(db, req.received_at, lease, slice).await {
        tracing::warn!(error = %e, "could not finish abandoned feed batches");
    }
    let key = req
        .idempotency_key
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", facts.sha256));
    if let Some(prev) = db.feed_batch_by_key(&req.source, &key).await? {
        return replay(prev, req.kind, &facts, key);
    }
    let format = readable_format(&req, &facts)?;
    let ctx = context(db, pii, &req).await?;
    let batch = batch_record(&req, &facts, key, format);
    let clock = Heartbeat::new(req.received_at);
    if let Some(prev) = open_batch(db, &batch, clock.now()).await? {
        return replay(prev, req.kind, &facts, batch.idempotency_key);
    }
    let job = Job {
        db,
        batch_id: &batch.id,
        path: &req.path,
        facts: &facts,
        format,
        ctx: ctx.clone(),
        hooks,
        limits: &req.limits,
        clock: &clock,
    };
    let stored = async {
        let loaded = load_kind(req.kind, job)
            .await
            .map_err(|e| with_not_eligible(e, &ctx, &facts.sha256))?;
        publish(db, req.kind, &batch, &facts, format, loaded, &clock).await
    }
    .await;
    let (result, seq) = match stored {
        Ok(done) => done,
        Err(e) => {
            // Nothing was visible; now nothing is kept either. Should this fail too, the staged
            // rows stay invisible and the next start (or import) deletes them.
            if let Err(gone) = lifecycle::discard(db, req.kind, &batch.id, slice).await {
                tracing::warn!(batch = %batch.id, error = %gone, "staged rows of a refused batch left for later");
            }
            return Err(e);
        }
    };
    // The batch is visible and readers already see only its versions: deleting the ones it
    // replaced only reclaims space, so a failure here is left for the next start.
    if let Err(e) = lifecycle::compact(db, shape_of(req.kind), &batch.id, seq, slice).await {
        tracing::warn!(batch = %batch.id, error = %e, "replaced versions left for later");
    }
    Ok(Accepted {
        result,
        replayed: false,
    })
}

/// The one short transaction that makes a staged batch visible, with the grades or assessments
/// it supersedes and its answer for replays.
async fn publish(
    db: &Db,
    kind: FeedKind,
    batch: &BatchRecord,
    facts: &FileFacts,
    format: Format,
    loaded: Loaded,
    clock: &Heartbeat,
) -> Result<(BatchResult, i64), FeedError> {
    let mut tx = db.begin().await?;
    let superseded = supersede(&mut tx, kind, &batch.id).await?;
    let result = batch_result(batch, facts, format, loaded, superseded);
    let json = serde_json::to_string(&result).map_err(|e| FeedError::Io(e.into()))?;
    let compacting = shape_of(kind).replaces;
    let seq = staging::publish(
        &mut tx,
        &batch.id,
        result.rows as i64,
        &json,
        compacting,
        clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok((result, seq))
}

/// The time an import's staging entry is stamped with: the caller's clock when the file arrived,
/// moved on by the time the import has run since (a lease is measured against it).
struct Heartbeat {
    received_at: DateTime<Utc>,
    started: Instant,
}

impl Heartbeat {
    fn new(received_at: DateTime<Utc>) -> Heartbeat {
        Heartbeat {
            received_at,
            started: Instant::now(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        chrono::Duration::from_std(self.started.elapsed())
            .ok()
            .and_then(|d| self.received_at.checked_add_signed(d))
            .unwrap_or(self.received_at)
    }
}

/// The file's format (given, or sniffed from its first bytes); an empty body is refused.
fn readable_format(req: &FeedRequest, facts: &FileFacts) -> Result<Format, FeedError> {
    if facts.size == 0 {
        return Err(FeedError::Unreadable {
            what: "a feed".into(),
            reason: "the body is empty".into(),
        });
    }
    Ok(match req.format {
        Some(f) => f,
        None => Format::sniff(&facts.head)?,
    })
}

/// What the validators need: the PII key, the sender, today, and for loan outcomes the subjects
/// already stored (for a bank, only those it holds a consent for).
async fn context(db: &Db, pii: &PiiKey, req: &FeedRequest) -> Result<Arc<Ctx>, FeedError> {
    // A bank reports outcomes only of loans it was authorised to look at: every score it was
    // delivered needed its consent for the subject, so its consents cover its scores too.
    let partner_scoped = req.kind == FeedKind::LoanOutcomes && req.sender == Some(Role::Bank);
    let known_subjects = if req.kind == FeedKind::LoanOutcomes {
        let mut known = db.known_loan_subjects().await?;
        if partner_scoped {
            let consented = db.consented_subjects(&req.source).await?;
            known.retain(|k| consented.contains(k));
        }
        known
    } else {
        Default::default()
    };
    Ok(Arc::new(Ctx {
        pii: pii.clone(),
        source: req.source.clone(),
        today: req.received_at.date_naive(),
        earliest_founding_year: req.limits.earliest_founding_year,
        known_subjects,
        partner_scoped,
        not_eligible: Default::default(),
    }))
}

/// The batch's record as it is opened: no rows yet, no answer yet.
fn batch_record(req: &FeedRequest, facts: &FileFacts, key: String, format: Format) -> BatchRecord {
    BatchRecord {
        id: ulid::Ulid::new().to_string(),
        kind: req.kind.as_str().to_owned(),
        source: req.source.clone(),
        idempotency_key: key,
        content_sha256: facts.sha256.clone(),
        format: format.as_str().to_owned(),
        rows_stored: 0,
        result_json: "{}".into(),
        received_at: req.received_at,
        visible_seq: None,
    }
}

/// Opens the batch, invisible, claiming its key; `Some` with the batch that won a race for the
/// same key instead.
async fn open_batch(
    db: &Db,
    batch: &BatchRecord,
    at: DateTime<Utc>,
) -> Result<Option<BatchRecord>, FeedError> {
    match staging::open(db, batch, at).await {
        Err(StoreError::Conflict(_)) => {
            let prev = db
                .feed_batch_by_key(&batch.source, &batch.idempotency_key)
                .await?
                .ok_or(StoreError::NotFound)?;
            Ok(Some(prev))
        }
        other => other.map(|_| None).map_err(FeedError::from),
    }
}

/// Loads the file's rows with the validator of its kind.
async fn load_kind(kind: FeedKind, job: Job<'_>) -> Result<Loaded, FeedError> {
    match kind {
        FeedKind::Enterprises => load::<kinds::Enterprises>(job).await,
        FeedKind::TaxGrades => load::<kinds::TaxGrades>(job).await,
        FeedKind::TaxPayments => load::<kinds::TaxPayments>(job).await,
        FeedKind::Households => load::<kinds::Households>(job).await,
        FeedKind::FarmerAssessments => load::<kinds::Assessments>(job).await,
        FeedKind::PublicRecords => load::<kinds::PublicRecords>(job).await,
        FeedKind::LoanOutcomes => load::<kinds::LoanOutcomes>(job).await,
    }
}

/// Marks the earlier versions this batch's grades or assessments replace; how many. In the
/// transaction that makes the batch visible.
async fn supersede(tx: &mut Tx, kind: FeedKind, batch_id: &str) -> Result<u64, FeedError> {
    Ok(match kind {
        FeedKind::TaxGrades => tax::supersede_grades(tx, batch_id).await?,
        FeedKind::FarmerAssessments => households::supersede_assessments(tx, batch_id).await?,
        _ => 0,
    })
}

/// The accepted batch's answer, stored with it for replays.
fn batch_result(
    batch: &BatchRecord,
    facts: &FileFacts,
    format: Format,
    loaded: Loaded,
    superseded: u64,
) -> BatchResult {
    BatchResult {
        batch_id: batch.id.clone(),
        kind: batch.kind.clone(),
        format: batch.format.clone(),
        encoding: if format == Format::Xlsx {
            "xlsx"
        } else {
            facts.encoding.as_str()
        }
        .to_owned(),
        rows: loaded.rows,
        superseded,
        warnings_total: loaded.warnings_total,
        warnings: loaded.warnings,
        received_at: batch.received_at,
    }
}

/// The same key again: the same content (and kind) replays the stored answer, anything else is
/// a conflict, so a retried upload never stores twice and a reused key never hides new data.
fn replay(
    prev: BatchRecord,
    kind: FeedKind,
    facts: &FileFacts,
    key: String,
) -> Result<Accepted, FeedError> {
    if prev.visible_seq.is_none() {
        return Err(FeedError::InProgress { key });
    }
    if prev.kind != kind.as_str() {
        return Err(FeedError::KeyReused {
            key,
            what: "feed kind",
        });
    }
    if prev.content_sha256 != facts.sha256 {
        return Err(FeedError::KeyReused { key, what: "body" });
    }
    let result = serde_json::from_str(&prev.result_json).map_err(|e| {
        StoreError::Other(sqlx::Error::Decode(
            format!("feed batch {}: {e}", prev.id).into(),
        ))
    })?;
    Ok(Accepted {
        result,
        replayed: true,
    })
}

fn join_error(e: tokio::task::JoinError) -> FeedError {
    FeedError::Io(std::io::Error::other(format!("feed parser stopped: {e}")))
}

struct Job<'a> {
    db: &'a Db,
    batch_id: &'a str,
    path: &'a Path,
    facts: &'a FileFacts,
    format: Format,
    ctx: Arc<Ctx>,
    hooks: Hooks,
    limits: &'a Limits,
    clock: &'a Heartbeat,
}

struct Loaded {
    rows: u64,
    warnings_total: u64,
    warnings: Vec<Issue>,
}

async fn load<K: Kind>(job: Job<'_>) -> Result<Loaded, FeedError> {
    let (sender, mut receiver) = mpsc::channel::<Vec<K::Row>>(4);
    let (path, facts, format, ctx, progress, limits) = (
        job.path.to_owned(),
        job.facts.clone(),
        job.format,
        job.ctx,
        job.hooks.progress.clone(),
        job.limits.clone(),
    );
    let per_tx = limits.rows_per_transaction.max(1) as usize;
    let per = rows_per_chunk(job.db.dialect(), <K::Row as FeedRow>::COLUMNS.len()).min(per_tx);
    let parser = tokio::task::spawn_blocking(move || {
        parse::<K>(&path, &facts, format, &ctx, &sender, per, progress, &limits)
    });
    // Chunks wait here until a transaction's worth has arrived: the transaction (and with it
    // SQLite's write lock) is only open while rows are written, never while the parser works.
    let mut pending: Vec<Vec<K::Row>> = Vec::new();
    let (mut pending_rows, mut staged) = (0usize, 0u64);
    let mut failed = None;
    let mut more = true;
    while more {
        match receiver.recv().await {
            Some(chunk) => {
                pending_rows += chunk.len();
                pending.push(chunk);
                if pending_rows < per_tx {
                    continue;
                }
            }
            None => more = false,
        }
        if pending.is_empty() {
            continue;
        }
        let rows = std::mem::take(&mut pending);
        staged += std::mem::take(&mut pending_rows) as u64;
        let started = Instant::now();
        if let Err(e) = stage(job.db, job.batch_id, rows, job.clock).await {
            failed = Some(e);
            break;
        }
        lifecycle::yield_write_lock(job.db, started.elapsed()).await;
        if let Some(pause) = &job.hooks.between_transactions {
            pause(staged).await;
        }
    }
    drop(receiver); // a parser still sending sees the channel closed and stops
    let report = parser.await.map_err(join_error)??;
    if let Some(e) = failed {
        return Err(e.into());
    }
    if report.errors_total > 0 {
        return Err(FeedError::Invalid {
            errors_total: report.errors_total,
            errors: report.errors,
            rows_read: report.rows_read,
            not_eligible: None,
        });
    }
    Ok(Loaded {
        rows: report.rows_read,
        warnings_total: report.warnings_total,
        warnings: report.warnings,
    })
}

/// One staging transaction: the chunks' rows, tagged with the invisible batch, and the
/// importer's heartbeat.
async fn stage<R: FeedRow>(
    db: &Db,
    batch_id: &str,
    chunks: Vec<Vec<R>>,
    clock: &Heartbeat,
) -> Result<(), StoreError> {
    let mut tx: Tx = db.begin().await?;
    for chunk in chunks {
        store::insert_rows(&mut tx, batch_id, chunk).await?;
    }
    staging::heartbeat(&mut tx, batch_id, clock.now()).await?;
    tx.commit().await
}

/// Adds to a refusal the tally of rows a bank may not send, for the audit trail.
fn with_not_eligible(err: FeedError, ctx: &Ctx, content_sha256: &str) -> FeedError {
    let tally = ctx.not_eligible.lock().expect("tally lock");
    match err {
        FeedError::Invalid {
            errors_total,
            errors,
            rows_read,
            ..
        } if tally.rows > 0 => FeedError::Invalid {
            errors_total,
            errors,
            rows_read,
            not_eligible: Some(NotEligible {
                rows: tally.rows,
                subjects_sha256: hex::encode(tally.digest.clone().finalize()),
                content_sha256: content_sha256.to_owned(),
            }),
        },
        other => other,
    }
}

#[derive(Default)]
struct Report {
    rows_read: u64,
    errors_total: u64,
    errors: Vec<Issue>,
    warnings_total: u64,
    warnings: Vec<Issue>,
}

impl Report {
    fn errors(&mut self, issues: impl IntoIterator<Item = Issue>) {
        for i in issues {
            self.errors_total += 1;
            if self.errors.len() < MAX_LISTED {
                self.errors.push(i);
            }
        }
    }

    fn warnings(&mut self, issues: impl IntoIterator<Item = Issue>) {
        for i in issues {
            self.warnings_total += 1;
            if self.warnings.len() < MAX_LISTED {
                self.warnings.push(i);
            }
        }
    }
}

/// 128 bits of two SipHashes: in-batch duplicate detection without keeping every key string.
/// The hash keys are random per batch, so no file can be made of keys that collide.
fn key_hash(state: &RandomState, key: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = state.build_hasher();
        salt.hash(&mut h);
        key.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// The keys of the seen-rows map are already keyed SipHash outputs: hashing them again would
/// only cost time, so the map takes their low 64 bits as they are.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used by `u128: Hash`; fold anything else in all the same.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

type SeenKeys = HashMap<u128, u64, BuildHasherDefault<PreHashed>>;

#[allow(clippy::too_many_arguments)]
fn parse<K: Kind>(
    path: &Path,
    facts: &FileFacts,
    format: Format,
    ctx: &Ctx,
    sender: &mpsc::Sender<Vec<K::Row>>,
    per: usize,
    progress: Option<Progress>,
    limits: &Limits,
) -> Result<Report, FeedError> {
    let transcoded;
    let (path, skip_bom) = match (format, facts.encoding) {
        (Format::Xlsx, _) | (_, Encoding::Utf8) => (path, false),
        (_, Encoding::Utf8Bom) => (path, true),
        (_, other) => {
            transcoded = format::transcode_to_utf8(path, other)?;
            (transcoded.path(), false)
        }
    };
    let mut opened = reader::open(format, path, skip_bom, K::COLUMNS, limits)?;
    let mut report = Report::default();
    report.errors(opened.errors);
    report.warnings(opened.warnings);
    if report.errors_total > 0 {
        return Ok(report); // a header without the required columns: rows cannot be read
    }
    let mut chunk = Vec::with_capacity(per);
    let mut seen = SeenKeys::default();
    let key_state = RandomState::new();
    let mut key = String::new();
    let mut buf = RowBuf::new(K::COLUMNS.len());
    let mut row_warnings = Vec::new();
    loop {
        let next = opened.reader.next(&mut buf, &mut row_warnings)?;
        report.warnings(row_warnings.drain(..));
        match next {
            Next::End => break,
            Next::Bad(issue) => report.errors([issue]),
            Next::Row => {
                let mut cells = Cells::new(&buf, &opened.header.names);
                let row = K::validate(&mut cells, ctx);
                report.errors(cells.errors);
                report.warnings(cells.warnings);
                if let Some(row) = row {
                    key.clear();
                    K::key(&row, &mut key);
                    match seen.entry(key_hash(&key_state, &key)) {
                        Entry::Occupied(first) => report.errors([Issue {
                            line: buf.line,
                            column: None,
                            reason: format!("same {} as line {}", K::KEY, first.get()),
                        }]),
                        Entry::Vacant(v) => {
                            v.insert(buf.line);
                            if report.errors_total == 0 {
                                chunk.push(row);
                            }
                        }
                    }
                }
            }
        }
        report.rows_read += 1;
        if report.errors_total > 0 {
            chunk.clear(); // the batch will be refused: stop feeding the database
        }
        if chunk.len() == per
            && sender
                .blocking_send(std::mem::replace(&mut chunk, Vec::with_capacity(per)))
                .is_err()
        {
            return Ok(report); // the inserter failed; it reports why
        }
        if report.rows_read % 8192 == 0 {
            if let Some(p) = &progress {
                p(report.rows_read);
            }
        }
    }
    if !chunk.is_empty() && report.errors_total == 0 {
        let _ = sender.blocking_send(chunk);
    }
    if let Some(p) = &progress {
        p(report.rows_read);
    }
    Ok(report)
}
