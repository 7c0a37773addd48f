//! A small SVG line chart: axes with round ticks, one polyline per series, a legend. Written on
//! the server, so a page shows its chart without scripts, and screen readers get its title and
//! description (`role="img"`, `<title>`, `<desc>`).

use maud::{html, Markup};

/// Colours for series, in order (Okabe and Ito's palette, distinguishable with colour blindness);
/// each series also has its own dash pattern, so colour is not the only cue.
const COLOURS: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];

const W: f64 = 640.0;
const H: f64 = 320.0;
/// Plot area margins: left, right, top, bottom.
const ML: f64 = 64.0;
const MR: f64 = 150.0;
const MT: f64 = 16.0;
const MB: f64 = 44.0;
/// Series with at most this many points also get a dot at each point.
const MARKED_POINTS: usize = 40;

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Drawn heavier (the final fit beside the folds).
    pub emphasis: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Also the accessible name of the image.
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// A step of 1, 2 or 5 times a power of ten giving about `target` intervals over `span`.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = (span / target).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Ticks covering `[lo, hi]`: the range widened to whole steps, and the values at each step.
pub fn ticks(lo: f64, hi: f64, target: f64) -> (f64, f64, Vec<f64>) {
    let (lo, hi) = if hi - lo < 1e-12 { (lo - 0.5, hi + 0.5) } else { (lo, hi) };
    let step = nice_step(hi - lo, target);
    let (a, b) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    let n = ((b - a) / step).round() as usize;
    (a, b, (0..=n).map(|i| a + i as f64 * step).collect())
}

fn label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 { 0 } else { (-step.log10()).ceil() as usize };
    format!("{v:.decimals$}")
}

