//! One repository of one registry, spoken to over the OCI distribution API with reqwest.
//!
//! Each [`Http`] pairs an async reqwest client with a one-thread tokio runtime that only
//! the caller drives (`block_on`): a request, and each piece of its body, runs on the
//! thread that wants it. reqwest's blocking client would read every socket on a runtime
//! thread of its own and hand each piece of body to the reader across threads; for a
//! gigabyte pull that measured about 10,000 thread switches and a copy per piece.
//!
//! Authentication follows the challenge the registry answers `401` with: a bearer token
//! from the realm it names (with the credentials, when there are any) or basic auth.
//! Everything read before parsing is size-bounded and time-bounded ([`deadlines`]);
//! redirects go through reqwest's policy, which drops the `Authorization` header when the
//! host changes. Every message passes through [`Client::error`], which scrubs it of the
//! credentials and tokens the client holds ([`scrub`]).
//!
//! [`deadlines`]: super::deadlines
//! [`scrub`]: super::scrub

use super::auth::Credential;
use super::deadlines::{seconds, TimeLimits, WaitBudget};
use super::scrub::scrub;
use crate::error::{Error, Result};
use bytes::Bytes;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RANGE, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The `rel="next"` target of a `Link` header, relative to `/v2/<repository>/`: `None`
/// without one; an error for a target outside the repository (a registry may not send the
/// client, and its credentials, elsewhere).
fn next_link(header: &str, repository: &str) -> std::result::Result<Option<String>, String> {
    for link in header.split(',') {
        let Some((target, params)) = link.trim().split_once(';') else {
            continue;
        };
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let Some(target) = target
            .trim()
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
        else {
            continue;
        };
        if !is_next {
            continue;
        }
        let prefix = format!("/v2/{repository}/");
        return match target.strip_prefix(&prefix) {
            Some(rest) if !rest.contains("..") => Ok(Some(rest.to_string())),
            _ => Err(format!(
                "the next page's link {} is outside /v2/{repository}/; refused",
                crate::escape::escape_str(target)
            )),
        };
    }
    Ok(None)
}

/// Manifests, indexes and configs larger than this are refused before parsing (as
/// containerd does).
pub const DOCUMENT_LIMIT: u64 = 4 << 20;
/// Token responses and error bodies are read up to this.
const SMALL_LIMIT: u64 = 256 << 10;
/// Retries of a rate-limited (429) or unavailable (503) request, and the longest wait
/// honoured from `Retry-After` (all waits of a pull also share its wait budget).
const RATE_RETRIES: u32 = 3;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

pub const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

pub struct Client {
    http: Http,
    /// HTTP clients for blob downloads, one per download under way (see [`Client::lane`]).
    lanes: Mutex<Vec<Http>>,
    /// `https://host[:port]` or `http://…` for loopback and `--insecure-registry` hosts.
    base: String,
    /// The registry as the reference names it, for messages.
    pub registry: String,
    pub repository: String,
    credential: Option<Credential>,
    /// The `Authorization` value that the last challenge earned.
    authorization: Mutex<Option<String>>,
    /// `--insecure-registry` hosts: the only hosts besides the registry's own loopback host
    /// that a plain-HTTP token realm may name.
    insecure: Vec<String>,
    /// What no message may show: the password, the base64 of `user:password`, every
    /// `Authorization` value sent and every token earned.
    secrets: Mutex<Vec<String>>,
    limits: TimeLimits,
    budget: WaitBudget,
}

/// Plain HTTP is for loopback hosts (as Docker allows) and hosts the user named.
pub fn plain_http_allowed(host: &str, insecure: &[String]) -> bool {
    named_insecure(host, insecure) || is_loopback(host_name(host))
}

/// `host` without its `:port`.
fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// `host` (with or without its port) was named with `--insecure-registry`.
fn named_insecure(host: &str, insecure: &[String]) -> bool {
    insecure.iter().any(|h| h == host || h == host_name(host))
}

