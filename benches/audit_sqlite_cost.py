#!/usr/bin/env python3
"""What an audit group commit costs SQLite itself, per row, without the server around it.

    python3 benches/audit_sqlite_cost.py [ROWS_PER_GROUP ...]      (default: 2 10 40)

Writes 30,000 audit rows into a fresh database in groups, the way the audit writer does: WAL,
synchronous=NORMAL, one transaction per group with one multi-row INSERT into `audit_log` (same
columns and constraints as migrations/sqlite/0001_schema.sql, a real ~770-byte body) and one into
`score_observations`; SQLite's own autocheckpoint stands in for the server's checkpoint task.
Variants: `no observations` leaves out the observation rows; `no event_id index` drops the
UNIQUE constraint on `event_id`. Prints process CPU time and wall time per row. Python's
sqlite3 adds its own (small, per-statement) overhead to every figure.
"""
import hashlib, os, random, sqlite3, sys, tempfile, time

ROWS = 30_000
BODY = ('{"event_id":"01M8K226H8DE9QYYADE90Y7WX1","recorded_at":"2026-11-29T07:07:13.320664Z","kind":"score",'
        '"partner_id":"p_01m8k1k1heavmvsbv68f7zfe9x","partner_name":"bench","subject_key":"914408239WPA3LEA1F",'
        '"subject_masked":"9144************1F","product":"sme","purpose":"loan_application","consent":{"id":'
        '"c_01m8k1kb9tvkxfe5c0zg1pxx9d","purpose":"loan_application","valid_until":"2099-12-31","evidence_sha256":'
        '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"data_as_of":{"as_of":"2026-11-29",'
        '"tax_grade_year":2024,"tax_payments_through":"2025-12","year":2026},"model_id":"sme-2026Q4-1","score":550,'
        '"grade":"D","pd":0.101638,"reasons":["SME-TAX-03","SME-ENT-02","SME-TAX-01","SME-TAX-07"],"flags":[],'
        '"outcome":"delivered","refusal":null,"detail":null}')


def run(group, observations=True, event_index=True):
    path = os.path.join(tempfile.mkdtemp(), "audit.db")
    c = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-16384"):
        c.execute(f"PRAGMA {pragma}")
    unique = "UNIQUE" if event_index else ""
    c.execute(f"""CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL {unique},
        recorded_at TEXT NOT NULL, kind TEXT NOT NULL, partner_id TEXT, subject_key TEXT,
        outcome TEXT NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL, row_hash TEXT NOT NULL)""")
    c.execute("""CREATE TABLE score_observations (id INTEGER PRIMARY KEY, product TEXT NOT NULL,
        model_id TEXT NOT NULL, scored_at TEXT NOT NULL, score INTEGER NOT NULL, bins TEXT NOT NULL,
        shadow_model_id TEXT, shadow_score INTEGER)""")
    c.execute("CREATE INDEX score_observations_by_product ON score_observations (product, scored_at)")
    insert_rows = "INSERT INTO audit_log VALUES " + ",".join(["(?,?,?,?,?,?,?,?,?,?)"] * group)
    insert_obs = ("INSERT INTO score_observations (product, model_id, scored_at, score, bins, "
                  "shadow_model_id, shadow_score) VALUES " + ",".join(["(?,?,?,?,?,?,?)"] * group))
    digest = hashlib.sha256(b"row").hexdigest()
    seq, millis = 0, 1_764_400_000_000
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(ROWS // group):
        rows, obs = [], []
        for _ in range(group):
            seq += 1
            millis += 1
            # ULID-like: a time prefix, then randomness (the request ids are ULIDs).
            event_id = "01M8K2%08d%012d" % (millis % 10**8, random.getrandbits(40))
            rows += [seq, event_id, "2026-11-29T07:07:13.320664Z", "score", "p_01m8k1k1heavmvsbv68f7zfe9x",
                     "914408239WPA3LEA%02d" % (seq % 97), "delivered", BODY, digest, digest]
            obs += ["sme", "sme-2026Q4-1", "2026-11-29T07:07:13.320664Z", 550, "[1,2,3,4,5,6,7,8]", None, None]
        c.execute("BEGIN IMMEDIATE")
        c.execute(insert_rows, rows)
        if observations:
            c.execute(insert_obs, obs)
        c.execute("COMMIT")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / ROWS * 1e6, wall / ROWS * 1e6


def main():
    groups = [int(g) for g in sys.argv[1:]] or [2, 10, 40]
    print(f"SQLite {sqlite3.sqlite_version}, {ROWS} rows per case")
    for g in groups:
        cpu, wall = run(g)
        print(f"group {g:>3}: {cpu:5.1f} us CPU/row, {wall:5.1f} us wall/row")
    for name, kw in (("no observations", dict(observations=False)),
                     ("no event_id index", dict(event_index=False))):
        cpu, wall = run(10, **kw)
        print(f"group  10, {name}: {cpu:5.1f} us CPU/row, {wall:5.1f} us wall/row")


if __name__ == "__main__":
    main()
