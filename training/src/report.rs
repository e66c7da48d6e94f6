//! The training report: one self-contained HTML page (inline SVG, no external assets) with ROC,
//! KS, score distributions, bad rate and points per bin for every characteristic, and the
//! tables a risk team signs off (metrics side by side, selection log, points, gains/calibration).

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::error::{Result, TrainingError};
use crate::fit::FittedModel;
use crate::metrics::{ks_curve, roc_curve, GroupRow, Metrics};
use crate::selection::Decision;

/// The rendered report: the page and each chart as its own SVG file.
pub struct Report {
    pub html: String,
    /// (file name, SVG text)
    pub charts: Vec<(String, String)>,
}

impl Report {
    /// Writes `report.html` and `charts/*.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| TrainingError::Io { path, source }
        };
        let charts = dir.join("charts");
        std::fs::create_dir_all(&charts).map_err(io(&charts))?;
        for (name, svg) in &self.charts {
            let p = charts.join(name);
            std::fs::write(&p, svg).map_err(io(&p))?;
        }
        let p = dir.join("report.html");
        std::fs::write(&p, &self.html).map_err(io(&p))
    }
}

fn chart_err(chart: &str) -> impl Fn(String) -> TrainingError + '_ {
    move |message| TrainingError::Report {
        chart: chart.to_owned(),
        message,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the report of a fitted model.
pub fn render(fitted: &FittedModel) -> Result<Report> {
    let a = fitted.model.artifact();
    let ev = &fitted.evaluation;
    let risk: Vec<f64> = ev.pd.clone();
    let mut charts = Vec::new();
    charts.push((
        "roc.svg".to_owned(),
        roc_svg(&risk, &ev.challenger_pd, &ev.target).map_err(chart_err("roc"))?,
    ));
    charts.push((
        "ks.svg".to_owned(),
        ks_svg(&risk, &ev.target).map_err(chart_err("ks"))?,
    ));
    charts.push((
        "score_distribution.svg".to_owned(),
        distribution_svg(&ev.scores, &ev.target).map_err(chart_err("score distribution"))?,
    ));
    for (i, c) in a.scorecard.characteristics.iter().enumerate() {
        let labels: Vec<String> = c.bins.iter().map(|b| b.rule.label()).collect();
        let rates: Vec<f64> = c.bins.iter().map(|b| b.bad_rate().unwrap_or(0.0)).collect();
        let points: Vec<i32> = c.bins.iter().map(|b| b.points).collect();
        let svg = bins_svg(&c.name, &labels, &rates, &points).map_err(chart_err(&c.name))?;
        charts.push((format!("bins_{i:02}.svg"), svg));
    }

    let mut h = String::new();
    let _ = write!(h, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Scorecard report</title><style>");
    h.push_str("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}.chart{display:inline-block;vertical-align:top}");
    h.push_str("</style></head><body><h1>Scorecard report</h1>");
    let t = &a.training;
    let _ = write!(
        h,
        "<p>Trained {} on {} rows ({} bads, bad rate {:.4}); evaluated on {} rows ({}). Input SHA-256: <code>{}</code>. Fit time {:.2} s.</p>",
        t.trained_at.to_rfc3339(),
        t.rows,
        t.bads,
        t.bad_rate,
        t.test_rows,
        esc(&t.evaluated_on),
        t.input_sha256.as_deref().unwrap_or("n/a"),
        t.seconds
    );
    let sc = &a.scorecard;
    let _ = write!(h, "<p>Scaling: {} points at {}:1 good:bad odds, PDO {} (factor {:.3}, offset {:.3}). Base points {}.</p>", sc.scaling.base_score, sc.scaling.base_odds, sc.scaling.pdo, sc.factor, sc.offset, sc.base_points);
    h.push_str("<h2>Performance</h2><table><tr><th class=l>model</th><th>sample</th><th>rows</th><th>AUC</th><th>KS</th><th>Gini</th><th>Brier</th><th>log loss</th></tr>");
    let mut row = |name: &str, sample: &str, m: &Metrics| {
        let _ = write!(h, "<tr><td class=l>{name}</td><td>{sample}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.5}</td><td>{:.5}</td></tr>", m.rows, m.auc, m.ks, m.gini, m.brier, m.log_loss);
    };
    row("scorecard", "train", &a.metrics.train);
    row("scorecard", "test", &a.metrics.test);
    if let Some(m) = &a.metrics.challenger_test {
        row("decision tree (challenger)", "test", m);
    }
    h.push_str("</table>");
    for (name, _) in charts.iter().take(3) {
        let svg = &charts.iter().find(|c| &c.0 == name).expect("just pushed").1;
        let _ = write!(h, "<div class=chart>{svg}</div>");
    }
    h.push_str("<h2>Gains and calibration (test, scorecard, riskiest decile first)</h2>");
    gains_table(&mut h, &a.metrics.test.gains);
    h.push_str("<h2>Characteristics</h2><table><tr><th class=l>characteristic</th><th class=l>code</th><th>IV</th><th>coefficient</th><th>std. error</th><th>p-value</th></tr>");
    let _ = write!(
        h,
        "<tr><td class=l>(intercept)</td><td></td><td></td><td>{:.4}</td><td>{}</td><td></td></tr>",
        sc.intercept,
        opt(sc.intercept_std_error)
    );
    for c in &sc.characteristics {
        let _ = write!(h, "<tr><td class=l>{}</td><td class=l>{}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{}</td></tr>", esc(&c.name), esc(&c.code), c.iv, c.coefficient, opt(c.std_error), opt(c.p_value));
    }
    h.push_str("</table><h3>Selection log</h3><table><tr><th class=l>characteristic</th><th>IV</th><th class=l>decision</th></tr>");
    for r in &a.selection {
        let d = match &r.decision {
            Decision::Selected => "selected".to_owned(),
            Decision::LowIv { min_iv } => format!("dropped: IV below {min_iv}"),
            Decision::Correlated { with, correlation } => format!(
                "dropped: WoE correlation {correlation:.3} with {}",
                esc(with)
            ),
            Decision::WrongSign { coefficient } => {
                format!("dropped: wrong-sign coefficient {coefficient:.4}")
            }
            Decision::Unusable { reason } => format!("skipped: {}", esc(reason)),
        };
        let d = match &r.note {
            Some(n) => format!("{d} ({})", esc(n)),
            None => d,
        };
        let _ = write!(
            h,
            "<tr><td class=l>{}</td><td>{:.4}</td><td class=l>{d}</td></tr>",
            esc(&r.name),
            r.iv
        );
    }
    if let Some(t) = &a.tuning {
        tuning_section(&mut h, t);
    }
    h.push_str("</table><h2>Points per bin</h2><p>Missing values score in the missing bin; a category never seen in training scores in the unseen bin (WoE 0, 0 points: the average applicant).</p>");
    for (i, c) in sc.characteristics.iter().enumerate() {
        let _ = write!(h, "<h3>{} <small>({}, trend {:?})</small></h3><table><tr><th class=l>bin</th><th>goods</th><th>bads</th><th>bad rate</th><th>WoE</th><th>points</th></tr>", esc(&c.name), esc(&c.code), c.trend);
        for b in &c.bins {
            let rate = b.bad_rate().map_or("–".into(), |r| format!("{r:.4}"));
            let _ = write!(h, "<tr><td class=l>{}</td><td>{}</td><td>{}</td><td>{rate}</td><td>{:.4}</td><td>{}</td></tr>", esc(&b.rule.label()), b.goods, b.bads, b.woe, b.points);
        }
        let _ = write!(h, "</table><div class=chart>{}</div>", charts[3 + i].1);
    }
    h.push_str("</body></html>\n");
    Ok(Report { html: h, charts })
}

fn opt(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.4}"))
}

fn gains_table(h: &mut String, rows: &[GroupRow]) {
    h.push_str("<table><tr><th>decile</th><th>rows</th><th>bads</th><th>bad rate</th><th>mean PD</th><th>PD range</th><th>cum. bads</th><th>cum. goods</th><th>lift</th></tr>");
    for r in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}–{:.4}</td><td>{:.3}</td><td>{:.3}</td><td>{:.2}</td></tr>",
            r.group, r.rows, r.bads, r.bad_rate, r.mean_pd, r.min_pd, r.max_pd, r.cum_bad_share, r.cum_good_share, r.lift
        );
    }
    h.push_str("</table>");
}

