//! One signed HTTP exchange with an AWS service: the endpoint's URL parsed once, SigV4 headers
//! from `iam`'s signer, TLS through rustls with the platform's roots, answers capped in size.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use iam::sigv4::{sign_request, HttpRequest, Payload};

use crate::config::{AwsConfig, Credentials, ServiceId};
use crate::error::AwsError;

type HttpClient = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The largest answer read (InvokeEndpoint answers up to 25 MB).
pub const MAX_ANSWER: usize = 32 << 20;
/// One exchange, connection included.
const TIMEOUT: Duration = Duration::from_secs(70);

/// An answer: status, headers (lowercase names) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One service at one endpoint, with the credentials and region requests are signed for.
#[derive(Clone)]
pub struct Service {
    pub id: ServiceId,
    /// `scheme://authority`, without a trailing slash.
    origin: String,
    /// The endpoint's path prefix (empty or `/prefix`).
    base_path: String,
    /// The `Host` header: the authority without a default port.
    host: String,
    region: String,
    credentials: Credentials,
    http: HttpClient,
}

/// Splits an endpoint URL into (origin, host header, base path).
pub(crate) fn parse_endpoint(url: &str, from: &str) -> Result<(String, String, String), AwsError> {
    let bad = |reason: &str| AwsError::BadEndpoint { url: url.to_string(), from: from.to_string(), reason: reason.to_string() };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("it must start with http:// or https://"))?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return Err(bad("it must start with http:// or https://")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') || rest.contains(['?', '#']) {
        return Err(bad("it must be scheme://host[:port][/path] with no user, query or fragment"));
    }
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    Ok((format!("{scheme}://{authority}"), host.to_string(), path.to_string()))
}

fn https_client() -> Result<HttpClient, AwsError> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| AwsError::Tls(format!("loading the trusted root certificates: {e}")))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AwsError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector))
}

impl Service {
    pub fn new(config: &AwsConfig, id: ServiceId) -> Result<Service, AwsError> {
        let (url, from) = config.endpoint(id);
        let (origin, host, base_path) = parse_endpoint(&url, &from)?;
        Ok(Service { id, origin, base_path, host, region: config.region.clone(), credentials: config.credentials.clone(), http: https_client()? })
    }

    pub fn url(&self) -> String {
        format!("{}{}", self.origin, self.base_path)
    }

    /// Signs and sends `method path?query` with `headers` and `body`; any status is returned.
    /// `operation` names the call in errors.
    pub async fn send(&self, operation: &str, method: &str, path: &str, query: &str, headers: Vec<(String, String)>, body: Bytes) -> Result<Answer, AwsError> {
        let full_path = format!("{}{path}", self.base_path);
        let mut req = HttpRequest {
            method: method.to_string(),
            path: full_path.clone(),
            query: query.to_string(),
            headers: [vec![("Host".to_string(), self.host.clone())], headers].concat(),
            payload: Payload::Bytes(body.to_vec()),
        };
        let c = &self.credentials;
        sign_request(&mut req, &c.access_key_id, &c.secret, c.session_token.as_ref(), &self.region, self.id.signing_name(), time::OffsetDateTime::now_utc())
            .map_err(|e| AwsError::BadAnswer { operation: operation.to_string(), detail: format!("signing the request: {e}") })?;
        let uri = if query.is_empty() { format!("{}{full_path}", self.origin) } else { format!("{}{full_path}?{query}", self.origin) };
        let mut builder = hyper::Request::builder().method(method).uri(&uri);
        for (k, v) in &req.headers {
            if !k.eq_ignore_ascii_case("host") {
                builder = builder.header(k.as_str(), v.as_str());
            }
        }
        let request = builder.body(Full::new(body)).map_err(|e| AwsError::BadEndpoint { url: uri.clone(), from: operation.to_string(), reason: e.to_string() })?;
        let network = |detail: String| AwsError::Network { operation: operation.to_string(), url: self.url(), detail };
        let resp = tokio::time::timeout(TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| network(format!("no answer within {} s", TIMEOUT.as_secs())))?
            .map_err(|e| network(error_chain(&e)))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().iter().filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string()))).collect();
        let body = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| AwsError::BadAnswer { operation: operation.to_string(), detail: format!("reading the body (at most {MAX_ANSWER} bytes): {e}") })?
            .to_bytes();
        Ok(Answer { status, headers, body })
    }
}

/// An error and its causes, joined (hyper's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_split_into_origin_host_and_path() {
        assert_eq!(parse_endpoint("https://api.sagemaker.us-east-1.amazonaws.com", "x").unwrap(), ("https://api.sagemaker.us-east-1.amazonaws.com".into(), "api.sagemaker.us-east-1.amazonaws.com".into(), "".into()));
        assert_eq!(parse_endpoint("http://127.0.0.1:5000/", "x").unwrap(), ("http://127.0.0.1:5000".into(), "127.0.0.1:5000".into(), "".into()));
        assert_eq!(parse_endpoint("https://h:443/pre/", "x").unwrap(), ("https://h:443".into(), "h".into(), "/pre".into()));
        for bad in ["ftp://h", "h:5000", "http://", "http://u@h", "http://h/?q"] {
            let e = parse_endpoint(bad, "AWS_ENDPOINT_URL").unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("AWS_ENDPOINT_URL"), "{e}");
        }
    }
}
