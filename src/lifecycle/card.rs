//! The model card: what a validator reads and signs before a model may serve. Built from the
//! registry (metrics, data window, approvals) and the artifact (the scorecard); rendered as
//! HTML (readable in a browser, printable), text or JSON, in English or Chinese, by plain
//! functions any front end can call (the HTTP route and the console both do).

use serde::Serialize;

/// One grade's band: its score range, the PD the scorecard implies across it, and what the
/// out-of-time sample showed.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct GradeBandRow {
    pub grade: String,
    pub min_score: i32,
    /// None for the best grade (open above).
    pub max_score: Option<i32>,
    /// PD the scorecard implies at the band's lower and upper score ends.
    pub pd_at_min: f64,
    pub pd_at_max: Option<f64>,
    /// Mean expected PD of the out-of-time loans in the band.
    pub expected_pd: Option<f64>,
    pub oot_loans: usize,
    pub oot_bads: usize,
    pub observed_bad_rate: Option<f64>,
}

/// The grade/PD band table of `model` measured on its out-of-time evaluation.
pub fn grade_bands(model: &training::Model, eval: &training::Evaluation) -> Vec<GradeBandRow> {
    let card = model.scorecard();
    let mut rows = Vec::with_capacity(card.grades.len());
    for (i, band) in card.grades.iter().enumerate() {
        // Grades are best first: the band above this one starts at the previous minimum.
        let max_score = (i > 0).then(|| card.grades[i - 1].min_score - 1);
        let last = i + 1 == card.grades.len();
        let inside = |s: i32| (last || s >= band.min_score) && max_score.is_none_or(|m| s <= m);
        let (mut n, mut bads, mut pd_sum) = (0usize, 0usize, 0.0);
        for ((score, bad), pd) in eval.scores.iter().zip(&eval.target).zip(&eval.pd) {
            if inside(*score) {
                n += 1;
                bads += usize::from(*bad);
                pd_sum += pd;
            }
        }
        rows.push(GradeBandRow {
            grade: band.grade.clone(),
            min_score: band.min_score,
            max_score,
            pd_at_min: card.pd_of_score(band.min_score),
            pd_at_max: max_score.map(|m| card.pd_of_score(m)),
            expected_pd: (n > 0).then(|| pd_sum / n as f64),
            oot_loans: n,
            oot_bads: bads,
            observed_bad_rate: (n > 0).then(|| bads as f64 / n as f64),
        });
    }
    rows
}

/// The card's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "en" => Ok(Lang::En),
            "zh" => Ok(Lang::Zh),
            other => Err(format!("lang {other:?}: use en or zh")),
        }
    }
}

/// A p-value above this is flagged: the characteristic's contribution is not shown to differ
/// from none at the 5 % level.
pub const P_VALUE_FLAG: f64 = 0.05;

/// One bin of a characteristic on the card.
#[derive(Debug, Clone, Serialize)]
pub struct CardBin {
    pub bin: String,
    pub loans: u64,
    pub bad_rate: Option<f64>,
    pub woe: f64,
    pub points: i32,
}

/// One characteristic: its bins and its coefficient with a 95 % Wald interval and p-value.
#[derive(Debug, Clone, Serialize)]
pub struct CardCharacteristic {
    pub name: String,
    pub text_en: String,
    pub text_zh: String,
    pub iv: f64,
    pub coefficient: f64,
    pub std_error: Option<f64>,
    pub ci95: Option<(f64, f64)>,
    pub p_value: Option<f64>,
    /// p-value above `P_VALUE_FLAG` (or unknown): the validator must say why it stays.
    pub flagged: bool,
    pub bins: Vec<CardBin>,
}

/// Everything the card shows, from the registry and the artifact.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCard {
    pub id: String,
    pub product: String,
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub artifact_sha256: String,
    pub as_of: Option<String>,
    /// The data window (as of, matured through, training and out-of-time months).
    pub data_window: serde_json::Value,
    /// Row counts, bads and SHA-256 of the training and out-of-time samples.
    pub samples: serde_json::Value,
    pub intercept: f64,
    pub base_points: i32,
    pub characteristics: Vec<CardCharacteristic>,
    pub grade_bands: Vec<GradeBandRow>,
    /// The gates' verdict on the recorded inputs, with their figures.
    pub gate_verdict: super::gates::Verdict,
    pub gate_failures: Vec<String>,
    pub gate_inputs: serde_json::Value,
    pub challenger_oot_auc: Option<f64>,
    pub oot_auc: Option<f64>,
    pub approvals: Vec<crate::storage::models::ApprovalRecord>,
    pub promotions: Vec<crate::storage::models::PromotionRecord>,
}