type Svg = std::result::Result<String, String>;

fn thin<T: Copy>(v: &[T], max: usize) -> Vec<T> {
    let step = v.len().div_ceil(max).max(1);
    let mut out: Vec<T> = v.iter().step_by(step).copied().collect();
    if let Some(&last) = v.last() {
        out.push(last);
    }
    out
}

fn roc_svg(pd: &[f64], challenger: &[f64], bad: &[bool]) -> Svg {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (420, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut ch = ChartBuilder::on(&root)
            .caption("ROC (test)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(|e| e.to_string())?;
        ch.configure_mesh()
            .x_desc("false positive rate")
            .y_desc("true positive rate")
            .draw()
            .map_err(|e| e.to_string())?;
        ch.draw_series(LineSeries::new(thin(&roc_curve(pd, bad), 400), &BLUE))
            .map_err(|e| e.to_string())?
            .label("scorecard")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], BLUE));
        if !challenger.is_empty() {
            ch.draw_series(LineSeries::new(
                thin(&roc_curve(challenger, bad), 400),
                &RED,
            ))
            .map_err(|e| e.to_string())?
            .label("tree")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], RED));
        }
        ch.draw_series(LineSeries::new(
            vec![(0.0, 0.0), (1.0, 1.0)],
            &BLACK.mix(0.3),
        ))
        .map_err(|e| e.to_string())?;
        ch.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(s)
}

