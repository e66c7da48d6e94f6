//! Charts drawn on the server as inline SVG (no script): lines over months, bars stacked to
//! 100 %, and plain bars. Every mark carries its figure in a `<title>`, which the browser shows
//! on hover; the pages print the same figures in a table beside each chart.

use maud::{html, Markup};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// Colours for series, in order (cycled).
const PALETTE: &[&str] = &[
    "#1f6fb2", "#e07b00", "#2e8b57", "#b3261e", "#7b4fa0", "#8c6d31", "#d45d9f", "#4a4a4a",
    "#17a2b8", "#9aa52b",
];

pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A figure as the pages print it: four decimals, or a dash.
pub fn fig(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(|| "—".to_owned(), |x| format!("{x:.4}"))
}

/// A share as a percentage with one decimal.
pub fn pct(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(|| "—".to_owned(), |x| format!("{:.1}%", x * 100.0))
}

/// One line of a line chart: its name and a value per x position (None: no figure, a gap).
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

fn plot_w() -> f64 {
    WIDTH - LEFT - RIGHT
}

fn plot_h() -> f64 {
    HEIGHT - TOP - BOTTOM
}

/// x of position `i` of `n`, centred in its slot.
fn x_at(i: usize, n: usize) -> f64 {
    LEFT + plot_w() * (i as f64 + 0.5) / n.max(1) as f64
}

fn y_at(v: f64, max: f64) -> f64 {
    TOP + plot_h() * (1.0 - (v / max).clamp(0.0, 1.0))
}

fn axes(labels: &[String], max: f64, ticks: &dyn Fn(f64) -> String) -> Markup {
    let n = labels.len();
    // With many months only every other label fits.
    let step = if n > 8 { 2 } else { 1 };
    html! {
        line x1=(LEFT) y1=(TOP + plot_h()) x2=(LEFT + plot_w()) y2=(TOP + plot_h()) stroke="#888" {}
        line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(TOP + plot_h()) stroke="#888" {}
        @for f in [0.0, 0.5, 1.0] {
            text x=(LEFT - 4.0) y=(y_at(f * max, max) + 4.0) text-anchor="end" font-size="10" { (ticks(f * max)) }
        }
        @for (i, l) in labels.iter().enumerate() {
            // Counted from the newest, so the latest month always has its label.
            @if (n - 1 - i).is_multiple_of(step) {
                text x=(x_at(i, n)) y=(HEIGHT - 10.0) text-anchor="middle" font-size="10" { (l) }
            }
        }
    }
}

fn legend(names: &[String]) -> Markup {
    html! {
        @for (i, name) in names.iter().enumerate() {
            rect x=(WIDTH - RIGHT + 10.0) y=(TOP + 14.0 * i as f64) width="10" height="10" fill=(colour(i)) {}
            text x=(WIDTH - RIGHT + 24.0) y=(TOP + 14.0 * i as f64 + 9.0) font-size="10" { (name) }
        }
    }
}

/// Lines over `labels` (months), with dashed guides (value, name) such as the PSI thresholds.
pub fn lines(id: &str, labels: &[String], series: &[Series], guides: &[(f64, &str)]) -> Markup {
    let n = labels.len();
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .chain(guides.iter().map(|g| &g.0))
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let max = if top > 0.0 { top * 1.1 } else { 1.0 };
    let names: Vec<String> = series.iter().map(|s| s.name.clone()).collect();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" id=(id) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" {
            (axes(labels, max, &|v| format!("{v:.2}")))
            @for (value, name) in guides {
                line x1=(LEFT) y1=(y_at(*value, max)) x2=(LEFT + plot_w()) y2=(y_at(*value, max)) stroke="#b3261e" stroke-dasharray="4 3" stroke-width="1" {
                    title { (name) " " (format!("{value:.2}")) }
                }
            }
            @for (k, s) in series.iter().enumerate() {
                // A polyline per run of consecutive figures: a month without one is a gap.
                @for run in runs(&s.values) {
                    polyline fill="none" stroke=(colour(k)) stroke-width="1.5"
                        points=(run.iter().map(|&i| format!("{:.1},{:.1}", x_at(i, n), y_at(s.values[i].unwrap_or(0.0), max))).collect::<Vec<_>>().join(" ")) {}
                }
                @for (i, v) in s.values.iter().enumerate() {
                    @if let Some(v) = v.filter(|v| v.is_finite()) {
                        circle cx=(format!("{:.1}", x_at(i, n))) cy=(format!("{:.1}", y_at(v, max))) r="3" fill=(colour(k)) {
                            title { (s.name) " · " (labels[i]) ": " (fig(Some(v))) }
                        }
                    }
                }
            }
            (legend(&names))
        }
    }
}