/// Builds the card of a registered model from its row, its loaded model and its history.
pub fn build(
    row: &crate::storage::models::ModelRow,
    model: &training::Model,
    gates: &super::Gates,
    approvals: Vec<crate::storage::models::ApprovalRecord>,
    promotions: Vec<crate::storage::models::PromotionRecord>,
) -> ModelCard {
    let metrics: serde_json::Value = serde_json::from_str(&row.metrics).unwrap_or_default();
    let data_window: serde_json::Value = serde_json::from_str(&row.data_window).unwrap_or_default();
    let sc = model.scorecard();
    let characteristics = sc
        .characteristics
        .iter()
        .map(|c| CardCharacteristic {
            name: c.name.clone(),
            text_en: c.text_en.clone(),
            text_zh: c.text_zh.clone(),
            iv: c.iv,
            coefficient: c.coefficient,
            std_error: c.std_error,
            ci95: c
                .std_error
                .map(|se| (c.coefficient - 1.96 * se, c.coefficient + 1.96 * se)),
            p_value: c.p_value,
            flagged: c.p_value.is_none_or(|p| p > P_VALUE_FLAG),
            bins: c
                .bins
                .iter()
                .map(|b| CardBin {
                    bin: b.rule.label(),
                    loans: b.goods + b.bads,
                    bad_rate: b.bad_rate(),
                    woe: b.woe,
                    points: b.points,
                })
                .collect(),
        })
        .collect();
    let gate = super::gate_result(gates, &row.metrics);
    ModelCard {
        id: row.id.clone(),
        product: row.product.clone(),
        status: row.status.clone(),
        created_at: row.created_at,
        artifact_sha256: row.artifact_sha256.clone(),
        as_of: data_window["as_of"].as_str().map(str::to_owned),
        data_window,
        samples: metrics["samples"].clone(),
        intercept: sc.intercept,
        base_points: sc.base_points,
        characteristics,
        grade_bands: serde_json::from_value(metrics["grade_bands"].clone()).unwrap_or_default(),
        gate_verdict: gate.verdict,
        gate_failures: gate.failures,
        gate_inputs: metrics["gate_inputs"].clone(),
        challenger_oot_auc: metrics["retrain"]["challenger_oot_auc"].as_f64(),
        oot_auc: metrics["retrain"]["oot_auc"].as_f64(),
        approvals,
        promotions,
    }
}

/// The card's words in `lang`.
fn t(lang: Lang, key: &str) -> &'static str {
    let (en, zh) = match key {
        "title" => ("Model card", "模型卡"),
        "product" => ("Product", "产品"),
        "status" => ("Status", "状态"),
        "registered" => ("Registered", "登记时间"),
        "as_of" => ("As of", "数据截止日"),
        "window" => ("Data window", "数据窗口"),
        "artifact" => ("Artifact SHA-256", "模型文件 SHA-256"),
        "samples" => ("Samples", "样本"),
        "sample" => ("Sample", "样本"),
        "rows" => ("Rows", "行数"),
        "bads" => ("Bads", "坏样本数"),
        "from_to" => ("Disbursed", "放款日期"),
        "digest" => (
            "SHA-256 of loan ids and outcomes",
            "贷款编号与结果的 SHA-256",
        ),
        "train" => ("Training", "训练"),
        "oot" => ("Out-of-time", "跨时间验证"),
        "characteristics" => ("Characteristics", "特征"),
        "characteristic" => ("Characteristic", "特征"),
        "coefficient" => ("Coefficient", "系数"),
        "ci" => ("95% interval", "95% 置信区间"),
        "p" => ("p-value", "p 值"),
        "flag" => (
            "p-value above 0.05: not shown to contribute; the validator must justify keeping it",
            "p 值大于 0.05：贡献未获统计支持，验证人须说明保留理由",
        ),
        "bin" => ("Bin", "分箱"),
        "loans" => ("Loans", "贷款数"),
        "bad_rate" => ("Bad rate", "坏账率"),
        "woe" => ("WoE", "WoE"),
        "points" => ("Points", "分值"),
        "grades" => ("Grades and PD bands", "等级与违约概率区间"),
        "grade" => ("Grade", "等级"),
        "score_range" => ("Score range", "分数区间"),
        "expected_pd" => (
            "Expected PD (out-of-time mean)",
            "预期违约概率（跨时间样本均值）",
        ),
        "pd_range" => ("PD at the range's ends", "区间两端的违约概率"),
        "observed" => (
            "Observed bad rate (out-of-time)",
            "实际坏账率（跨时间样本）",
        ),
        "gates" => ("Promotion gates", "上线门槛"),
        "verdict" => ("Verdict", "结论"),
        "failures" => ("Failed gates", "未通过的门槛"),
        "none" => ("none", "无"),
        "oot_auc" => ("Out-of-time AUC", "跨时间 AUC"),
        "challenger" => (
            "Challenger (tree) out-of-time AUC",
            "挑战者模型（树模型）跨时间 AUC",
        ),
        "approvals" => ("Approvals and promotions", "审批与上线记录"),
        "signature" => (
            "Validated by (name, date, signature)",
            "验证人（姓名、日期、签字）",
        ),
        "intercept" => ("Intercept / base points", "截距 / 基础分"),
        _ => ("", ""),
    };
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(|| "—".to_owned(), |x| format!("{x:.digits$}"))
}