fn is_loopback(name: &str) -> bool {
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a request failed: reqwest's error, or its deadline passed first.
pub enum Failure {
    Http(reqwest::Error),
    Late,
}

impl Client {
    pub fn new(
        registry: &str,
        repository: &str,
        credential: Option<Credential>,
        insecure: &[String],
    ) -> Result<Client> {
        // One process-wide TLS provider; a second install is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let host = if registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            registry
        };
        let scheme = if plain_http_allowed(host, insecure) {
            "http"
        } else {
            "https"
        };
        let http = Http::new().map_err(|e| Error::Registry {
            registry: registry.into(),
            repository: repository.into(),
            detail: format!("cannot set up HTTP: {e}"),
        })?;
        let mut secrets = Vec::new();
        if let Some(credential) = &credential {
            use base64::Engine;
            let pair = format!("{}:{}", credential.username, credential.secret);
            secrets.push(base64::engine::general_purpose::STANDARD.encode(pair));
            secrets.push(credential.secret.clone());
        }
        let limits = TimeLimits::default();
        Ok(Client {
            http,
            base: format!("{scheme}://{host}"),
            registry: registry.into(),
            repository: repository.into(),
            credential,
            authorization: Mutex::new(None),
            lanes: Mutex::new(Vec::new()),
            insecure: insecure.to_vec(),
            secrets: Mutex::new(secrets),
            limits,
            budget: WaitBudget::new(limits.wait_budget),
        })
    }

    /// The same client with other time limits (`--registry-timeout` and the like).
    pub fn with_limits(mut self, limits: TimeLimits) -> Client {
        self.budget = WaitBudget::new(limits.wait_budget);
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &TimeLimits {
        &self.limits
    }

    /// Sleep `wait` out of the pull's wait budget; the error says why not.
    pub fn pause(&self, wait: Duration) -> std::result::Result<(), String> {
        self.budget.wait(wait)
    }

    /// Whether the wait budget refused a wait: nothing is worth retrying after that.
    pub fn gave_up(&self) -> bool {
        self.budget.spent()
    }

    /// Hold `secret` among the texts no message may show.
    fn hold(&self, secret: &str) {
        self.secrets.lock().unwrap().push(secret.to_string());
    }

    /// `text` with the secrets the client holds replaced.
    fn scrubbed(&self, text: &str) -> String {
        scrub(text, &self.secrets.lock().unwrap())
    }

    /// An HTTP client of its own for one blob download, returned to the pool when the
    /// lease ends (its connection kept for the next blob). A runtime is driven by one
    /// thread at a time, so downloads sharing one would wait for each other; with a lane
    /// each, every download's socket is read by its own thread.
    pub fn lane(&self) -> Result<Lane<'_>> {
        let pooled = self.lanes.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let http = match pooled {
            Some(http) => http,
            None => Http::new().map_err(|e| self.error(format!("cannot set up HTTP: {e}")))?,
        };
        Ok(Lane {
            client: self,
            http: Some(http),
        })
    }

    /// The one way a registry message is made: whatever server text it quotes (error
    /// bodies, media types, parse errors, transport errors), it is scrubbed here.
    pub fn error(&self, detail: impl Into<String>) -> Error {
        Error::Registry {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            detail: self.scrubbed(&detail.into()),
        }
    }

    fn login_hint(&self) -> String {
        let how = match &self.credential {
            Some(c) => format!("the credentials from {} were refused", c.origin),
            None => "no credentials were found".into(),
        };
        format!(
            "{how}; log in with `docker login {0}` or `podman login {0}`, or pass --creds USER:PASS",
            self.registry
        )
    }

    /// Describe a transport failure in one line (TLS problems and deadlines say so).
    fn transport(&self, what: &str, failure: &Failure) -> Error {
        let error = match failure {
            Failure::Http(error) => error,
            Failure::Late => {
                return self.error(format!(
                    "{what}: not received whole within {} (--registry-timeout sets this)",
                    seconds(self.limits.document)
                ))
            }
        };
        let text = describe(error);
        let tls = ["certificate", "tls", "TLS", "handshake", "UnknownIssuer"]
            .iter()
            .any(|w| text.contains(w));
        let detail = if tls {
            format!("{what}: TLS failure talking to {} ({text})", self.base)
        } else if error.is_connect() {
            format!("{what}: cannot connect to {} ({text})", self.base)
        } else if error.is_timeout() {
            format!("{what}: {} timed out ({text})", self.base)
        } else {
            format!("{what}: {text}")
        };
        self.error(detail)
    }

    /// GET `path` (under `/v2/<repository>/`), authenticating on a challenge and waiting
    /// out rate limits. `what` names the object for errors. Returns a successful response.
    pub fn get(&self, what: &str, path: &str, accept: &[&str], offset: u64) -> Result<Response> {
        Ok(self.get_on(&self.http, what, path, accept, offset)?.0)
    }

    /// [`Client::get`] on a given HTTP client (a [`Lane`]'s), with the deadline of the
    /// answer (its body's, for a document).
    fn get_on(
        &self,
        http: &Http,
        what: &str,
        path: &str,
        accept: &[&str],
        offset: u64,
    ) -> Result<(Response, Instant)> {
        let url = format!("{}/v2/{}/{path}", self.base, self.repository);
        let mut challenged = false;
        let mut rate_limited = 0;
        loop {
            // Each try has its own deadline: waits between tries are the budget's.
            let deadline = Instant::now() + self.limits.document;
            let mut request = http.get(&url);
            if !accept.is_empty() {
                request = request.header(ACCEPT, accept.join(", "));
            }
            if offset > 0 {
                request = request.header(RANGE, format!("bytes={offset}-"));
            }
            if let Some(value) = self.authorization.lock().unwrap().clone() {
                request = request.header(AUTHORIZATION, value);
            }
            let response = http
                .send(request, deadline)
                .map_err(|e| self.transport(what, &e))?;
            let status = response.status();
            if status.is_success() {
                return Ok((response, deadline));
            }
            match status {
                StatusCode::UNAUTHORIZED if !challenged => {
                    challenged = true;
                    let challenge = response
                        .headers()
                        .get_all(reqwest::header::WWW_AUTHENTICATE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.answer(what, &challenge)?;
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    let reason = self.reason(http, response, deadline);
                    return Err(self.error(format!(
                        "{what}: access denied ({}{reason}); {}",
                        status.as_u16(),
                        self.login_hint()
                    )));
                }
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    if rate_limited < RATE_RETRIES =>
                {
                    rate_limited += 1;
                    self.pause(retry_after(response.headers())).map_err(|why| {
                        self.error(format!("{what}: the registry answered {status}; {why}"))
                    })?;
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    return Err(self.error(format!(
                        "{what}: rate limited (429) after {RATE_RETRIES} retries; try again later or log in for a higher limit"
                    )));
                }
                StatusCode::NOT_FOUND => {
                    let reason = self.reason(http, response, deadline);
                    return Err(self.error(format!("{what}: not found (404{reason})")));
                }
                _ => {
                    let reason = self.reason(http, response, deadline);
                    return Err(self.error(format!(
                        "{what}: the registry answered {}{reason}",
                        status.as_u16()
                    )));
                }
            }
        }
    }

    /// GET a small JSON document, bounded by [`DOCUMENT_LIMIT`]. Returns its bytes and
    /// its media type (from `Content-Type`).
    pub fn get_document(
        &self,
        what: &str,
        path: &str,
        accept: &[&str],
    ) -> Result<(Vec<u8>, String)> {
        let (response, deadline) = self.get_on(&self.http, what, path, accept, 0)?;
        self.read_document(what, response, deadline)
    }

    /// [`Client::get_document`], with the path of the next page when the answer has a
    /// `Link: <…>; rel="next"` header (RFC 8288, as the distribution API paginates), made
    /// relative to `/v2/<repository>/`. A link elsewhere is an error.
    pub fn get_linked_document(
        &self,
        what: &str,
        path: &str,
        accept: &[&str],
    ) -> Result<(Vec<u8>, String, Option<String>)> {
        let (response, deadline) = self.get_on(&self.http, what, path, accept, 0)?;
        // Read here only: `get_document` (manifests, configs) ignores a Link header.
        let next = match response.headers().get(reqwest::header::LINK) {
            Some(value) => {
                let value = value
                    .to_str()
                    .map_err(|_| self.error(format!("{what}: a Link header that is not text")))?;
                next_link(value, &self.repository)
                    .map_err(|reason| self.error(format!("{what}: {reason}")))?
            }
            None => None,
        };
        let (bytes, media_type) = self.read_document(what, response, deadline)?;
        Ok((bytes, media_type, next))
    }

    /// A document's body, bounded by [`DOCUMENT_LIMIT`], and its media type.
    fn read_document(
        &self,
        what: &str,
        response: Response,
        deadline: Instant,
    ) -> Result<(Vec<u8>, String)> {
        if response
            .content_length()
            .is_some_and(|len| len > DOCUMENT_LIMIT)
        {
            return Err(self.error(format!(
                "{what} is larger than {} MiB; refused",
                DOCUMENT_LIMIT >> 20
            )));
        }
        let media_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        let bytes = self
            .http
            .read_bounded(response, DOCUMENT_LIMIT, deadline)
            .map_err(|e| self.transport(&format!("{what}: reading failed"), &e))?;
        if bytes.len() as u64 > DOCUMENT_LIMIT {
            return Err(self.error(format!(
                "{what} is larger than {} MiB; refused",
                DOCUMENT_LIMIT >> 20
            )));
        }
        Ok((bytes, media_type))
    }

    /// Earn an `Authorization` value from a `WWW-Authenticate` challenge.
    fn answer(&self, what: &str, challenge: &str) -> Result<()> {
        let challenges = http_auth::parse_challenges(challenge).unwrap_or_default();
        let param = |c: &http_auth::ChallengeRef<'_>, name: &str| {
            c.params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_unescaped())
        };
        if let Some(bearer) = challenges
            .iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        {
            let realm = param(bearer, "realm").ok_or_else(|| {
                self.error(format!("{what}: the bearer challenge names no realm"))
            })?;
            let scope = param(bearer, "scope")
                .unwrap_or_else(|| format!("repository:{}:pull", self.repository));
            let token = self.fetch_token(what, &realm, param(bearer, "service"), &scope)?;
            let value = format!("Bearer {token}");
            self.hold(&token);
            self.hold(&value);
            *self.authorization.lock().unwrap() = Some(value);
            return Ok(());
        }
        if challenges
            .iter()
            .any(|c| c.scheme.eq_ignore_ascii_case("basic"))
        {
            let Some(credential) = &self.credential else {
                return Err(self.error(format!(
                    "{what}: the registry wants a user name and password; {}",
                    self.login_hint()
                )));
            };
            use base64::Engine;
            let pair = format!("{}:{}", credential.username, credential.secret);
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            let value = format!("Basic {encoded}");
            self.hold(&value);
            *self.authorization.lock().unwrap() = Some(value);
            return Ok(());
        }
        Err(self.error(format!(
            "{what}: access denied (401) with no usable challenge; {}",
            self.login_hint()
        )))
    }

    fn fetch_token(
        &self,
        what: &str,
        realm: &str,
        service: Option<String>,
        scope: &str,
    ) -> Result<String> {
        let url = reqwest::Url::parse(realm)
            .map_err(|_| self.error(format!("{what}: the token realm is not a URL")))?;
        let host = url.host_str().unwrap_or("");
        let host_port = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        // Credentials go to the realm: in clear only to the registry's own loopback host
        // (whatever its port) or to a host the user named as insecure.
        let own_loopback = self.base.starts_with("http:")
            && is_loopback(host)
            && host_name(self.base.trim_start_matches("http://")) == host;
        match url.scheme() {
            "https" => {}
            "http" if own_loopback || named_insecure(&host_port, &self.insecure) => {}
            "http" => {
                return Err(self.error(format!(
                    "{what}: refusing the plain-HTTP token realm http://{}: credentials would cross the network in clear to a host that is not the registry's loopback host (name it with --insecure-registry to allow it)",
                    crate::escape::escape_str(&host_port)
                )))
            }
            other => {
                return Err(self.error(format!(
                    "{what}: refusing the token realm {}://{}: only HTTPS, or plain HTTP to the registry's loopback host",
                    crate::escape::escape_str(other),
                    crate::escape::escape_str(&host_port)
                )))
            }
        }
        let mut url = url;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("scope", scope);
            if let Some(service) = &service {
                query.append_pair("service", service);
            }
        }
        let mut request = self.http.get(url);
        if let Some(credential) = &self.credential {
            request = request.basic_auth(&credential.username, Some(&credential.secret));
        }
        let deadline = Instant::now() + self.limits.document;
        let response = self
            .http
            .send(request, deadline)
            .map_err(|e| self.transport(&format!("{what}: token request"), &e))?;
        let status = response.status();
        if !status.is_success() {
            let reason = self.reason(&self.http, response, deadline);
            return Err(self.error(format!(
                "{what}: the token server refused ({}{reason}); {}",
                status.as_u16(),
                self.login_hint()
            )));
        }
        let body = self
            .http
            .read_bounded(response, SMALL_LIMIT, deadline)
            .map_err(|e| self.transport(&format!("{what}: token response"), &e))?;
        if body.len() as u64 > SMALL_LIMIT {
            return Err(self.error("the token response is too large; refused"));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let parsed: Token = serde_json::from_slice(&body)
            .map_err(|_| self.error("the token response is not the JSON a token server sends"))?;
        parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty() && !t.contains(['\r', '\n']))
            .ok_or_else(|| self.error("the token response holds no token"))
    }

    /// `: MESSAGE` from a distribution error body (`{"errors":[{"code","message"}]}`),
    /// read up to a bound and by `deadline`; empty when there is none. Scrubbed before it
    /// is cut short, so a cut cannot leave part of a secret behind.
    fn reason(&self, http: &Http, response: Response, deadline: Instant) -> String {
        let body = http
            .read_bounded(response, SMALL_LIMIT, deadline)
            .unwrap_or_default();
        #[derive(serde::Deserialize)]
        struct Body {
            errors: Vec<Item>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            code: Option<String>,
            message: Option<String>,
        }
        let Ok(parsed) = serde_json::from_slice::<Body>(&body) else {
            return String::new();
        };
        let Some(first) = parsed.errors.first() else {
            return String::new();
        };
        let text: String = [first.code.as_deref(), first.message.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let text: String = self
            .scrubbed(&text)
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        if text.is_empty() {
            String::new()
        } else {
            format!(" {text}")
        }
    }
}