/// Index runs of consecutive finite values.
fn runs(values: &[Option<f64>]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    for (i, v) in values.iter().enumerate() {
        if v.is_some_and(f64::is_finite) {
            current.push(i);
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// One bar per label, each split into `stacks` by its counts and drawn to 100 %: the mix of
/// each month. A label without counts has no bar.
pub fn stacked(id: &str, labels: &[String], stacks: &[String], counts: &[Vec<u64>]) -> Markup {
    let n = labels.len();
    let slot = plot_w() / n.max(1) as f64;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" id=(id) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" {
            (axes(labels, 1.0, &|v| format!("{:.0}%", v * 100.0)))
            @for (i, c) in counts.iter().enumerate() {
                @let total: u64 = c.iter().sum();
                @if total > 0 {
                    @let shares = running_shares(c, total);
                    @for (k, (below, share)) in shares.iter().enumerate() {
                        @if c[k] > 0 {
                            rect x=(format!("{:.1}", x_at(i, n) - slot * 0.35)) width=(format!("{:.1}", slot * 0.7))
                                 y=(format!("{:.1}", y_at(below + share, 1.0))) height=(format!("{:.1}", plot_h() * share))
                                 fill=(colour(k)) {
                                title { (labels[i]) " · " (stacks[k]) ": " (c[k]) " / " (total) " (" (pct(Some(*share))) ")" }
                            }
                        }
                    }
                }
            }
            (legend(stacks))
        }
    }
}

/// (share below, own share) of each count in `total`.
fn running_shares(counts: &[u64], total: u64) -> Vec<(f64, f64)> {
    let mut below = 0.0;
    counts
        .iter()
        .map(|&c| {
            let share = c as f64 / total as f64;
            let out = (below, share);
            below += share;
            out
        })
        .collect()
}

/// One bar per label (a share between 0 and 1); None draws nothing.
pub fn bars(id: &str, labels: &[String], values: &[Option<f64>], name: &str) -> Markup {
    let n = labels.len();
    let slot = plot_w() / n.max(1) as f64;
    let top = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let max = if top > 0.0 { top * 1.1 } else { 1.0 };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" id=(id) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" {
            (axes(labels, max, &|v| format!("{:.1}%", v * 100.0)))
            @for (i, v) in values.iter().enumerate() {
                @if let Some(v) = v.filter(|v| v.is_finite()) {
                    rect x=(format!("{:.1}", x_at(i, n) - slot * 0.3)) width=(format!("{:.1}", slot * 0.6))
                         y=(format!("{:.1}", y_at(v, max))) height=(format!("{:.1}", TOP + plot_h() - y_at(v, max)))
                         fill=(colour(0)) {
                        title { (labels[i]) " · " (name) ": " (pct(Some(v))) }
                    }
                }
            }
            (legend(&[name.to_owned()]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_split_a_line_into_runs() {
        let v = [
            Some(1.0),
            Some(2.0),
            None,
            Some(f64::NAN),
            Some(3.0),
            Some(4.0),
            None,
        ];
        assert_eq!(runs(&v), vec![vec![0, 1], vec![4, 5]]);
        assert!(runs(&[None, None]).is_empty());
    }

    #[test]
    fn stacked_shares_add_up_and_every_mark_has_its_figure() {
        let s = running_shares(&[1, 3, 0, 4], 8);
        assert_eq!(
            s,
            vec![(0.0, 0.125), (0.125, 0.375), (0.5, 0.0), (0.5, 0.5)]
        );
        let svg = stacked(
            "mix",
            &["2026-10".into(), "2026-11".into()],
            &["A".into(), "B".into()],
            &[vec![0, 0], vec![1, 3]],
        )
        .into_string();
        assert!(
            svg.contains("<title>2026-11 · B: 3 / 4 (75.0%)</title>"),
            "{svg}"
        );
        // The empty month draws no bar.
        assert_eq!(
            svg.matches("<rect").count(),
            2 + 2,
            "two bars and two legend keys"
        );
        let svg = lines(
            "psi",
            &["2026-10".into(), "2026-11".into()],
            &[Series {
                name: "score".into(),
                values: vec![None, Some(0.123_456)],
            }],
            &[(0.25, "alert")],
        )
        .into_string();
        assert!(
            svg.contains("<title>score · 2026-11: 0.1235</title>"),
            "{svg}"
        );
        assert!(!svg.contains("<script"));
    }
}