fn ks_svg(pd: &[f64], bad: &[bool]) -> Svg {
    let curve = thin(&ks_curve(pd, bad), 400);
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (420, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut ch = ChartBuilder::on(&root)
            .caption("KS (test)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(|e| e.to_string())?;
        ch.configure_mesh()
            .x_desc("share of applicants, riskiest first")
            .draw()
            .map_err(|e| e.to_string())?;
        ch.draw_series(LineSeries::new(curve.iter().map(|p| (p.0, p.1)), &RED))
            .map_err(|e| e.to_string())?
            .label("cum. bads")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], RED));
        ch.draw_series(LineSeries::new(curve.iter().map(|p| (p.0, p.2)), &BLUE))
            .map_err(|e| e.to_string())?
            .label("cum. goods")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], BLUE));
        ch.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(s)
}

fn distribution_svg(scores: &[i32], bad: &[bool]) -> Svg {
    let (lo, hi) = (
        scores.iter().min().copied().unwrap_or(0),
        scores.iter().max().copied().unwrap_or(1),
    );
    let width = ((hi - lo) / 30).max(1);
    let nb = ((hi - lo) / width + 1) as usize;
    let (mut g, mut b) = (vec![0f64; nb], vec![0f64; nb]);
    for (&s, &y) in scores.iter().zip(bad) {
        let k = ((s - lo) / width) as usize;
        if y {
            b[k] += 1.0
        } else {
            g[k] += 1.0
        }
    }
    let (tg, tb) = (
        g.iter().sum::<f64>().max(1.0),
        b.iter().sum::<f64>().max(1.0),
    );
    let top = g
        .iter()
        .map(|x| x / tg)
        .chain(b.iter().map(|x| x / tb))
        .fold(0.0, f64::max)
        * 1.1;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (420, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let x0 = lo as f64;
        let x1 = (lo + width * nb as i32) as f64;
        let mut ch = ChartBuilder::on(&root)
            .caption("Score distribution (test)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x1, 0f64..top.max(1e-9))
            .map_err(|e| e.to_string())?;
        ch.configure_mesh()
            .x_desc("score")
            .y_desc("share of class")
            .draw()
            .map_err(|e| e.to_string())?;
        let w = width as f64;
        ch.draw_series((0..nb).map(|k| {
            Rectangle::new(
                [
                    (x0 + k as f64 * w, 0.0),
                    (x0 + (k as f64 + 0.5) * w, g[k] / tg),
                ],
                BLUE.mix(0.6).filled(),
            )
        }))
        .map_err(|e| e.to_string())?
        .label("goods")
        .legend(|(x, y)| Rectangle::new([(x, y - 4), (x + 10, y + 4)], BLUE.mix(0.6).filled()));
        ch.draw_series((0..nb).map(|k| {
            Rectangle::new(
                [
                    (x0 + (k as f64 + 0.5) * w, 0.0),
                    (x0 + (k as f64 + 1.0) * w, b[k] / tb),
                ],
                RED.mix(0.6).filled(),
            )
        }))
        .map_err(|e| e.to_string())?
        .label("bads")
        .legend(|(x, y)| Rectangle::new([(x, y - 4), (x + 10, y + 4)], RED.mix(0.6).filled()));
        ch.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(s)
}

fn bins_svg(name: &str, labels: &[String], rates: &[f64], points: &[i32]) -> Svg {
    let n = labels.len();
    let top = rates.iter().copied().fold(0.0, f64::max).max(0.01) * 1.25;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (560, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut ch = ChartBuilder::on(&root)
            .caption(
                format!("{name}: bad rate (bars) and points per bin"),
                ("sans-serif", 14),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(0f64..n as f64, 0f64..top)
            .map_err(|e| e.to_string())?;
        ch.configure_mesh()
            .disable_x_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                labels
                    .get(i)
                    .map(|l| l.chars().take(14).collect())
                    .unwrap_or_default()
            })
            .y_desc("bad rate")
            .draw()
            .map_err(|e| e.to_string())?;
        ch.draw_series((0..n).map(|i| {
            Rectangle::new(
                [(i as f64 + 0.15, 0.0), (i as f64 + 0.85, rates[i])],
                BLUE.mix(0.5).filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
        ch.draw_series((0..n).map(|i| {
            Text::new(
                format!("{:+} pts", points[i]),
                (i as f64 + 0.2, rates[i] + top * 0.04),
                ("sans-serif", 12),
            )
        }))
        .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(s)
}

/// The cross-validation that chose the settings: method, chosen and best rows, the whole table.
/// Leaves the last table open, as the caller's next section closes it.
fn tuning_section(h: &mut String, t: &crate::tune::TuningReport) {
    let c = &t.chosen;
    let _ = write!(
        h,
        "</table><h3>Settings chosen by cross-validation</h3><p>{} on {} of {} training rows ({:.1} s): at most {} bins of at least {} % of the rows, IV ≥ {}, WoE correlation ≤ {}, L2 {} — the simplest card within one standard error of the best mean AUC ({}).</p>",
        esc(&t.method),
        t.rows,
        t.rows_available,
        t.seconds,
        c.max_bins,
        c.min_bin_share * 100.0,
        c.min_iv,
        c.max_correlation,
        c.l2_alpha,
        match t.rule {
            crate::tune::StandardErrorRule::Paired => {
                "paired: its mean fold-by-fold shortfall from the best within the standard error of those differences"
            }
            crate::tune::StandardErrorRule::BestSpread => "the best row's fold spread",
        }
    );
    for w in &t.warnings {
        let _ = write!(h, "<p>Warning: {}</p>", esc(w));
    }
    h.push_str("<table><tr><th>max bins</th><th>min bin share</th><th>min IV</th><th>max correlation</th><th>L2</th><th>mean AUC</th><th>std. error</th><th>shortfall from best</th><th>paired std. error</th><th>characteristics</th><th class=l></th></tr>");
    for r in &t.table {
        let k = &r.candidate;
        let mark = if *k == t.chosen {
            "chosen"
        } else if *k == t.best {
            "best mean"
        } else {
            ""
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.1}</td><td class=l>{mark}</td></tr>",
            k.max_bins, k.min_bin_share, k.min_iv, k.max_correlation, k.l2_alpha, r.mean_auc, r.std_error, r.shortfall, r.paired_std_error, r.characteristics
        );
    }
}
