//! The synthetic city: determinism, identifiers that pass their checks unless injected as
//! broken, the feed contract's rules, and the grade/bad-rate ordering domain.md describes.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::NaiveDate;
use creditbridge::domain::{FarmerGrade, ResidentId, TaxGrade, Uscc};
use creditbridge::simulator::{generate, Config, Month};

fn config(enterprises: u64, households: u64, inject: f64) -> Config {
    Config {
        enterprises,
        households,
        seed: 7,
        start: Month::new(2022, 1),
        end: Month::new(2025, 6),
        inject_errors: inject,
    }
}

fn read(dir: &Path, file: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

#[test]
fn the_same_seed_and_arguments_give_byte_identical_files() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(&config(600, 600, 0.01), a.path()).unwrap();
    generate(&config(600, 600, 0.01), b.path()).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "7 feeds, truth.csv and injected-errors.csv");
    for name in names {
        let (x, y) = (
            std::fs::read(a.path().join(&name)).unwrap(),
            std::fs::read(b.path().join(&name)).unwrap(),
        );
        assert!(x == y, "{name:?} differs");
    }
    let c = tempfile::tempdir().unwrap();
    generate(
        &Config {
            seed: 8,
            ..config(600, 600, 0.01)
        },
        c.path(),
    )
    .unwrap();
    assert_ne!(
        std::fs::read(a.path().join("enterprises.csv")).unwrap(),
        std::fs::read(c.path().join("enterprises.csv")).unwrap()
    );
}

/// Lines (file, line) listed as broken in the sidecar.
fn injected(dir: &Path) -> HashSet<(String, usize)> {
    if !dir.join("injected-errors.csv").exists() {
        return HashSet::new();
    }
    read(dir, "injected-errors.csv")
        .into_iter()
        .map(|r| (r["file"].clone(), r["line"].parse().unwrap()))
        .collect()
}

fn date_ok(s: &str) -> bool {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Checks every row of every feed against the rules of docs/feeds.md that the generator owns;
/// returns the (file, line) pairs that break one.
fn violations(dir: &Path) -> HashSet<(String, usize)> {
    let mut bad = HashSet::new();
    let uscc_ok = |s: &str| Uscc::parse_strict(s).is_ok_and(|u| u.region_code().is_zhanjiang());
    let id_ok = |s: &str| ResidentId::parse_as_of(s, crate::common::test_today()).is_ok();
    let mut check = |file: &str, ok: &dyn Fn(&HashMap<String, String>) -> bool| {
        for (i, row) in read(dir, file).iter().enumerate() {
            if !ok(row) {
                bad.insert((file.to_owned(), i + 2));
            }
        }
    };
    check("enterprises.csv", &|r| {
        uscc_ok(&r["uscc"])
            && date_ok(&r["founded_on"])
            && (r["closed_on"].is_empty() || r["closed_on"] > r["founded_on"])
    });
    check("tax-grades.csv", &|r| {
        let Ok(grade) = r["grade"].parse::<TaxGrade>() else {
            return false;
        };
        let score = (!r["score"].is_empty()).then(|| r["score"].parse::<f64>().unwrap());
        uscc_ok(&r["uscc"])
            && date_ok(&r["effective_from"])
            && grade.check_agrees(score, r["direct_d"] == "true").is_ok()
    });
    check("tax-payments.csv", &|r| {
        let period = Month::parse(&r["period"]).unwrap();
        let amounts = ["revenue", "tax_due", "tax_paid"]
            .iter()
            .all(|c| r[*c].parse::<f64>().is_ok_and(|v| v >= 0.0));
        uscc_ok(&r["uscc"])
            && amounts
            && date_ok(&r["filed_on"])
            && r["filed_on"] >= period.first_day().to_string()
    });
    check("households.csv", &|r| {
        id_ok(&r["head_id"])
            && r["village_code"].len() == 12
            && r["village_code"].starts_with(&r["region_code"])
    });
    check("farmer-assessments.csv", &|r| {
        let Ok(grade) = r["grade"].parse::<FarmerGrade>() else {
            return false;
        };
        id_ok(&r["head_id"])
            && date_ok(&r["assessed_on"])
            && grade.check_agrees(r["score"].parse().unwrap()).is_ok()
    });
    check("public-records.csv", &|r| {
        let id = if r["subject_type"] == "person" {
            id_ok(&r["subject_id"])
        } else {
            uscc_ok(&r["subject_id"])
        };
        id && date_ok(&r["listed_at"]) && r["display_until"] > r["listed_at"]
    });
    check("loan-outcomes.csv", &|r| {
        let id = if r["product"] == "farmer" {
            id_ok(&r["subject_id"])
        } else {
            uscc_ok(&r["subject_id"])
        };
        let defaulted_on_ok = r["defaulted_on"].is_empty() == (r["defaulted"] != "true");
        id && date_ok(&r["disbursed_on"]) && defaulted_on_ok
    });
    bad
}

#[test]
fn every_row_follows_the_feed_rules_when_nothing_is_injected() {
    let dir = tempfile::tempdir().unwrap();
    generate(&config(500, 500, 0.0), dir.path()).unwrap();
    assert!(!dir.path().join("injected-errors.csv").exists());
    assert_eq!(violations(dir.path()), HashSet::new());
}

#[test]
fn exactly_the_injected_rows_break_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&config(500, 500, 0.02), dir.path()).unwrap();
    let listed = injected(dir.path());
    assert!(listed.len() > 100, "{} injected", listed.len());
    assert_eq!(summary.injected_errors as usize, listed.len());
    assert_eq!(violations(dir.path()), listed);
}

