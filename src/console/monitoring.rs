//! Monitoring: for each product's champion, month by month over the last year, the grade mix of
//! live scores, the score's PSI and each characteristic's CSI against the training sample, the
//! bad rate by grade where outcomes are known (the champion's out-of-time sample), the approval
//! rate and live bad rate by grade (delivered scores joined to the loans that followed), and the
//! shadow candidate against the champion (grade agreement, Spearman, PSI). Charts are SVG drawn
//! here (`charts`); every figure is also in the table beside its chart. The figures are
//! `lifecycle::monitoring::history`'s, read through `AppState`: nothing is computed here.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};

use super::charts::{self, fig, pct, Series};
use super::i18n::t;
use super::page::{page, ConsoleError};
use super::session::Signed;
use crate::app::AppState;
use crate::domain::Product;
use crate::lifecycle::monitoring::{MonitoringHistory, PSI_ALERT, PSI_WATCH};
use crate::users::Lang;

/// How many calendar months the page covers (this one included).
pub const MONTHS: u32 = 12;

pub async fn show(State(state): State<AppState>, s: Signed) -> Result<Response, ConsoleError> {
    let lang = s.lang();
    let mut sections = Vec::new();
    for product in Product::ALL {
        let h = state
            .monitoring_history(*product, MONTHS)
            .await
            .map_err(ConsoleError::internal)?;
        sections.push(section(lang, &h));
    }
    let body = html! {
        p class="hint" { (t(lang, "monitoring_intro")) " " (t(lang, "min_sample")) ": " (state.settings.monitoring.min_sample) }
        @for s in &sections { (s) }
    };
    Ok(page(&s, "/console/monitoring", "monitoring", body))
}

