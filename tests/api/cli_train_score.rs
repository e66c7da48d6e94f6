//! The `train` and `score` commands end to end through the built binary, including the
//! failure paths product.md promises clear one-line errors for.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::Digest;

/// The day the CLI runs that depend on a date are run as of: the same day as the test apps'
/// clock (`crate::common::TEST_NOW`), never the wall clock.
const AS_OF: &str = "2026-11-28";

fn bin() -> Command {
    crate::common::process::pinned_binary()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small credit table: income (numeric, some missing), sector (categorical), noise; bads
/// more likely at low income and in sector "c". Deterministic.
fn write_data(dir: &Path, name: &str, rows: usize, seed: u64) -> PathBuf {
    let mut s = String::from("id,income,sector,noise,default\n");
    let mut x = seed;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as f64 / (1u64 << 31) as f64
    };
    for i in 0..rows {
        let income = 1000.0 + 9000.0 * next();
        let sector = ["a", "b", "c"][(next() * 3.0) as usize % 3];
        let z = -1.0 - (income - 5500.0) / 2000.0 + if sector == "c" { 1.0 } else { 0.0 };
        let bad = next() < 1.0 / (1.0 + (-z).exp());
        let income_cell = if i % 17 == 0 {
            String::new()
        } else {
            format!("{income:.0}")
        };
        s.push_str(&format!(
            "A{i},{income_cell},{sector},{:.3},{}\n",
            next(),
            bad as u8
        ));
    }
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn train_then_score_writes_model_report_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path(), "train.csv", 3000, 1);
    let out = dir.path().join("m");
    let o = run(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "default",
        "--exclude",
        "id",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(summary["test_auc"].as_f64().unwrap() > 0.7, "{summary}");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("<svg") && report.contains("income"));
    assert!(
        !report.contains("http://") || report.contains("http://www.w3.org/2000/svg"),
        "no external assets"
    );

    let model = out.join("model.json");
    let scored = dir.path().join("scores.csv");
    let o = run(&[
        "score",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        scored.to_str().unwrap(),
        "--id-column",
        "id",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&scored).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,score,pd,grade,reason_1,reason_2,reason_3,reason_4"
    );
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first[0], "A0");
    assert!(first[1].parse::<i32>().is_ok() && first[2].parse::<f64>().is_ok());
    assert_eq!(text.lines().count(), 3001);

    // Without --id-column the id is the row number.
    let o = run(&[
        "score",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(stdout.lines().nth(2).unwrap().starts_with("2,"));
}

#[test]
fn train_with_a_test_file_measures_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let train = write_data(dir.path(), "train.csv", 2000, 2);
    let test = write_data(dir.path(), "test.csv", 700, 3);
    let out = dir.path().join("m");
    let o = run(&[
        "train",
        "--data",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--target",
        "default",
        "--exclude",
        "id",
        "--min-bin-share",
        "0.04",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    // A setting given by flag is fixed: every tuned candidate and the fit use it.
    assert_eq!(model["training"]["settings"]["min_bin_share"], 0.04);
    let table = model["tuning"]["table"].as_array().unwrap();
    assert!(!table.is_empty());
    assert!(
        table.iter().all(|r| r["min_bin_share"] == 0.04),
        "{table:?}"
    );
    assert_eq!(model["training"]["test_rows"], 700);
    assert_eq!(model["training"]["evaluated_on"], "test file");
    assert_eq!(
        model["training"]["input_sha256"].as_str().unwrap().len(),
        64
    );
}

fn fails_with(args: &[&str], needle: &str) {
    let o = run(args);
    assert!(!o.status.success(), "expected failure for {args:?}");
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "one line: {e}");
    assert!(e.contains(needle), "`{needle}` not in: {e}");
}

#[test]
fn train_failures_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = write_data(d, "ok.csv", 500, 4);
    let out = d.join("m");
    let (g, o) = (good.to_str().unwrap(), out.to_str().unwrap());
    fails_with(
        &["train", "--data", g, "--target", "nope", "--out", o],
        "no column `nope`",
    );

    let empty = d.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    fails_with(
        &[
            "train",
            "--data",
            empty.to_str().unwrap(),
            "--target",
            "default",
            "--out",
            o,
        ],
        "empty",
    );

    let header_only = d.join("header.csv");
    std::fs::write(&header_only, "income,default\n").unwrap();
    fails_with(
        &[
            "train",
            "--data",
            header_only.to_str().unwrap(),
            "--target",
            "default",
            "--out",
            o,
        ],
        "no data rows",
    );

    let no_bads = d.join("nobads.csv");
    std::fs::write(&no_bads, "income,default\n1,0\n2,0\n3,0\n").unwrap();
    fails_with(
        &[
            "train",
            "--data",
            no_bads.to_str().unwrap(),
            "--target",
            "default",
            "--out",
            o,
        ],
        "has no bads",
    );

    let no_goods = d.join("nogoods.csv");
    std::fs::write(&no_goods, "income,default\n1,1\n2,1\n").unwrap();
    fails_with(
        &[
            "train",
            "--data",
            no_goods.to_str().unwrap(),
            "--target",
            "default",
            "--out",
            o,
        ],
        "has no goods",
    );

    // Junk in a numeric column, small files (a few rows per parsing piece) and a large one
    // (the junk past the rows sampled to decide column kinds): the error names the file line,
    // the column and the value.
    for (rows, junk_row, value) in [(50, 3, "12x"), (12, 9, "abc"), (5000, 4321, "abc")] {
        let mut text = String::from("id,income,default\n");
        for i in 0..rows {
            let income = if i == junk_row {
                value.to_string()
            } else {
                (i * 7 % 101).to_string()
            };
            text.push_str(&format!("R{i},{income},{}\n", i % 2));
        }
        let junk = d.join(format!("junk{rows}.csv"));
        std::fs::write(&junk, text).unwrap();
        let args = [
            "train",
            "--data",
            junk.to_str().unwrap(),
            "--target",
            "default",
            "--exclude",
            "id",
            "--out",
            o,
        ];
        // data row `junk_row` (0-based) is file line junk_row + 2 (the header is line 1)
        let line = junk_row + 2;
        fails_with(&args, &format!("line {line}, column 2 (`income`)"));
        fails_with(&args, &format!("`{value}` is not a number"));
        assert!(!out.join("model.json").exists(), "nothing written");
    }
}

