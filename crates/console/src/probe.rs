//! Driving the console's router in-process, as a browser would: form posts, cookies, the
//! sign-in dance. The tests and `recpipe bench console` use it.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect::<String>();
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

pub async fn send(app: &Router, method: &str, uri: &str, cookie: Option<&str>, body: Option<String>) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(b)),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    Answer { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

pub fn set_cookie(a: &Answer, name: &str) -> Option<String> {
    a.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with(&format!("{name}="))).map(str::to_string)
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

/// Signs in; returns the session cookie (`name=value`) and the session's CSRF token.
pub async fn sign_in(app: &Router, user: &str, password: &str) -> Result<(String, String), Answer> {
    let form_page = send(app, "GET", "/console/signin", None, None).await;
    let pre = set_cookie(&form_page, "recpipe_console_signin").unwrap();
    let pre = pre.split(';').next().unwrap().to_string();
    let a = send(app, "POST", "/console/signin", Some(&pre), Some(form(&[("csrf", &csrf_of(&form_page.body)), ("user", user), ("password", password)]))).await;
    if a.status != StatusCode::SEE_OTHER {
        return Err(a);
    }
    let cookie = set_cookie(&a, crate::SESSION_COOKIE).unwrap().split(';').next().unwrap().to_string();
    let jobs = send(app, "GET", "/console/jobs", Some(&cookie), None).await;
    assert_eq!(jobs.status, StatusCode::OK, "{}", jobs.body);
    Ok((cookie, csrf_of(&jobs.body)))
}