/// An async reqwest client and the one-thread runtime that drives it, on the caller's
/// thread. The two stay together: a pooled connection is a task on the runtime that
/// opened it, and runs only while that runtime is driven.
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    /// Timeouts and user agent for every request.
    fn new() -> std::io::Result<Http> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("layerscope/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(20))
            // Per read of a body, not for the whole blob.
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Http { runtime, client })
    }

    fn get(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client.get(url)
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Send inside the runtime (reqwest sets its timers up as the request is made); the
    /// status line and headers must be in by `deadline`.
    fn send(
        &self,
        request: reqwest::RequestBuilder,
        deadline: Instant,
    ) -> std::result::Result<Response, Failure> {
        let deadline = tokio::time::Instant::from_std(deadline);
        self.block_on(async move { tokio::time::timeout_at(deadline, request.send()).await })
            .map_err(|_| Failure::Late)?
            .map_err(Failure::Http)
    }

    /// The next piece of `response`'s body, `None` at its end; [`Failure::Late`] when
    /// nothing came within `wait`.
    pub fn chunk(
        &self,
        response: &mut Response,
        wait: Option<Duration>,
    ) -> std::result::Result<Option<Bytes>, Failure> {
        let Some(wait) = wait else {
            return self.block_on(response.chunk()).map_err(Failure::Http);
        };
        self.block_on(async move { tokio::time::timeout(wait, response.chunk()).await })
            .map_err(|_| Failure::Late)?
            .map_err(Failure::Http)
    }

    /// A body of at most `limit` bytes, whole by `deadline`; one byte more is returned when
    /// it is longer, for the caller to refuse.
    fn read_bounded(
        &self,
        mut response: Response,
        limit: u64,
        deadline: Instant,
    ) -> std::result::Result<Vec<u8>, Failure> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let read = async move {
            let mut body = Vec::new();
            while let Some(piece) = response.chunk().await? {
                let room = usize::try_from((limit + 1).saturating_sub(body.len() as u64))
                    .unwrap_or(usize::MAX);
                body.extend_from_slice(&piece[..piece.len().min(room)]);
                if body.len() as u64 > limit {
                    break;
                }
            }
            Ok::<_, reqwest::Error>(body)
        };
        self.block_on(async move { tokio::time::timeout_at(deadline, read).await })
            .map_err(|_| Failure::Late)?
            .map_err(Failure::Http)
    }
}

