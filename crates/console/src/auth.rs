//! Signing in and out, sessions and CSRF. A session is a random token (from `iam::random`) in an
//! `HttpOnly; SameSite=Strict; Path=/console` cookie; the server keeps only its SHA-256 digest,
//! with the user, the role pages are shown for, a CSRF token for the session's forms and the
//! worksheet's own warehouse session. The sign-in form itself is protected by a double-submit
//! token (a short-lived cookie that must equal the form's hidden field).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::layout::{self, Page};
use crate::Console;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "recpipe_console";
/// The sign-in form's double-submit cookie.
const SIGNIN_COOKIE: &str = "recpipe_console_signin";
/// The hidden field every form carries.
pub const CSRF_FIELD: &str = "csrf";
/// How long a session lasts (the cookie's `Max-Age`).
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Statements a session's history keeps.
const HISTORY: usize = 50;

/// One statement the worksheet ran.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub sql: String,
    /// `Ok(rows)` or `Err(code message)`.
    pub outcome: Result<usize, String>,
    pub elapsed: Duration,
}

/// A signed-in browser.
pub struct ConsoleSession {
    pub user: String,
    csrf: String,
    expires: Instant,
    /// The role pages are shown for: the worksheet session's current role.
    role: Mutex<String>,
    /// The worksheet's warehouse session (its `use`, role and transaction persist across runs).
    pub worksheet: Mutex<warehouse::Session>,
    history: Mutex<VecDeque<HistoryEntry>>,
}

impl ConsoleSession {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn role(&self) -> String {
        self.role.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_role(&self, role: &str) {
        *self.role.lock().unwrap_or_else(|p| p.into_inner()) = role.to_string();
    }

    /// Compares a form's token with the session's in constant time.
    pub fn csrf_ok(&self, given: &str) -> bool {
        bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes()))
    }

    pub fn remember(&self, e: HistoryEntry) {
        let mut h = self.history.lock().unwrap_or_else(|p| p.into_inner());
        h.push_front(e);
        h.truncate(HISTORY);
    }

    /// The history, newest first.
    pub fn history(&self) -> Vec<HistoryEntry> {
        self.history.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

/// Live sessions by token digest.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Arc<ConsoleSession>>>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    /// Registers a session for `worksheet`'s user and role; returns its cookie token.
    fn open(&self, worksheet: warehouse::Session) -> String {
        let token = iam::random::hex_id(32);
        let now = Instant::now();
        let s = ConsoleSession {
            user: worksheet.user.clone(),
            csrf: iam::random::hex_id(32),
            expires: now + SESSION_TTL,
            role: Mutex::new(worksheet.role.clone()),
            worksheet: Mutex::new(worksheet),
            history: Mutex::new(VecDeque::new()),
        };
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.expires > now);
        map.insert(digest(&token), Arc::new(s));
        token
    }

    fn get(&self, token: &str) -> Option<Arc<ConsoleSession>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&digest(token)).filter(|s| s.expires > Instant::now()).cloned()
    }

    fn close(&self, token: &str) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).remove(&digest(token));
    }
}

/// The session of a request's cookie, if it is valid.
pub(crate) fn session_of(c: &Console, headers: &HeaderMap) -> Option<Arc<ConsoleSession>> {
    cookie(headers, SESSION_COOKIE).and_then(|t| c.0.sessions.get(t))
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn set_cookie(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/console; Max-Age={max_age}")
}

/// A request with a valid session: every page handler but sign-in takes this, so a page cannot
/// be reached without one. Without it, a page request is sent to the sign-in form and any
/// other request is refused with 401.
pub struct SignedIn(pub Arc<ConsoleSession>);

/// Why a request without a valid session or CSRF token is not served.
pub enum Refused {
    SignIn,
    Unauthorized,
    Csrf,
    BadForm(String),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let (status, title, msg) = match self {
            Refused::SignIn => return Redirect::to("/console/signin").into_response(),
            Refused::Unauthorized => (StatusCode::UNAUTHORIZED, "Not signed in", "Sign in to use the console.".to_string()),
            Refused::Csrf => (StatusCode::FORBIDDEN, "Refused", "The form's security token does not match this session; reload the page and try again.".to_string()),
            Refused::BadForm(m) => (StatusCode::BAD_REQUEST, "Bad request", m),
        };
        let body = layout::bare(title, html! { h1 { (title) } p role="alert" { (msg) } p { a href="/console/signin" { "Sign in" } } });
        (status, body).into_response()
    }
}

