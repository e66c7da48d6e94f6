//! A fitted model survives the trip through `model.json`: fit → save → load → score gives the
//! same scores, PDs, grades and reasons as the model in memory, and the artifact itself comes
//! back from its JSON equal to what was written.

use std::collections::HashMap;

use training::{fit, Column, ColumnData, Frame, Model, ModelArtifact, Settings, Value};

/// Deterministic credit-like data: three numeric characteristics (one U-shaped, one with
/// missing values and a special code) and one categorical, bads from a logistic of all four.
fn frame(n: usize) -> Frame {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut age, mut debt, mut income, mut sector, mut y) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let (a, d, i, s) = (next(), next(), next(), (next() * 4.0) as usize);
        let z = -2.0 + 1.5 * (a - 0.5).powi(2) * 4.0 + 1.2 * d - 0.8 * i + [0.0, 0.4, -0.3, 0.8][s];
        y.push(next() < 1.0 / (1.0 + (-z).exp()));
        age.push((18.0 + 60.0 * a).floor());
        debt.push(match next() {
            r if r < 0.05 => f64::NAN,
            r if r < 0.08 => -1.0,
            _ => (d * 100.0).round() / 10.0,
        });
        income.push(1000.0 * (1.0 + 9.0 * i));
        sector.push(Some(["farm", "shop", "works", "trade"][s]));
    }
    Frame::new(
        vec![
            Column::numeric("age", age),
            Column::numeric("debt_ratio", debt),
            Column::numeric("income", income),
            Column::categorical("sector", sector),
        ],
        y,
    )
}

fn applicant(frame: &Frame, row: usize) -> HashMap<String, Value> {
    frame
        .columns
        .iter()
        .map(|c| {
            let v = match &c.data {
                ColumnData::Numeric(v) if v[row].is_nan() => Value::Missing,
                ColumnData::Numeric(v) => Value::Number(v[row]),
                ColumnData::Categorical(d) => d
                    .get(row)
                    .map_or(Value::Missing, |s| Value::Category(s.into())),
            };
            (c.name.clone(), v)
        })
        .collect()
}

#[test]
fn fit_save_load_score_gives_the_same_answers() {
    let data = frame(6000);
    let settings = Settings::default().special_values(vec![-1.0]);
    let fitted = fit(&data, &settings).unwrap();
    let dir = std::env::temp_dir().join(format!("cb-round-trip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.json");
    fitted.model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(
        loaded.characteristics().collect::<Vec<_>>(),
        fitted.model.characteristics().collect::<Vec<_>>()
    );
    assert!(fitted.model.characteristics().count() >= 2);
    let before = fitted.model.score_frame(&data).unwrap();
    let after = loaded.score_frame(&data).unwrap();
    assert_eq!(before, after);
    // The one-applicant path too, with its PD, grade and reasons, on every 7th row.
    for row in (0..data.n_rows()).step_by(7) {
        let a = applicant(&data, row);
        let (x, y) = (fitted.model.score(&a).unwrap(), loaded.score(&a).unwrap());
        assert_eq!(x, y, "row {row}");
        assert_eq!(x.score, before[row], "row {row}");
    }
    // Scores spread: the round trip of a constant card would prove nothing.
    let (lo, hi) = (before.iter().min().unwrap(), before.iter().max().unwrap());
    assert!(hi - lo > 40, "{lo}..{hi}");
}

/// Two JSON values alike: same shape, keys and strings, numbers equal to within 4 ulps (serde_json's
/// default float parser may land one ulp off the written value; an integer must match exactly).
fn assert_alike(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs()),
                "{at}: {x} vs {y}"
            );
        }
        (J::Array(x), J::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: length");
            for (k, (u, v)) in x.iter().zip(y).enumerate() {
                assert_alike(u, v, &format!("{at}[{k}]"));
            }
        }
        (J::Object(x), J::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}: keys"
            );
            for (k, u) in x {
                assert_alike(u, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn the_artifact_survives_its_json() {
    let fitted = fit(&frame(3000), &Settings::default()).unwrap();
    let artifact: &ModelArtifact = fitted.model.artifact();
    let text = fitted.model.to_json().unwrap();
    let back: ModelArtifact = serde_json::from_str(&text).unwrap();
    // The written text, the artifact in memory and the one read back agree field by field.
    let written: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rewritten = serde_json::to_value(&back).unwrap();
    assert_alike(
        &written,
        &serde_json::to_value(artifact).unwrap(),
        "artifact",
    );
    assert_alike(&written, &rewritten, "artifact");
    assert_eq!(
        back.scorecard.characteristics.len(),
        artifact.scorecard.characteristics.len()
    );
    assert_eq!(back.selection.len(), artifact.selection.len());
    assert_eq!(back.training.trained_at, artifact.training.trained_at);
    assert_eq!(back.training.settings, artifact.training.settings);
    // Points are integers and survive exactly; so does the validating loader's view.
    let model = Model::from_json(&text).unwrap();
    for (x, y) in model
        .scorecard()
        .characteristics
        .iter()
        .zip(&artifact.scorecard.characteristics)
    {
        assert_eq!(x.name, y.name);
        assert_eq!(x.trend, y.trend);
        let points = |c: &training::scorecard::ScoredCharacteristic| {
            c.bins
                .iter()
                .map(|b| (b.rule.clone(), b.goods, b.bads, b.points))
                .collect::<Vec<_>>()
        };
        assert_eq!(points(x), points(y));
    }
    assert_eq!(
        model.scorecard().base_points,
        artifact.scorecard.base_points
    );
}
