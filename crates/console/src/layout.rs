//! The page shell (navigation, sign-out, skip link), the built-in stylesheet and script, the
//! security headers of every console response, and formatting shared by the pages.

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};

use axum::extract::State;
use axum::http::HeaderMap;

use crate::Console;

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

/// The navigation: (path, label).
const NAV: [(&str, &str); 5] = [
    ("/console/jobs", "Training jobs"),
    ("/console/endpoints", "Endpoints"),
    ("/console/recommendations", "Recommendations"),
    ("/console/worksheet", "Worksheet"),
    ("/console/gateway", "Gateway"),
];

/// What the shell of a signed-in page shows.
pub struct Page<'a> {
    pub title: &'a str,
    /// The navigation entry to mark current (its path).
    pub active: &'a str,
    pub user: &'a str,
    pub role: String,
    pub csrf: &'a str,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · recpipe console" }
            link rel="stylesheet" href="/console/static/console.css";
            script src="/console/static/console.js" defer {}
        }
    }
}

/// A signed-in page: skip link, navigation with the user, role and sign-out, then `body`.
pub fn shell(p: &Page, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(p.title))
                body {
                    a .skip href="#main" { "Skip to content" }
                    header .top {
                        span .brand { "recpipe" }
                        nav aria-label="Console" {
                            ul {
                                @for (path, label) in NAV {
                                    li { a href=(path) aria-current=[(path == p.active).then_some("page")] { (label) } }
                                }
                            }
                        }
                        div .who {
                            span { (p.user) " as " strong { (p.role) } }
                            form method="post" action="/console/signout" {
                                input type="hidden" name=(crate::CSRF_FIELD) value=(p.csrf);
                                button type="submit" .link { "Sign out" }
                            }
                        }
                    }
                    main #main tabindex="-1" { h1 { (p.title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

/// A page without navigation (sign-in, refusals).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body { (body) }
            }
        }
        .into_string(),
    )
}

/// `GET /console/`: the jobs list when signed in, else the sign-in form.
pub async fn home(State(c): State<Console>, headers: HeaderMap) -> Redirect {
    match crate::auth::session_of(&c, &headers) {
        Some(_) => Redirect::to("/console/jobs"),
        None => Redirect::to("/console/signin"),
    }
}

pub async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], JS).into_response()
}

/// Every console answer: only the console's own stylesheet and script run, no framing, no
/// caching of pages that show data, no referrer leaving the page.
pub async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = [
        ("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ];
    for (k, v) in set {
        h.insert(k, HeaderValue::from_static(v));
    }
    r
}

/// Epoch seconds as `2026-12-02 18:30:08` (UTC).
pub fn time(t: f64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t as i64) {
        Ok(d) => format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", d.year(), d.month() as u8, d.day(), d.hour(), d.minute(), d.second()),
        Err(_) => "-".into(),
    }
}

/// Seconds as `4.2 s`, `3 min 05 s`, `2 h 04 min`.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} min {:02} s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{} h {:02} min", (s / 3600.0) as u64, ((s % 3600.0) / 60.0) as u64)
    }
}

/// A status as a badge: its text, and a class by outcome (colour is never the only cue).
pub fn badge(status: &str) -> Markup {
    let class = match status {
        "Completed" | "InService" => "ok",
        "Failed" | "UpdateRollbackFailed" | "Stopped" | "OutOfService" => "bad",
        _ => "busy",
    };
    html! { span class={ "badge " (class) } { (status) } }
}

/// A message box for a page whose data the role may not see, or that failed.
pub fn notice(msg: &str) -> Markup {
    html! { p .notice role="status" { (msg) } }
}

/// Seconds since the epoch, now.
pub fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_read_as_people_write_them() {
        assert_eq!(time(0.0), "1970-01-01 00:00:00");
        assert_eq!(time(1_796_236_208.0), "2026-12-02 18:30:08");
        assert_eq!(duration(4.24), "4.2 s");
        assert_eq!(duration(185.0), "3 min 05 s");
        assert_eq!(duration(7440.0), "2 h 04 min");
    }

    /// `#rrggbb` as linear-light relative luminance (WCAG 2's definition).
    fn luminance(hex: &str) -> f64 {
        let c = |i: usize| {
            let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// The value of `prop` (a `#rgb` or `#rrggbb` colour) in a rule's declarations, as `#rrggbb`.
    fn colour(decls: &str, prop: &str) -> Option<String> {
        let v = decls.split(';').filter_map(|d| d.split_once(':')).find(|(k, _)| k.trim() == prop)?.1.trim();
        let hex = v.strip_prefix('#').filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))?;
        match hex.len() {
            6 => Some(v.to_string()),
            3 => Some(format!("#{}", hex.chars().flat_map(|c| [c, c]).collect::<String>())),
            _ => None,
        }
    }

    #[test]
    fn every_text_colour_of_the_stylesheet_has_wcag_aa_contrast() {
        // Text colours against their rule's own background, or the background they sit on: the
        // header's dark band for its descendants, the log's black, white elsewhere.
        let mut checked = 0;
        for rule in CSS.split('}') {
            let Some((selector, decls)) = rule.split_once('{') else { continue };
            let selector = selector.rsplit("*/").next().unwrap().trim();
            let Some(fg) = colour(decls, "color") else { continue };
            let bg = colour(decls, "background").unwrap_or_else(|| if selector.starts_with("header.top") || selector == "button.link" { "#14213d" } else { "#ffffff" }.to_string());
            let ratio = contrast(&fg, &bg);
            assert!(ratio >= 4.5, "{selector}: {fg} on {bg} is {ratio:.2}:1, under WCAG AA's 4.5:1");
            checked += 1;
        }
        assert!(checked >= 15, "{checked} rules checked");
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
    }
}

