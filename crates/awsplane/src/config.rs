//! What an AWS SDK resolves before its first request: the region, the credentials and each
//! service's endpoint URL, from the environment and the shared `~/.aws` files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iam::{SecretKey, SessionToken};

use crate::error::AwsError;

/// A snapshot of the environment variables the resolution reads (tests build one by hand).
/// `Debug` lists the names only: values include secrets.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl Environment {
    /// The process's environment.
    pub fn from_process() -> Environment {
        Environment { vars: std::env::vars().collect() }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Environment {
        Environment { vars: pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    /// A variable's value; an empty one counts as unset, as the SDKs treat it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn home_file(&self, override_var: &str, name: &str) -> Option<PathBuf> {
        if let Some(p) = self.get(override_var) {
            return Some(PathBuf::from(p));
        }
        self.get("HOME").map(|h| Path::new(h).join(".aws").join(name))
    }
}

/// Credentials to sign with. The secret and token are never printed (their `Debug` hides them).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret: SecretKey,
    pub session_token: Option<SessionToken>,
    /// Where they came from (`environment`, `/home/me/.aws/credentials [default]`), for messages.
    pub source: String,
}

/// The services recpipe calls, each with its endpoint-variable suffix, signing name and default
/// host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceId {
    SageMaker,
    SageMakerRuntime,
    CloudFormation,
    S3,
}

impl ServiceId {
    /// The suffix of `AWS_ENDPOINT_URL_<SERVICE>` (the service id, upper snake case).
    pub fn env_suffix(self) -> &'static str {
        match self {
            ServiceId::SageMaker => "SAGEMAKER",
            ServiceId::SageMakerRuntime => "SAGEMAKER_RUNTIME",
            ServiceId::CloudFormation => "CLOUDFORMATION",
            ServiceId::S3 => "S3",
        }
    }

    /// The service name in the SigV4 credential scope.
    pub fn signing_name(self) -> &'static str {
        match self {
            ServiceId::SageMaker | ServiceId::SageMakerRuntime => "sagemaker",
            ServiceId::CloudFormation => "cloudformation",
            ServiceId::S3 => "s3",
        }
    }

    pub fn default_url(self, region: &str) -> String {
        let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
        match self {
            ServiceId::SageMaker => format!("https://api.sagemaker.{region}.{suffix}"),
            ServiceId::SageMakerRuntime => format!("https://runtime.sagemaker.{region}.{suffix}"),
            ServiceId::CloudFormation => format!("https://cloudformation.{region}.{suffix}"),
            ServiceId::S3 => format!("https://s3.{region}.{suffix}"),
        }
    }
}

/// The resolved configuration: region, credentials and endpoint overrides.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    pub region: String,
    pub credentials: Credentials,
    /// An endpoint URL given explicitly (`--endpoint-url`), used for every service.
    pub endpoint_url: Option<String>,
    env: Environment,
}

/// `[section]` → key → value of an INI-style AWS file. Keys are lowercased; `#`/`;` lines are
/// comments.
fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().to_string();
            out.entry(name.clone()).or_default();
            section = Some(name);
        } else if let (Some(s), Some((k, v))) = (&section, line.split_once('=')) {
            out.entry(s.clone()).or_default().insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

fn read_ini(path: &Path) -> Result<Option<BTreeMap<String, BTreeMap<String, String>>>, AwsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(parse_ini(&text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AwsError::ConfigFile { file: path.display().to_string(), what: e.to_string() }),
    }
}

/// The profile's section: `[name]` in the credentials file; `[profile name]` (or `[default]`) in
/// the config file.
fn section<'a>(ini: &'a BTreeMap<String, BTreeMap<String, String>>, profile: &str, config_file: bool) -> Option<&'a BTreeMap<String, String>> {
    if config_file && profile != "default" {
        ini.get(&format!("profile {profile}"))
    } else {
        ini.get(profile).or_else(|| if config_file { ini.get("profile default") } else { None })
    }
}

fn credentials_in(sec: &BTreeMap<String, String>, source: String) -> Result<Option<Credentials>, AwsError> {
    match (sec.get("aws_access_key_id"), sec.get("aws_secret_access_key")) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Ok(Some(Credentials {
            access_key_id: id.clone(),
            secret: SecretKey::new(secret.clone()),
            session_token: sec.get("aws_session_token").filter(|t| !t.is_empty()).map(|t| SessionToken::new(t.clone())),
            source,
        })),
        (Some(_), None) | (None, Some(_)) => Err(AwsError::ConfigFile { file: source, what: "has only one of aws_access_key_id and aws_secret_access_key".into() }),
        _ => Ok(None),
    }
}