fn pct(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(|| "—".to_owned(), |x| format!("{:.2}%", x * 100.0))
}

/// The card as one self-contained HTML page (no scripts, no external files), laid out for the
/// screen and for print.
pub fn render_html(card: &ModelCard, lang: Lang) -> String {
    use std::fmt::Write;
    let mut h = String::new();
    let html_lang = if lang == Lang::Zh { "zh-CN" } else { "en" };
    let _ = write!(
        h,
        "<!doctype html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\"><title>{} {}</title>\
         <style>body{{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em}}\
         table{{border-collapse:collapse;margin:.5em 0 1em}}td,th{{border:1px solid #999;padding:.2em .5em;text-align:right}}\
         td.l,th.l{{text-align:left}}.flag{{background:#fde8e8}}h2{{border-bottom:1px solid #999}}\
         @media print{{body{{max-width:none;margin:0}}h2{{page-break-after:avoid}}table{{page-break-inside:avoid}}}}</style></head><body>",
        t(lang, "title"),
        esc(&card.id)
    );
    h.push_str(&render_html_body(card, lang));
    h.push_str("</body></html>");
    h
}

/// The card's content without the document around it (no head, styles or scripts), for a page
/// that shows it inline (the console) under its own styles.
pub fn render_html_body(card: &ModelCard, lang: Lang) -> String {
    use std::fmt::Write;
    let mut h = String::new();
    let _ = write!(h, "<h1>{} {}</h1><table>", t(lang, "title"), esc(&card.id));
    for (k, v) in [
        ("product", card.product.clone()),
        ("status", card.status.clone()),
        ("registered", card.created_at.to_rfc3339()),
        ("as_of", card.as_of.clone().unwrap_or_else(|| "—".into())),
        ("window", card.data_window.to_string()),
        ("artifact", card.artifact_sha256.clone()),
    ] {
        let _ = write!(
            h,
            "<tr><th class=l>{}</th><td class=l>{}</td></tr>",
            t(lang, k),
            esc(&v)
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<h2>{}</h2><table><tr><th class=l>{}</th><th>{}</th><th>{}</th><th class=l>{}</th><th class=l>{}</th></tr>",
        t(lang, "samples"), t(lang, "sample"), t(lang, "rows"), t(lang, "bads"), t(lang, "from_to"), t(lang, "digest")
    );
    for key in ["train", "oot"] {
        let s = &card.samples[key];
        let _ = write!(
            h,
            "<tr><td class=l>{}</td><td>{}</td><td>{}</td><td class=l>{} – {}</td><td class=l><code>{}</code></td></tr>",
            t(lang, key),
            s["rows"], s["bads"],
            esc(s["from"].as_str().unwrap_or("—")), esc(s["to"].as_str().unwrap_or("—")),
            esc(s["sha256"].as_str().unwrap_or("—"))
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<h2>{}</h2><p>{}: {:.4} / {}</p><table><tr><th class=l>{}</th><th>IV</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "characteristics"), t(lang, "intercept"), card.intercept, card.base_points,
        t(lang, "characteristic"), t(lang, "coefficient"), t(lang, "ci"), t(lang, "p")
    );
    for c in &card.characteristics {
        let text = if lang == Lang::Zh {
            &c.text_zh
        } else {
            &c.text_en
        };
        let _ = write!(
            h,
            "<tr{}><td class=l>{} ({})</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{}{}</td></tr>",
            if c.flagged { " class=flag" } else { "" },
            esc(&c.name), esc(text), c.iv, c.coefficient,
            c.ci95.map_or("—".into(), |(a, b)| format!("{a:.4} – {b:.4}")),
            num(c.p_value, 4),
            if c.flagged { " ⚑" } else { "" }
        );
    }
    let _ = write!(h, "</table><p>⚑ {}</p>", t(lang, "flag"));
    for c in &card.characteristics {
        let _ = write!(
            h,
            "<h3>{}</h3><table><tr><th class=l>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(&c.name), t(lang, "bin"), t(lang, "loans"), t(lang, "bad_rate"), t(lang, "woe"), t(lang, "points")
        );
        for b in &c.bins {
            let _ = write!(
                h,
                "<tr><td class=l>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{}</td></tr>",
                esc(&b.bin),
                b.loans,
                pct(b.bad_rate),
                b.woe,
                b.points
            );
        }
        h.push_str("</table>");
    }
    let _ = write!(
        h,
        "<h2>{}</h2><table><tr><th class=l>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "grades"), t(lang, "grade"), t(lang, "score_range"), t(lang, "pd_range"),
        t(lang, "expected_pd"), t(lang, "loans"), t(lang, "observed")
    );
    for g in &card.grade_bands {
        let _ = write!(
            h,
            "<tr><td class=l>{}</td><td>{} – {}</td><td>{} – {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g.grade), g.min_score, g.max_score.map_or("∞".into(), |m| m.to_string()),
            pct(Some(g.pd_at_min)), pct(g.pd_at_max), pct(g.expected_pd), g.oot_loans, pct(g.observed_bad_rate)
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<h2>{}</h2><table><tr><th class=l>{}</th><td class=l>{:?}</td></tr><tr><th class=l>{}</th><td class=l>{}</td></tr>\
         <tr><th class=l>{}</th><td class=l>{}</td></tr><tr><th class=l>{}</th><td class=l>{}</td></tr></table><pre>{}</pre>",
        t(lang, "gates"), t(lang, "verdict"), card.gate_verdict,
        t(lang, "oot_auc"), num(card.oot_auc, 4),
        t(lang, "challenger"), num(card.challenger_oot_auc, 4),
        t(lang, "failures"),
        if card.gate_failures.is_empty() { t(lang, "none").to_owned() } else { esc(&card.gate_failures.join("; ")) },
        esc(&serde_json::to_string_pretty(&card.gate_inputs).unwrap_or_default())
    );
    let _ = write!(h, "<h2>{}</h2><ul>", t(lang, "approvals"));
    for a in &card.approvals {
        let _ = write!(
            h,
            "<li>{} {} — {} — {}</li>",
            a.requested_at.to_rfc3339(),
            esc(&a.requested_by),
            esc(&a.reason),
            a.approved_by.as_deref().map_or("—".into(), esc)
        );
    }
    for p in &card.promotions {
        let _ = write!(
            h,
            "<li>{} {} {} {}{}</li>",
            p.promoted_at.to_rfc3339(),
            esc(&p.kind),
            esc(&p.promoted_by),
            p.reason.as_deref().map_or(String::new(), esc),
            p.approved_by
                .as_deref()
                .map_or(String::new(), |a| format!(" ({})", esc(a)))
        );
    }
    let _ = write!(
        h,
        "</ul><h2>{}</h2><p style=\"height:4em;border-bottom:1px solid #000\"></p>",
        t(lang, "signature")
    );
    h
}

/// How a characteristic differs between a champion and a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only the candidate uses it.
    Added,
    /// Only the champion uses it.
    Removed,
    /// Both use it with different bins.
    Rebinned,
    /// The same bins, different points.
    Reweighted,
}

/// One characteristic that changed from the champion to the candidate, with both sides' figures
/// (None on the side that lacks it).
#[derive(Debug, Clone, Serialize)]
pub struct CharacteristicChange {
    pub name: String,
    pub change: Change,
    pub champion_iv: Option<f64>,
    pub candidate_iv: Option<f64>,
    pub champion_coefficient: Option<f64>,
    pub candidate_coefficient: Option<f64>,
    pub champion_bins: Option<usize>,
    pub candidate_bins: Option<usize>,
}

/// The characteristics that changed from `champion` to `candidate`, the candidate's order first,
/// then those only the champion has. Unchanged ones (same bins, same points) are left out.
pub fn changed_characteristics(
    champion: &ModelCard,
    candidate: &ModelCard,
) -> Vec<CharacteristicChange> {
    let find = |card: &ModelCard, name: &str| {
        card.characteristics
            .iter()
            .find(|c| c.name == name)
            .cloned()
    };
    let change =
        |name: &str, kind, old: Option<&CardCharacteristic>, new: Option<&CardCharacteristic>| {
            CharacteristicChange {
                name: name.to_owned(),
                change: kind,
                champion_iv: old.map(|c| c.iv),
                candidate_iv: new.map(|c| c.iv),
                champion_coefficient: old.map(|c| c.coefficient),
                candidate_coefficient: new.map(|c| c.coefficient),
                champion_bins: old.map(|c| c.bins.len()),
                candidate_bins: new.map(|c| c.bins.len()),
            }
        };
    let mut out = Vec::new();
    for new in &candidate.characteristics {
        let kind = match find(champion, &new.name) {
            None => Some(Change::Added),
            Some(old) => {
                let labels = |c: &CardCharacteristic| {
                    c.bins.iter().map(|b| b.bin.clone()).collect::<Vec<_>>()
                };
                let points =
                    |c: &CardCharacteristic| c.bins.iter().map(|b| b.points).collect::<Vec<_>>();
                if labels(&old) != labels(new) {
                    Some(Change::Rebinned)
                } else if points(&old) != points(new) {
                    Some(Change::Reweighted)
                } else {
                    None
                }
            }
        };
        if let Some(kind) = kind {
            let old = find(champion, &new.name);
            out.push(change(&new.name, kind, old.as_ref(), Some(new)));
        }
    }
    for old in &champion.characteristics {
        if find(candidate, &old.name).is_none() {
            out.push(change(&old.name, Change::Removed, Some(old), None));
        }
    }
    out
}

/// The card as plain text (for a terminal or a ticket).
pub fn render_text(card: &ModelCard, lang: Lang) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{} {}", t(lang, "title"), card.id);
    let _ = writeln!(
        s,
        "{}: {}  {}: {}",
        t(lang, "product"),
        card.product,
        t(lang, "status"),
        card.status
    );
    let _ = writeln!(
        s,
        "{}: {}",
        t(lang, "as_of"),
        card.as_of.as_deref().unwrap_or("—")
    );
    let _ = writeln!(s, "{}: {}", t(lang, "window"), card.data_window);
    let _ = writeln!(s, "{}: {}", t(lang, "artifact"), card.artifact_sha256);
    for key in ["train", "oot"] {
        let x = &card.samples[key];
        let _ = writeln!(
            s,
            "{} {}: {} {}, {} {}, {}",
            t(lang, "sample"),
            t(lang, key),
            x["rows"],
            t(lang, "rows"),
            x["bads"],
            t(lang, "bads"),
            x["sha256"].as_str().unwrap_or("—")
        );
    }
    let _ = writeln!(s, "\n{}", t(lang, "characteristics"));
    for c in &card.characteristics {
        let _ = writeln!(
            s,
            "  {}{}: {} {:.4} ({} {}), {} {}",
            if c.flagged { "⚑ " } else { "" },
            c.name,
            t(lang, "coefficient"),
            c.coefficient,
            t(lang, "ci"),
            c.ci95
                .map_or("—".into(), |(a, b)| format!("{a:.4} – {b:.4}")),
            t(lang, "p"),
            num(c.p_value, 4)
        );
    }
    let _ = writeln!(s, "\n{}", t(lang, "grades"));
    for g in &card.grade_bands {
        let _ = writeln!(
            s,
            "  {} {}–{}  {} {}  {} {}",
            g.grade,
            g.min_score,
            g.max_score.map_or("∞".into(), |m| m.to_string()),
            t(lang, "expected_pd"),
            pct(g.expected_pd),
            t(lang, "observed"),
            pct(g.observed_bad_rate)
        );
    }
    let _ = writeln!(
        s,
        "\n{}: {:?}; {}",
        t(lang, "gates"),
        card.gate_verdict,
        if card.gate_failures.is_empty() {
            t(lang, "none").to_owned()
        } else {
            card.gate_failures.join("; ")
        }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn characteristic(name: &str, bins: &[(&str, i32)]) -> CardCharacteristic {
        CardCharacteristic {
            name: name.into(),
            text_en: String::new(),
            text_zh: String::new(),
            iv: 0.1,
            coefficient: 1.0,
            std_error: None,
            ci95: None,
            p_value: None,
            flagged: true,
            bins: bins
                .iter()
                .map(|(bin, points)| CardBin {
                    bin: (*bin).into(),
                    loans: 10,
                    bad_rate: None,
                    woe: 0.0,
                    points: *points,
                })
                .collect(),
        }
    }

    fn card_with(characteristics: Vec<CardCharacteristic>) -> ModelCard {
        ModelCard {
            id: "m".into(),
            product: "sme".into(),
            status: "candidate".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            artifact_sha256: String::new(),
            as_of: None,
            data_window: serde_json::Value::Null,
            samples: serde_json::Value::Null,
            intercept: 0.0,
            base_points: 0,
            characteristics,
            grade_bands: vec![],
            gate_verdict: super::super::gates::Verdict::Pass,
            gate_failures: vec![],
            gate_inputs: serde_json::Value::Null,
            challenger_oot_auc: None,
            oot_auc: None,
            approvals: vec![],
            promotions: vec![],
        }
    }

    #[test]
    fn changed_characteristics_name_added_removed_rebinned_and_reweighted_ones_only() {
        let champion = card_with(vec![
            characteristic("same", &[("< 1", 10), (">= 1", 20)]),
            characteristic("gone", &[("all", 5)]),
            characteristic("rebinned", &[("< 1", 10), (">= 1", 20)]),
            characteristic("reweighted", &[("< 1", 10), (">= 1", 20)]),
        ]);
        let candidate = card_with(vec![
            characteristic("new", &[("all", 7)]),
            characteristic("same", &[("< 1", 10), (">= 1", 20)]),
            characteristic("rebinned", &[("< 2", 10), (">= 2", 20)]),
            characteristic("reweighted", &[("< 1", 12), (">= 1", 20)]),
        ]);
        let changes: Vec<(String, Change)> = changed_characteristics(&champion, &candidate)
            .into_iter()
            .map(|c| (c.name, c.change))
            .collect();
        assert_eq!(
            changes,
            vec![
                ("new".into(), Change::Added),
                ("rebinned".into(), Change::Rebinned),
                ("reweighted".into(), Change::Reweighted),
                ("gone".into(), Change::Removed),
            ]
        );
        assert!(changed_characteristics(&champion, &champion).is_empty());
    }

    #[test]
    fn every_word_of_the_card_exists_in_both_languages() {
        for key in [
            "title",
            "product",
            "status",
            "registered",
            "as_of",
            "window",
            "artifact",
            "samples",
            "sample",
            "rows",
            "bads",
            "from_to",
            "digest",
            "train",
            "oot",
            "characteristics",
            "characteristic",
            "coefficient",
            "ci",
            "p",
            "flag",
            "bin",
            "loans",
            "bad_rate",
            "woe",
            "points",
            "grades",
            "grade",
            "score_range",
            "expected_pd",
            "pd_range",
            "observed",
            "gates",
            "verdict",
            "failures",
            "none",
            "oot_auc",
            "challenger",
            "approvals",
            "signature",
            "intercept",
        ] {
            assert!(!t(Lang::En, key).is_empty(), "{key}");
            assert!(!t(Lang::Zh, key).is_empty(), "{key}");
        }
        assert_eq!("zh".parse::<Lang>(), Ok(Lang::Zh));
        assert!("fr".parse::<Lang>().is_err());
    }
}