/// The chart as inline SVG; an empty chart says it has no points yet.
pub fn line_chart(c: &Chart) -> Markup {
    let pts = c.series.iter().flat_map(|s| s.points.iter().copied());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in pts.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let desc = c.series.iter().map(|s| format!("{}: {} points", s.label, s.points.len())).collect::<Vec<_>>().join("; ");
    if !x0.is_finite() {
        return html! {
            svg .chart role="img" viewBox={ "0 0 " (W) " " (H / 3.0) } aria-label=(c.title) {
                title { (c.title) }
                text x=(W / 2.0) y=(H / 6.0) text-anchor="middle" fill="#333" { "No points yet" }
            }
        };
    }
    let (xa, xb, xt) = ticks(x0, x1, 8.0);
    let (ya, yb, yt) = ticks(y0, y1, 5.0);
    let (pw, ph) = (W - ML - MR, H - MT - MB);
    let sx = |x: f64| ML + (x - xa) / (xb - xa) * pw;
    let sy = |y: f64| MT + ph - (y - ya) / (yb - ya) * ph;
    let xstep = xt.get(1).map_or(1.0, |t| t - xt[0]);
    let ystep = yt.get(1).map_or(1.0, |t| t - yt[0]);
    // Ids from the title, so several charts on one page each name their own title.
    let id = format!("chart-{}", c.title.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch.to_ascii_lowercase() } else { '-' }).collect::<String>());
    html! {
        svg .chart role="img" viewBox={ "0 0 " (W) " " (H) } aria-labelledby={ (id) "-title " (id) "-desc" } {
            title id={ (id) "-title" } { (c.title) }
            desc id={ (id) "-desc" } { (desc) }
            rect x=(ML) y=(MT) width=(pw) height=(ph) fill="#fff" stroke="#767676" {}
            @for y in &yt {
                line x1=(ML) x2=(ML + pw) y1=(sy(*y)) y2=(sy(*y)) stroke="#e3e3e3" {}
                text x=(ML - 6.0) y=(sy(*y) + 4.0) text-anchor="end" font-size="12" fill="#333" { (label(*y, ystep)) }
            }
            @for x in &xt {
                line x1=(sx(*x)) x2=(sx(*x)) y1=(MT + ph) y2=(MT + ph + 4.0) stroke="#767676" {}
                text x=(sx(*x)) y=(MT + ph + 18.0) text-anchor="middle" font-size="12" fill="#333" { (label(*x, xstep)) }
            }
            text x=(ML + pw / 2.0) y=(H - 6.0) text-anchor="middle" font-size="13" fill="#222" { (c.x_label) }
            text x="14" y=(MT + ph / 2.0) text-anchor="middle" font-size="13" fill="#222" transform={ "rotate(-90 14 " (MT + ph / 2.0) ")" } { (c.y_label) }
            @for (i, s) in c.series.iter().enumerate() {
                @let colour = COLOURS[i % COLOURS.len()];
                @let dash = DASHES[i % DASHES.len()];
                @let points = s.points.iter().map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y))).collect::<Vec<_>>().join(" ");
                polyline points=(points) fill="none" stroke=(colour) stroke-width=(if s.emphasis { "3" } else { "1.6" }) stroke-dasharray=[(!dash.is_empty()).then_some(dash)] {}
                // Sparse series get a dot per point, so a lone point (one interval) still shows.
                @if s.points.len() <= MARKED_POINTS {
                    @for (x, y) in s.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
                        circle .point cx=(format!("{:.1}", sx(*x))) cy=(format!("{:.1}", sy(*y))) r="3" fill=(colour) {}
                    }
                }
                @let ly = MT + 8.0 + i as f64 * 20.0;
                line x1=(W - MR + 12.0) x2=(W - MR + 40.0) y1=(ly) y2=(ly) stroke=(colour) stroke-width=(if s.emphasis { "3" } else { "1.6" }) stroke-dasharray=[(!dash.is_empty()).then_some(dash)] {}
                text x=(W - MR + 46.0) y=(ly + 4.0) font-size="12" fill="#222" { (s.label) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (a, b, t) = ticks(0.8123, 1.0491, 5.0);
        assert!(a <= 0.8123 && b >= 1.0491, "{a} {b}");
        assert_eq!(t.len(), 6, "{t:?}");
        assert!((t[1] - t[0] - 0.05).abs() < 1e-9, "{t:?}");
        let (_, _, t) = ticks(1.0, 20.0, 8.0);
        assert_eq!(t, [0.0, 5.0, 10.0, 15.0, 20.0], "whole epochs in round steps");
        let (a, b, _) = ticks(3.0, 3.0, 5.0);
        assert!(a < 3.0 && b > 3.0);
    }

    #[test]
    fn a_chart_draws_each_series_and_escapes_labels() {
        let c = Chart {
            title: "Training RMSE".into(),
            x_label: "epoch".into(),
            y_label: "RMSE".into(),
            series: vec![
                Series { label: "fold 1".into(), points: vec![(1.0, 1.0), (2.0, 0.9), (3.0, 0.85)], emphasis: false },
                Series { label: "<final>".into(), points: vec![(1.0, 0.95), (2.0, 0.8)], emphasis: true },
            ],
        };
        let svg = line_chart(&c).into_string();
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert!(svg.contains("&lt;final&gt;") && !svg.contains("<final>"), "{svg}");
        assert!(svg.contains("role=\"img\"") && svg.contains("<title id=\"chart-training-rmse-title\">Training RMSE</title>"), "{svg}");
        // The lowest point of the first series is drawn below its highest (SVG's y grows down).
        let first = svg.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
        let ys: Vec<f64> = first.split(' ').map(|p| p.split(',').nth(1).unwrap().parse().unwrap()).collect();
        assert!(ys[0] < ys[2], "{ys:?}");
        assert_eq!(svg.matches("<circle").count(), 5, "a dot per point of sparse series");
        let lone = line_chart(&Chart { series: vec![Series { label: "p50".into(), points: vec![(0.0, 0.25)], emphasis: true }], ..c.clone() }).into_string();
        assert_eq!(lone.matches("<circle").count(), 1, "a lone point shows: {lone}");
        let empty = line_chart(&Chart { series: vec![], ..c }).into_string();
        assert!(empty.contains("No points yet"));
    }
}
