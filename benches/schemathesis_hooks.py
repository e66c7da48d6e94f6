"""Schemathesis hooks for creditbridge (benches/schemathesis.sh loads them).

The OpenAPI document marks identifiers whose rules JSON Schema cannot say with `format:
subject-id` (a credit code's two check characters, a resident id's check digit and birth date);
here is how to make valid ones, so that positive cases are really valid. A consent's dates must
also hang together (signed not in the future, valid until a day between signing and a year
after, not in the past: the fields' descriptions say so); a body with well-formed dates gets
dates that do, since no schema can relate two fields to each other and to today.
"""

import datetime

import schemathesis
from hypothesis import strategies as st

USCC_SET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
RID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
RID_CHECKS = "10X98765432"


def org_check(org8: str) -> str:
    value = lambda c: int(c) if c.isdigit() else ord(c) - ord("A") + 10
    n = 11 - sum(value(c) * w for c, w in zip(org8, ORG_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(n, str(n))


def uscc(head: str, region: str, org8: str) -> str:
    body = head + region + org8 + org_check(org8)
    total = sum(USCC_SET.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return body + USCC_SET[(31 - total % 31) % 31]


def resident_id(region: str, born: datetime.date, seq: str) -> str:
    body = region + born.strftime("%Y%m%d") + seq
    return body + RID_CHECKS[sum(int(c) * w for c, w in zip(body, RID_WEIGHTS)) % 11]


ORG_SET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # within both the code's set and 0-9 A-Z
credit_codes = st.builds(
    uscc,
    st.sampled_from(["91", "92", "93", "12", "52"]),
    st.from_regex(r"\A44[0-9]{4}\Z"),
    st.text(alphabet=ORG_SET, min_size=8, max_size=8),
).filter(lambda c: c[16] in USCC_SET)
resident_ids = st.builds(
    resident_id,
    st.from_regex(r"\A44[0-9]{4}\Z"),
    st.dates(min_value=datetime.date(1940, 1, 1), max_value=datetime.date(2000, 12, 31)),
    st.from_regex(r"\A[0-9]{3}\Z"),
)
schemathesis.openapi.format("subject-id", st.one_of(credit_codes, resident_ids))


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _instant(value):
    """An RFC 3339 date-time, whole, or None (a case made invalid on purpose stays so)."""
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, TypeError, ValueError):
        return None


@schemathesis.hook
def map_body(context, body):
    if isinstance(body, dict) and "signed_at" in body and "valid_until" in body:
        signed, until = body.get("signed_at"), body.get("valid_until")
        if _instant(signed) and isinstance(until, str) and len(until) == 10 and _date(until):
            today = datetime.datetime.now(datetime.timezone.utc).date()
            body = dict(body)
            body["signed_at"] = (today - datetime.timedelta(days=30)).isoformat() + "T09:00:00Z"
            body["valid_until"] = (today + datetime.timedelta(days=180)).isoformat()
    return body


@schemathesis.hook
def map_query(context, query):
    # A consistency proof runs from a smaller tree to a larger one (`from` <= `to`).
    if isinstance(query, dict):
        low, high = query.get("from"), query.get("to")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            query = dict(query, **{"from": high, "to": low})
    return query