#[test]
fn bad_rates_fall_from_d_to_a_and_from_below_the_line_to_aaa() {
    let dir = tempfile::tempdir().unwrap();
    let s = generate(
        &Config {
            end: Month::new(2025, 12),
            ..config(6000, 6000, 0.0)
        },
        dir.path(),
    )
    .unwrap();
    let rate = |by: &std::collections::BTreeMap<String, creditbridge::simulator::BadRate>,
                g: &str| {
        by.get(g)
            .and_then(|b| b.bad_rate)
            .unwrap_or_else(|| panic!("no loans graded {g}"))
    };
    let sme = &s.sme.by_grade;
    // D loans are rare (banks seldom lend to D), so D is compared pooled with C.
    let cd = {
        let (c, d) = (&sme["C"], sme.get("D").cloned().unwrap_or_default());
        (c.bads + d.bads) as f64 / (c.loans + d.loans) as f64
    };
    assert!(
        rate(sme, "A") < rate(sme, "B") && rate(sme, "B") < cd,
        "{sme:?}"
    );
    let f = &s.farmer.by_grade;
    assert!(
        rate(f, "AAA") < rate(f, "AA")
            && rate(f, "AA") < rate(f, "A")
            && rate(f, "A") < rate(f, "none"),
        "{f:?}"
    );
    for p in [&s.sme, &s.farmer] {
        let bad_rate = p.bad_rate.unwrap();
        assert!((0.02..0.10).contains(&bad_rate), "bad rate {bad_rate}");
        let auc = p.oracle_auc.unwrap();
        assert!((0.72..0.90).contains(&auc), "oracle AUC {auc}");
    }
}

#[test]
fn truth_has_one_probability_per_loan() {
    let dir = tempfile::tempdir().unwrap();
    generate(&config(300, 300, 0.0), dir.path()).unwrap();
    let loans: Vec<String> = read(dir.path(), "loan-outcomes.csv")
        .into_iter()
        .map(|r| r["loan_id"].clone())
        .collect();
    let truth = read(dir.path(), "truth.csv");
    assert_eq!(
        truth
            .iter()
            .map(|r| r["loan_id"].clone())
            .collect::<Vec<_>>(),
        loans
    );
    for column in ["true_pd", "observable_pd"] {
        assert!(truth.iter().all(|r| r[column]
            .parse::<f64>()
            .is_ok_and(|p| (0.0..=1.0).contains(&p))));
    }
    // The hidden terms move the true PD away from the observable one for some loan.
    assert!(truth.iter().any(|r| r["true_pd"] != r["observable_pd"]));
}