impl FromRequestParts<Console> for SignedIn {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &Console) -> Result<Self, Self::Rejection> {
        match session_of(state, &parts.headers) {
            Some(s) => Ok(SignedIn(s)),
            None if parts.method == Method::GET || parts.method == Method::HEAD => Err(Refused::SignIn),
            None => Err(Refused::Unauthorized),
        }
    }
}

/// A form whose hidden [`CSRF_FIELD`] names its token.
pub trait CsrfForm {
    fn csrf(&self) -> &str;
}

/// A state-changing form post: a valid session and a CSRF token that matches it, checked
/// before the handler runs.
pub struct Posted<T>(pub Arc<ConsoleSession>, pub T);

impl<T: DeserializeOwned + CsrfForm + Send> FromRequest<Console> for Posted<T> {
    type Rejection = Refused;

    async fn from_request(req: Request, state: &Console) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let SignedIn(session) = SignedIn::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let Form(form) = Form::<T>::from_request(req, state).await.map_err(|e| Refused::BadForm(e.body_text()))?;
        if !session.csrf_ok(form.csrf()) {
            return Err(Refused::Csrf);
        }
        Ok(Posted(session, form))
    }
}

/// The hidden CSRF field of a session's form.
pub fn csrf_input(s: &ConsoleSession) -> maud::Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(s.csrf()); }
}

fn signin_page(token: &str, user: &str, error: Option<&str>) -> axum::response::Html<String> {
    let body = html! {
        main #main .signin {
            h1 { "Sign in to recpipe" }
            p { "Use a warehouse user and its password (the ADMIN password is printed once when the server first starts)." }
            @if let Some(e) = error { p .error role="alert" { (e) } }
            form method="post" action="/console/signin" {
                input type="hidden" name=(CSRF_FIELD) value=(token);
                label for="user" { "User" }
                input #user type="text" name="user" value=(user) autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        }
    };
    layout::bare("Sign in", body)
}

/// `GET /console/signin`: the form, with a fresh double-submit token.
pub async fn signin_form() -> Response {
    let token = iam::random::hex_id(16);
    ([(header::SET_COOKIE, set_cookie(SIGNIN_COOKIE, &token, 600))], signin_page(&token, "", None)).into_response()
}

#[derive(Deserialize)]
pub struct SigninForm {
    csrf: String,
    user: String,
    password: String,
}

/// `POST /console/signin`: checks the double-submit token, then the password (one message for
/// an unknown user and a wrong password); opens a session in the user's default role.
pub async fn signin(State(c): State<Console>, headers: HeaderMap, Form(f): Form<SigninForm>) -> Response {
    let expected = cookie(&headers, SIGNIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(f.csrf.as_bytes())) {
        return Refused::Csrf.into_response();
    }
    let wh = c.wh().clone();
    let user = f.user.clone();
    let opened = tokio::task::spawn_blocking(move || -> Result<warehouse::Session, warehouse::WarehouseError> {
        let token = wh.login(&user, &f.password)?;
        // The console keeps its own session; the SQL API token the login issued is not needed.
        let _ = wh.logout(&token.token);
        wh.session(&token.user, None)
    })
    .await;
    match opened {
        Ok(Ok(session)) => {
            let token = c.0.sessions.open(session);
            let cookies = [
                (header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, SESSION_TTL.as_secs())),
                (header::SET_COOKIE, set_cookie(SIGNIN_COOKIE, "", 0)),
            ];
            (axum::response::AppendHeaders(cookies), Redirect::to("/console/jobs")).into_response()
        }
        Ok(Err(e)) => {
            let msg = match e {
                warehouse::WarehouseError::BadCredentials => e.to_string(),
                other => other.wire_message(),
            };
            (StatusCode::UNAUTHORIZED, signin_page(expected, &f.user, Some(&msg))).into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, signin_page(expected, &f.user, Some("the sign-in could not be checked"))).into_response(),
    }
}

#[derive(Deserialize)]
pub struct SignoutForm {
    csrf: String,
}

impl CsrfForm for SignoutForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /console/signout`: ends the session and clears the cookie.
pub async fn signout(State(c): State<Console>, headers: HeaderMap, Posted(_, _): Posted<SignoutForm>) -> Response {
    if let Some(t) = cookie(&headers, SESSION_COOKIE) {
        c.0.sessions.close(t);
    }
    ([(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0))], Redirect::to("/console/signin")).into_response()
}

/// What every page needs of its session.
pub fn page<'a>(s: &'a ConsoleSession, title: &'a str, active: &'a str) -> Page<'a> {
    Page { title, active, user: &s.user, role: s.role(), csrf: s.csrf() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; recpipe_console=abc ; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie(SESSION_COOKIE, "t", 60);
        for part in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=60"] {
            assert!(c.contains(part), "{c}");
        }
    }
}