impl AwsConfig {
    /// Resolves region and credentials from `env` and the shared files. `region` and
    /// `endpoint_url`, when given, win over everything else.
    pub fn resolve(env: Environment, region: Option<&str>, endpoint_url: Option<&str>) -> Result<AwsConfig, AwsError> {
        let profile = env.get("AWS_PROFILE").unwrap_or("default").to_string();
        let cred_path = env.home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let config_path = env.home_file("AWS_CONFIG_FILE", "config");
        let cred_ini = match &cred_path {
            Some(p) => read_ini(p)?,
            None => None,
        };
        let config_ini = match &config_path {
            Some(p) => read_ini(p)?,
            None => None,
        };
        let config_section = config_ini.as_ref().and_then(|ini| section(ini, &profile, true));

        let region = region
            .map(str::to_string)
            .or_else(|| env.get("AWS_REGION").map(str::to_string))
            .or_else(|| env.get("AWS_DEFAULT_REGION").map(str::to_string))
            .or_else(|| config_section.and_then(|s| s.get("region")).cloned())
            .ok_or_else(|| AwsError::NoRegion { profile: profile.clone() })?;
        if region.is_empty() || !region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(AwsError::BadRegion { region });
        }

        let mut tried = vec!["AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment".to_string()];
        let mut credentials = match (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Some(Credentials {
                access_key_id: id.to_string(),
                secret: SecretKey::new(secret),
                session_token: env.get("AWS_SESSION_TOKEN").map(SessionToken::new),
                source: "environment".into(),
            }),
            (Some(_), None) => return Err(AwsError::PartialEnvCredentials { missing: "AWS_SECRET_ACCESS_KEY" }),
            (None, Some(_)) => return Err(AwsError::PartialEnvCredentials { missing: "AWS_ACCESS_KEY_ID" }),
            (None, None) => None,
        };
        if credentials.is_none() {
            if let (Some(path), Some(ini)) = (&cred_path, &cred_ini) {
                if let Some(sec) = section(ini, &profile, false) {
                    credentials = credentials_in(sec, format!("{} [{profile}]", path.display()))?;
                }
            }
            if let Some(path) = &cred_path {
                tried.push(format!("profile [{profile}] of {}", path.display()));
            }
        }
        if credentials.is_none() {
            if let (Some(path), Some(sec)) = (&config_path, config_section) {
                credentials = credentials_in(sec, format!("{} [{profile}]", path.display()))?;
            }
            if let Some(path) = &config_path {
                tried.push(format!("profile [{profile}] of {}", path.display()));
            }
        }
        let credentials = credentials.ok_or_else(|| AwsError::NoCredentials { tried: tried.join("; ") })?;
        let endpoint_url = endpoint_url.map(str::to_string);
        Ok(AwsConfig { region, credentials, endpoint_url, env })
    }

    /// The process's environment and files.
    pub fn from_env(region: Option<&str>, endpoint_url: Option<&str>) -> Result<AwsConfig, AwsError> {
        AwsConfig::resolve(Environment::from_process(), region, endpoint_url)
    }

    /// The URL requests to `service` go to: the explicit override, else
    /// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL` (both unless
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else the service's regional endpoint.
    pub fn endpoint(&self, service: ServiceId) -> (String, String) {
        if let Some(u) = &self.endpoint_url {
            return (u.clone(), "--endpoint-url".into());
        }
        let ignore = self.env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !ignore {
            let specific = format!("AWS_ENDPOINT_URL_{}", service.env_suffix());
            if let Some(u) = self.env.get(&specific) {
                return (u.to_string(), specific);
            }
            if let Some(u) = self.env.get("AWS_ENDPOINT_URL") {
                return (u.to_string(), "AWS_ENDPOINT_URL".into());
            }
        }
        (service.default_url(&self.region), format!("the default endpoint of {}", self.region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join(".aws")).unwrap();
        for (name, text) in files {
            std::fs::write(d.path().join(".aws").join(name), text).unwrap();
        }
        d
    }

    #[test]
    fn environment_wins_and_carries_lambdas_session_token() {
        let home = dir_with(&[("credentials", "[default]\naws_access_key_id = FILE\naws_secret_access_key = filesecret\n")]);
        let h = home.path().to_str().unwrap();
        let env = Environment::from_pairs([("HOME", h), ("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "ASIAENV"), ("AWS_SECRET_ACCESS_KEY", "envsecret"), ("AWS_SESSION_TOKEN", "tok")]);
        let c = AwsConfig::resolve(env, None, None).unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.credentials.access_key_id, "ASIAENV");
        assert_eq!(c.credentials.secret.expose(), "envsecret");
        assert_eq!(c.credentials.session_token.as_ref().unwrap().expose(), "tok");
        assert_eq!(c.credentials.source, "environment");
        assert!(!format!("{c:?}").contains("envsecret"), "Debug shows the secret");
    }

    #[test]
    fn shared_files_by_profile() {
        let home = dir_with(&[
            ("credentials", "# keys\n[default]\naws_access_key_id = D\naws_secret_access_key = ds\n\n[work]\naws_access_key_id = W\naws_secret_access_key = ws\naws_session_token = wt\n"),
            ("config", "[default]\nregion = us-west-2\n[profile work]\nregion = ap-south-1\n[profile cfgonly]\nregion = eu-north-1\naws_access_key_id = C\naws_secret_access_key = cs\n"),
        ]);
        let h = home.path().to_str().unwrap();
        let c = AwsConfig::resolve(Environment::from_pairs([("HOME", h)]), None, None).unwrap();
        assert_eq!((c.region.as_str(), c.credentials.access_key_id.as_str()), ("us-west-2", "D"));
        assert!(c.credentials.session_token.is_none());
        let c = AwsConfig::resolve(Environment::from_pairs([("HOME", h), ("AWS_PROFILE", "work")]), None, None).unwrap();
        assert_eq!((c.region.as_str(), c.credentials.access_key_id.as_str()), ("ap-south-1", "W"));
        assert_eq!(c.credentials.session_token.unwrap().expose(), "wt");
        assert!(c.credentials.source.ends_with("credentials [work]"), "{}", c.credentials.source);
        let c = AwsConfig::resolve(Environment::from_pairs([("HOME", h), ("AWS_PROFILE", "cfgonly")]), Some("us-east-2"), None).unwrap();
        assert_eq!((c.region.as_str(), c.credentials.access_key_id.as_str()), ("us-east-2", "C"));
    }

    #[test]
    fn missing_pieces_are_named() {
        let home = dir_with(&[]);
        let h = home.path().to_str().unwrap();
        let e = AwsConfig::resolve(Environment::from_pairs([("HOME", h)]), None, None).unwrap_err().to_string();
        assert!(e.contains("no AWS region") && e.contains("AWS_REGION"), "{e}");
        let e = AwsConfig::resolve(Environment::from_pairs([("HOME", h), ("AWS_REGION", "us-east-1")]), None, None).unwrap_err().to_string();
        assert!(e.contains("no AWS credentials") && e.contains("profile [default]"), "{e}");
        let e = AwsConfig::resolve(Environment::from_pairs([("AWS_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "A")]), None, None).unwrap_err().to_string();
        assert!(e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        let e = AwsConfig::resolve(Environment::from_pairs([("AWS_REGION", "Us East"), ("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "s")]), None, None).unwrap_err().to_string();
        assert!(e.contains("'Us East'"), "{e}");
    }

    #[test]
    fn endpoint_overrides_in_order() {
        let base = [("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "s")];
        let c = AwsConfig::resolve(Environment::from_pairs(base), None, None).unwrap();
        assert_eq!(c.endpoint(ServiceId::SageMaker).0, "https://api.sagemaker.eu-west-1.amazonaws.com");
        assert_eq!(c.endpoint(ServiceId::SageMakerRuntime).0, "https://runtime.sagemaker.eu-west-1.amazonaws.com");
        let env = Environment::from_pairs(base.into_iter().chain([("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"), ("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:6000")]));
        let c = AwsConfig::resolve(env.clone(), None, None).unwrap();
        assert_eq!(c.endpoint(ServiceId::SageMaker), ("http://127.0.0.1:6000".to_string(), "AWS_ENDPOINT_URL_SAGEMAKER".to_string()));
        assert_eq!(c.endpoint(ServiceId::SageMakerRuntime).0, "http://127.0.0.1:5000");
        let c = AwsConfig::resolve(env, None, Some("http://127.0.0.1:7000")).unwrap();
        assert_eq!(c.endpoint(ServiceId::CloudFormation).0, "http://127.0.0.1:7000");
        let env = Environment::from_pairs(base.into_iter().chain([("AWS_ENDPOINT_URL", "http://x"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]));
        let c = AwsConfig::resolve(env, None, None).unwrap();
        assert_eq!(c.endpoint(ServiceId::CloudFormation).0, "https://cloudformation.eu-west-1.amazonaws.com");
    }
}