#[test]
fn scoring_a_file_without_a_model_column_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = write_data(d, "train.csv", 2000, 5);
    let out = d.join("m");
    let o = run(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "default",
        "--exclude",
        "id,noise",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lacking = d.join("lacking.csv");
    std::fs::write(&lacking, "id,sector\nA,a\n").unwrap();
    let scored = d.join("s.csv");
    let model = out.join("model.json");
    fails_with(
        &[
            "score",
            "--model",
            model.to_str().unwrap(),
            "--data",
            lacking.to_str().unwrap(),
            "--out",
            scored.to_str().unwrap(),
        ],
        "no column `income`",
    );
    assert!(!scored.exists());

    let junk = d.join("junk.csv");
    std::fs::write(&junk, "id,income,sector\nA,100,a\nB,lots,b\n").unwrap();
    fails_with(
        &[
            "score",
            "--model",
            model.to_str().unwrap(),
            "--data",
            junk.to_str().unwrap(),
            "--out",
            scored.to_str().unwrap(),
        ],
        "line 3, column 2 (`income`)",
    );
    assert!(!scored.exists());
}

/// The default (`auto-shaped`, issue 16) lets a U-shaped characteristic keep its valley, as
/// `--trend auto-shaped` does; `--trend auto` keeps every characteristic ascending or descending;
/// an unknown trend is refused with the choices.
#[test]
fn train_trend_option_chooses_the_bin_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = String::from("age,default\n");
    for i in 0..6000u64 {
        let age = 20 + i % 50;
        let p = 0.04 + 0.3 * ((age as f64 - 45.0) / 25.0).powi(2);
        let u = (i.wrapping_mul(2654435761) % 10007) as f64 / 10007.0;
        text.push_str(&format!("{age},{}\n", (u < p) as u8));
    }
    let data = d.join("u.csv");
    std::fs::write(&data, text).unwrap();
    let trends = |extra: &[&str]| -> Vec<String> {
        let out = d.join("m");
        let mut args = vec![
            "train",
            "--data",
            data.to_str().unwrap(),
            "--target",
            "default",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let model: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap())
                .unwrap();
        model["scorecard"]["characteristics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["trend"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(trends(&["--trend", "auto-shaped"]), vec!["valley"]);
    assert_eq!(
        trends(&[]),
        vec!["valley"],
        "the default considers peaks and valleys"
    );
    for t in trends(&["--trend", "auto"]) {
        assert!(t == "ascending" || t == "descending", "{t}");
    }
    let o = run(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "default",
        "--trend",
        "wiggly",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("auto-shaped"), "{}", stderr(&o));
}

/// `retrain --export-dir` writes the point-in-time training and out-of-time samples, and
/// `train` on those files reproduces the retrained candidate's out-of-time AUC exactly: the
/// export is the data the candidate was fitted on, and the two paths fit the same way.
///
/// It runs in a checkout-like directory holding a copy of the committed `models/`: the issue saw a
/// CLI `retrain` overwrite `models/sme/sme-2026Q4-1/`. The artifact now goes to the data
/// directory's content-addressed store, and the committed files stay byte for byte.
#[test]
fn retrain_exports_its_samples_and_train_reproduces_the_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let committed = copy_committed_models(d);
    let env = |c: &mut Command| {
        c.current_dir(d)
            .env("CREDITBRIDGE_DATA_DIR", d.join("data"))
            .env_remove("CREDITBRIDGE_MODELS_DIR")
            .env_remove("CREDITBRIDGE_DATABASE_URL")
            .env("CREDITBRIDGE_LOG", "warn");
    };
    let mut demo = bin();
    env(&mut demo);
    let o = demo
        .args([
            "demo",
            "--enterprises",
            "1500",
            "--households",
            "1500",
            "--no-serve",
            "--as-of",
            AS_OF,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let exp = d.join("export");
    let mut retrain = bin();
    env(&mut retrain);
    let o = retrain
        .args([
            "retrain",
            "--product",
            "sme",
            "--as-of",
            AS_OF,
            "--export-dir",
            exp.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(files_under_models(d), committed, "models/ untouched");
    let digest = r["artifact_sha256"].as_str().unwrap();
    let artifact = d.join("data/models/sha256").join(format!("{digest}.json"));
    assert_eq!(r["artifact"], artifact.display().to_string());
    let bytes = std::fs::read(&artifact).unwrap();
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), digest);
    assert!(r["id"].as_str().unwrap().starts_with("sme-"), "{r}");
    let export = &r["export"];
    assert_eq!(export["train"]["rows"], r["rows_train"]);
    assert_eq!(export["oot"]["rows"], r["rows_oot"]);
    let categorical: Vec<&str> = export["categorical"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(categorical.contains(&"tax_grade") && categorical.contains(&"region"));
    let train = std::fs::read_to_string(exp.join("train.csv")).unwrap();
    assert!(train.starts_with("loan_id,") && train.lines().next().unwrap().ends_with(",bad"));
    assert_eq!(
        train.lines().count() as u64 - 1,
        r["rows_train"].as_u64().unwrap()
    );

    let out = d.join("m");
    let o = run(&[
        "train",
        "--data",
        exp.join("train.csv").to_str().unwrap(),
        "--test",
        exp.join("oot.csv").to_str().unwrap(),
        "--target",
        "bad",
        "--exclude",
        "loan_id",
        "--categorical",
        &categorical.join(","),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (a, b) = (
        t["test_auc"].as_f64().unwrap(),
        r["oot_auc"].as_f64().unwrap(),
    );
    assert!(
        (a - b).abs() < 1e-12,
        "train on the export {a} vs retrain {b}"
    );
}

/// Copies the repository's committed `models/` into `d/models` and returns every file's path
/// (relative) and bytes.
fn copy_committed_models(d: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut stack = vec![from.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let to = d.join("models").join(p.strip_prefix(&from).unwrap());
            if p.is_dir() {
                std::fs::create_dir_all(&to).unwrap();
                stack.push(p);
            } else {
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(&p, &to).unwrap();
            }
        }
    }
    files_under_models(d)
}

/// Every file under `d/models`, sorted, with its bytes.
fn files_under_models(d: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let root = d.join("models");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(&root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}