/// One download's HTTP client, leased from its [`Client`]'s pool.
pub struct Lane<'a> {
    client: &'a Client,
    http: Option<Http>,
}

impl Lane<'_> {
    /// [`Client::get`] on this lane.
    pub fn get(&self, what: &str, path: &str, accept: &[&str], offset: u64) -> Result<Response> {
        Ok(self
            .client
            .get_on(self.http(), what, path, accept, offset)?
            .0)
    }

    /// The lane's client, to read its responses' bodies with.
    pub fn http(&self) -> &Http {
        self.http.as_ref().expect("held until dropped")
    }
}

impl Drop for Lane<'_> {
    fn drop(&mut self) {
        if let Some(http) = self.http.take() {
            let mut lanes = self.client.lanes.lock().unwrap_or_else(|e| e.into_inner());
            lanes.push(http);
        }
    }
}

/// An HTTP error with its causes, in one line.
pub fn describe(error: &reqwest::Error) -> String {
    let mut chain = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(inner) = cause {
        chain.push(inner.to_string());
        cause = inner.source();
    }
    chain.join(": ")
}

/// The wait a `Retry-After` header asks for (seconds), bounded.
fn retry_after(headers: &HeaderMap) -> Duration {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
        .min(MAX_RETRY_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_and_named_hosts() {
        assert!(plain_http_allowed("localhost:5000", &[]));
        assert!(plain_http_allowed("127.0.0.1:5000", &[]));
        assert!(plain_http_allowed("127.3.2.1", &[]));
        assert!(plain_http_allowed("[::1]:5000", &[]));
        assert!(!plain_http_allowed("registry.example:5000", &[]));
        assert!(plain_http_allowed(
            "registry.example:5000",
            &["registry.example".into()]
        ));
        assert!(!plain_http_allowed("10.0.0.1:5000", &[]));
    }

    #[test]
    fn the_next_link_stays_in_the_repository() {
        assert_eq!(
            next_link("</v2/app/tags/list?n=2&last=b>; rel=\"next\"", "app"),
            Ok(Some("tags/list?n=2&last=b".into()))
        );
        assert_eq!(
            next_link("</v2/app/tags/list?n=2>; rel=\"prev\"", "app"),
            Ok(None)
        );
        assert!(next_link(
            "<https://evil.example/v2/app/tags/list>; rel=\"next\"",
            "app"
        )
        .is_err());
        assert!(next_link("</v2/other/tags/list>; rel=\"next\"", "app").is_err());
    }

    #[test]
    fn retry_after_is_bounded() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Duration::from_secs(3));
        headers.insert(RETRY_AFTER, "86400".parse().unwrap());
        assert_eq!(retry_after(&headers), MAX_RETRY_AFTER);
    }
}