fn section(lang: Lang, h: &MonitoringHistory) -> Markup {
    let p = h.product.as_str();
    let Some(model) = &h.model_id else {
        return html! {
            section id={ "monitoring-" (p) } {
                h2 { (p) }
                p class="empty" id={ "no-champion-" (p) } { (t(lang, "no_champion_yet")) }
            }
        };
    };
    let labels: Vec<String> = h.months.iter().map(|m| m.month.clone()).collect();
    let observed: usize = h.months.iter().map(|m| m.observations).sum();
    let guides = [(PSI_WATCH, t(lang, "watch")), (PSI_ALERT, t(lang, "alert"))];
    html! {
        section id={ "monitoring-" (p) } {
            h2 { (p) " · " (t(lang, "champion")) " " a href={ "/console/models/" (model) } { (model) } }
            @if observed == 0 {
                p class="empty" id={ "no-scores-" (p) } { (t(lang, "no_live_scores")) }
            } @else {
                h3 { (t(lang, "grade_mix")) }
                div class="chart-row" {
                    (charts::stacked(&format!("mix-{p}"), &labels, &h.grades, &h.months.iter().map(|m| m.grade_counts.clone()).collect::<Vec<_>>()))
                    table class="figures" id={ "mix-table-" (p) } {
                        tr { th { (t(lang, "month")) } th { (t(lang, "observations")) } @for g in &h.grades { th { (g) } } }
                        @for m in &h.months {
                            tr { td { (m.month) } td id={ "observations-" (p) "-" (m.month) } { (m.observations) }
                                 @for (g, c) in h.grades.iter().zip(&m.grade_counts) { td id={ "grade-count-" (p) "-" (m.month) "-" (g) } { (c) } } }
                        }
                    }
                }
                h3 { (t(lang, "stability")) }
                @let (names, series) = stability_series(lang, h);
                div class="chart-row" {
                    (charts::lines(&format!("stability-{p}"), &labels, &series, &guides))
                    table class="figures" id={ "stability-table-" (p) } {
                        tr { th { (t(lang, "month")) } th { (t(lang, "score_psi")) } @for n in &names { th { "CSI " (n) } } }
                        @for m in &h.months {
                            tr { td { (m.month) } td id={ "score-psi-" (p) "-" (m.month) } { (fig(m.score_psi)) }
                                 @for (i, n) in names.iter().enumerate() { td id={ "csi-" (p) "-" (m.month) "-" (n) } { (fig(m.characteristics.get(i).and_then(|c| c.csi))) } } }
                        }
                    }
                }
                p class="hint" { (t(lang, "psi_guides")) }
            }
            h3 { (t(lang, "outcomes_by_grade")) }
            @if h.outcomes_by_grade.iter().all(|g| g.oot_loans == 0) {
                p class="empty" id={ "no-outcomes-" (p) } { (t(lang, "no_outcomes")) }
            } @else {
                @let grades: Vec<String> = h.outcomes_by_grade.iter().map(|g| g.grade.clone()).collect();
                div class="chart-row" {
                    (charts::bars(&format!("bad-rate-{p}"), &grades, &h.outcomes_by_grade.iter().map(|g| g.observed_bad_rate).collect::<Vec<_>>(), t(lang, "bad_rate")))
                    table class="figures" id={ "outcomes-table-" (p) } {
                        tr { th { (t(lang, "grade")) } th { (t(lang, "loans")) } th { (t(lang, "bads")) } th { (t(lang, "bad_rate")) } th { (t(lang, "expected_pd")) } }
                        @for g in &h.outcomes_by_grade {
                            tr { td { (g.grade) } td { (g.oot_loans) } td { (g.oot_bads) }
                                 td id={ "bad-rate-" (p) "-" (g.grade) } { (pct(g.observed_bad_rate)) } td { (pct(g.expected_pd)) } }
                        }
                    }
                }
            }
            (live_section(lang, h, &labels))
            h3 { (t(lang, "shadow")) }
            @let shadow_model = h.months.iter().find_map(|m| m.shadow.as_ref().map(|s| s.model_id.clone()));
            @let shadowed: usize = h.months.iter().filter_map(|m| m.shadow.as_ref()).map(|s| s.observations).sum();
            @if shadow_model.is_none() {
                p class="empty" id={ "no-shadow-" (p) } { (t(lang, "no_shadow")) }
            } @else if shadowed == 0 {
                p class="empty" id={ "no-shadow-" (p) } { (t(lang, "no_shadow_scores")) }
            } @else {
                @let candidate = shadow_model.unwrap_or_default();
                {
                    p { (t(lang, "candidate")) " " a href={ "/console/models/" (candidate) } id={ "shadow-model-" (p) } { (candidate) } }
                    @let series = vec![
                        Series { name: t(lang, "agreement").to_owned(), values: h.months.iter().map(|m| m.shadow.as_ref().and_then(|s| s.grade_agreement)).collect() },
                        Series { name: t(lang, "spearman").to_owned(), values: h.months.iter().map(|m| m.shadow.as_ref().and_then(|s| s.rank_correlation)).collect() },
                        Series { name: "PSI".to_owned(), values: h.months.iter().map(|m| m.shadow.as_ref().and_then(|s| s.psi)).collect() },
                    ];
                    div class="chart-row" {
                        (charts::lines(&format!("shadow-{p}"), &labels, &series, &guides))
                        table class="figures" id={ "shadow-table-" (p) } {
                            tr { th { (t(lang, "month")) } th { (t(lang, "observations")) } th { (t(lang, "mean_difference")) }
                                 th { (t(lang, "agreement")) } th { (t(lang, "spearman")) } th { "PSI" } }
                            @for m in &h.months {
                                @if let Some(sh) = &m.shadow {
                                    tr { td { (m.month) } td id={ "shadow-observations-" (p) "-" (m.month) } { (sh.observations) }
                                         td id={ "shadow-mean-difference-" (p) "-" (m.month) } { (fig(sh.mean_difference)) }
                                         td id={ "shadow-agreement-" (p) "-" (m.month) } { (fig(sh.grade_agreement)) }
                                         td id={ "shadow-spearman-" (p) "-" (m.month) } { (fig(sh.rank_correlation)) }
                                         td id={ "shadow-psi-" (p) "-" (m.month) } { (fig(sh.psi)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Approval rate and live bad rate by grade, month by month: one line per grade for each rate
/// (the figures on hover), and every count behind them in the table.
fn live_section(lang: Lang, h: &MonitoringHistory, labels: &[String]) -> Markup {
    let p = h.product.as_str();
    let live = &h.live;
    let approved: u64 = live
        .months
        .iter()
        .flat_map(|m| &m.grades)
        .map(|g| g.approved)
        .sum();
    // Every grade seen in any month, in the first month's order (the champion's grades first).
    let mut grades: Vec<String> = Vec::new();
    for g in live.months.iter().flat_map(|m| &m.grades) {
        if !grades.contains(&g.grade) {
            grades.push(g.grade.clone());
        }
    }
    let series =
        |rate: fn(&crate::lifecycle::monitoring::GradeApproval) -> Option<f64>| -> Vec<Series> {
            grades
                .iter()
                .map(|g| Series {
                    name: g.clone(),
                    values: live
                        .months
                        .iter()
                        .map(|m| m.grades.iter().find(|x| &x.grade == g).and_then(rate))
                        .collect(),
                })
                .collect()
        };
    html! {
        h3 { (t(lang, "live_by_grade")) }
        p class="hint" { (t(lang, "live_rule")) " " span id={ "approval-window-" (p) } { (live.window_days) } }
        @if live.truncated {
            p class="notice" id={ "live-truncated-" (p) } { (t(lang, "live_truncated")) }
        }
        @if approved == 0 {
            p class="empty" id={ "no-approvals-" (p) } { (t(lang, "no_approvals")) }
        } @else {
            div class="chart-row" {
                (charts::lines(&format!("approval-{p}"), labels, &series(|g| g.approval_rate), &[]))
                (charts::lines(&format!("live-bad-rate-{p}"), labels, &series(|g| g.bad_rate), &[]))
            }
            table class="figures" id={ "live-table-" (p) } {
                tr { th { (t(lang, "month")) } th { (t(lang, "grade")) } th { (t(lang, "scored")) } th { (t(lang, "approved")) }
                     th { (t(lang, "approval_rate")) } th { (t(lang, "known_outcomes")) } th { (t(lang, "defaulted")) } th { (t(lang, "bad_rate")) } }
                @for m in &live.months {
                    @for g in m.grades.iter().filter(|g| g.scored > 0) {
                        @let at = format!("{p}-{}-{}", m.month, g.grade);
                        tr { td { (m.month) } td { (g.grade) }
                             td id={ "scored-" (at) } { (g.scored) }
                             td id={ "approved-" (at) } { (g.approved) }
                             td id={ "approval-rate-" (at) } { (pct(g.approval_rate)) }
                             td id={ "known-outcomes-" (at) } { (g.known_outcomes) }
                             td id={ "defaulted-" (at) } { (g.defaulted) }
                             td id={ "live-bad-rate-" (at) } { (pct(g.bad_rate)) } }
                    }
                }
            }
        }
    }
}

/// The characteristics' names and the lines of the stability chart: the score's PSI, then each
/// characteristic's CSI, month by month.
fn stability_series(lang: Lang, h: &MonitoringHistory) -> (Vec<String>, Vec<Series>) {
    let names: Vec<String> = h
        .months
        .iter()
        .find(|m| !m.characteristics.is_empty())
        .map(|m| {
            m.characteristics
                .iter()
                .map(|c| c.characteristic.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut series = vec![Series {
        name: t(lang, "score_psi").to_owned(),
        values: h.months.iter().map(|m| m.score_psi).collect(),
    }];
    for (i, n) in names.iter().enumerate() {
        series.push(Series {
            name: n.clone(),
            values: h
                .months
                .iter()
                .map(|m| m.characteristics.get(i).and_then(|c| c.csi))
                .collect(),
        });
    }
    (names, series)
}
