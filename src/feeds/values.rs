//! Parsers for feed cell values. Each returns the reason a value is refused, quoting (a prefix
//! of) the value so the sender can find it; identity numbers are never passed through these.

use chrono::NaiveDate;

/// A value shown in an error: at most 40 characters, so a 10 MB cell gives a short message.
pub fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("{out:?}")
}

/// `YYYY-MM-DD`; `YYYY/M/D` too, as spreadsheet software exports dates in Chinese locales.
pub fn date(s: &str) -> Result<NaiveDate, String> {
    let t = s.trim();
    let parts: Vec<&str> = t.split(['-', '/']).collect();
    let sep_ok = t.contains('-') != t.contains('/');
    let shape_ok = parts.len() == 3
        && parts[0].len() == 4
        && parts[1..].iter().all(|p| (1..=2).contains(&p.len()))
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !(sep_ok && shape_ok) {
        return Err(format!("{} is not a date (expected YYYY-MM-DD)", shown(s)));
    }
    let n = |p: &str| p.parse::<u32>().unwrap_or(0);
    NaiveDate::from_ymd_opt(n(parts[0]) as i32, n(parts[1]), n(parts[2]))
        .ok_or_else(|| format!("{} is not a real date", shown(s)))
}

/// `YYYY-MM` → (year, month), normalised to two-digit months.
pub fn month(s: &str) -> Result<(i32, u32), String> {
    let t = s.trim();
    let bad = || format!("{} is not a month (expected YYYY-MM)", shown(s));
    let (y, m) = t.split_once(['-', '/']).ok_or_else(bad)?;
    if y.len() != 4
        || !(1..=2).contains(&m.len())
        || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let (y, m) = (
        y.parse::<i32>().map_err(|_| bad())?,
        m.parse::<u32>().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) {
        return Err(format!("{} has no month {m}", shown(s)));
    }
    Ok((y, m))
}

/// An amount in yuan with at most 2 decimals, ≥ 0, as integer fen. Parsed as text so that no
/// binary rounding creeps into money.
pub fn fen(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let bad = |why: &str| format!("{} is not an amount in yuan ({why})", shown(s));
    if t.starts_with('-') {
        return Err(format!("{} is negative", shown(s)));
    }
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad("digits with an optional decimal point"));
    }
    if frac.len() > 2 {
        return Err(bad("at most 2 decimals"));
    }
    let yuan: i64 = int
        .parse()
        .ok()
        .filter(|v: &i64| *v <= 1_000_000_000_000)
        .ok_or_else(|| bad("too large"))?;
    let cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().unwrap_or(0) * 10,
        _ => frac.parse::<i64>().unwrap_or(0),
    };
    Ok(yuan * 100 + cents)
}

/// `true`/`false`, `1`/`0`, `是`/`否` (case-insensitive).
pub fn boolean(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "是" => Ok(true),
        "false" | "0" | "否" => Ok(false),
        _ => Err(format!(
            "{} is not a boolean (true/false, 1/0, 是/否)",
            shown(s)
        )),
    }
}

/// A whole number in `lo..=hi`; "12.0" is accepted (spreadsheets store numbers as floats).
pub fn int_in(s: &str, lo: i64, hi: i64) -> Result<i64, String> {
    let t = s.trim();
    let t = t.strip_suffix(".0").unwrap_or(t);
    let v: i64 = t
        .parse()
        .map_err(|_| format!("{} is not a whole number", shown(s)))?;
    if v < lo || v > hi {
        return Err(format!("{v} is outside {lo}–{hi}"));
    }
    Ok(v)
}

/// A decimal number in `lo..=hi`.
pub fn real_in(s: &str, lo: f64, hi: f64) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{} is not a number", shown(s)))?;
    if !v.is_finite() || v < lo || v > hi {
        return Err(format!("{} is outside {lo}–{hi}", shown(s)));
    }
    Ok(v)
}

/// Text of `lo..=hi` characters, kept exactly as sent (formula-like text is data, not code).
pub fn text(s: &str, lo: usize, hi: usize) -> Result<String, String> {
    let n = s.chars().count();
    if n < lo || n > hi {
        return Err(format!(
            "{} has {n} characters; expected {lo}–{hi}",
            shown(s)
        ));
    }
    Ok(s.to_owned())
}

/// Exactly `n` ASCII digits.
pub fn digits(s: &str, n: usize) -> Result<String, String> {
    let t = s.trim();
    if t.len() != n || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{} is not {n} digits", shown(s)));
    }
    Ok(t.to_owned())
}

/// One of a fixed set of codes.
pub fn one_of(s: &str, allowed: &[&'static str]) -> Result<&'static str, String> {
    let t = s.trim();
    allowed
        .iter()
        .find(|a| **a == t)
        .copied()
        .ok_or_else(|| format!("{} is not one of: {}", shown(s), allowed.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_real_calendar_days() {
        assert_eq!(
            date("2024-02-29").unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        assert!(date("2023-02-29").unwrap_err().contains("not a real date"));
        assert!(date("2024-13-01").is_err());
        assert!(date("29.02.2024").is_err());
        assert!(date("2024-02/01").is_err());
    }

    #[test]
    fn spreadsheet_slash_dates_are_read_as_iso_dates() {
        assert_eq!(
            date("2024/3/5").unwrap(),
            NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()
        );
    }

    #[test]
    fn months_are_year_and_month() {
        assert_eq!(month("2024-03").unwrap(), (2024, 3));
        assert!(month("2024-00").is_err());
        assert!(month("2024-03-01").is_err());
    }

    #[test]
    fn amounts_become_exact_fen() {
        assert_eq!(fen("12.3").unwrap(), 1230);
        assert_eq!(fen("0.07").unwrap(), 7);
        assert_eq!(fen("1000000").unwrap(), 100_000_000);
        assert!(fen("1.234").unwrap_err().contains("2 decimals"));
        assert!(fen("-5").unwrap_err().contains("negative"));
        assert!(fen("1e5").is_err());
        assert!(fen("").is_err());
    }

    #[test]
    fn booleans_accept_chinese_yes_and_no() {
        assert!(boolean("是").unwrap());
        assert!(!boolean("FALSE").unwrap());
        assert!(boolean("yes").is_err());
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(10_000_000);
        assert!(text(&long, 1, 200).unwrap_err().len() < 120);
    }

    #[test]
    fn whole_numbers_respect_their_range() {
        assert_eq!(int_in("12.0", 1, 20).unwrap(), 12);
        assert!(int_in("21", 1, 20).unwrap_err().contains("outside"));
        assert!(int_in("1.5", 1, 20).is_err());
    }
}
