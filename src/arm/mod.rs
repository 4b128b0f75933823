//! The ARM client: the only code in the tool that talks to Azure (ARM, and Microsoft Graph
//! for group memberships).
//!
//! One credential chain, one transport (read-only guard + timeout) and one retry policy serve
//! every provider: the `azure_mgmt_storage` client for the storage reads it covers, and the
//! same azure_core pipeline for the providers no mgmt crate covers here and for Graph
//! (GETs only, with a token for the Graph audience, never the ARM one), and the blob data
//! plane's container listing (`blob`: a GET with a token for the storage audience). Resource
//! Graph queries (`resource_graph`: a POST, the ARM token) use the same transport but their
//! own retries, to keep ARG's error details. The transport also counts the requests
//! ([`ArmClient::stats`]) and paces ARM's through a [`ReadThrottle`] when one is set
//! ([`ArmClient::with_throttle`]). Each read returns
//! a [`RawRead`]: bodies are kept as JSON, never parsed into strict generated models
//! (the live service returns values the specs do not list). Failures become raw reads
//! too; only a failed sign-in is an error of the run.

mod blob;
mod resource_graph;
mod retry;
pub mod throttle;
pub mod transport;

use crate::cloud::Cloud;
use crate::ids::ResourceId;
use crate::reads::{ArmRead, FailureKind, RawRead, ReadError};
use crate::secret::Secret;
use azure_core::auth::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::{
    ClientOptions, Context, Method, Pipeline, Request, RetryOptions, TransportOptions, Url,
};
use azure_identity::{
    DefaultAzureCredentialBuilder, SpecificAzureCredential, TokenCredentialOptions,
};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub use retry::BoundedRetry;
use throttle::ReadThrottle;

/// What a client has sent so far (a snapshot of its counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallStats {
    /// Every HTTP request sent to ARM, Resource Graph excepted: each page and each retry.
    pub arm_requests: u64,
    /// Every Resource Graph query request: each page and each retry (each costs quota).
    pub graph_queries: u64,
    /// Every 429 ARM or Resource Graph answered.
    pub throttled: u64,
}

/// Why a run could not sign in to Azure: it stops before any read.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// No credential of the chain (or the one `AZURE_CREDENTIAL_KIND` pins) is available.
    #[error("no Azure credential available: {0}")]
    NoCredential(String),
    /// A credential exists but getting a token with it failed.
    #[error("authentication failed: {0}")]
    Failed(String),
}

/// How long one HTTP attempt may take, and the retry budget of one read.
#[derive(Clone, Debug)]
pub struct Limits {
    pub request_timeout: Duration,
    pub retry: BoundedRetry,
    /// A list longer than this many pages is reported as an error, not followed forever.
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(30),
            retry: BoundedRetry::default(),
            max_pages: 200,
        }
    }
}

pub struct ArmClient {
    base: Url,
    scope: String,
    graph: Url,
    graph_scope: String,
    credentials: Credentials,
    pipeline: Pipeline,
    storage: azure_mgmt_storage::package_2023_05::Client,
    authorization: azure_mgmt_authorization::package_2022_04_01::Client,
    body_timeout: Duration,
    max_pages: usize,
    /// Resource Graph queries are sent to the transport directly (see `resource_graph`).
    transport: Arc<transport::ReadOnlyTransport>,
    traffic: Arc<transport::Traffic>,
    retry: BoundedRetry,
    graph_quota: resource_graph::Quota,
    /// The key given to PXB, when the user gave one: `listKeys` is called only to verify it.
    storage_key: Option<Secret>,
}

/// The same credential chain, one instance per token audience. The SDK's token cache holds
/// one lock over all audiences while it fetches a token, so with a single instance the
/// storage (or Graph) token would stall every ARM read for a round trip; separate
/// instances let the tokens be fetched side by side.
#[derive(Clone)]
pub struct Credentials {
    pub arm: Arc<dyn TokenCredential>,
    pub graph: Arc<dyn TokenCredential>,
    pub storage: Arc<dyn TokenCredential>,
}

impl Credentials {
    /// The Azure SDK credential chain: environment (service principal or workload identity,
    /// honouring `AZURE_AUTHORITY_HOST`), managed identity, then the Azure CLI login.
    pub fn default_chain(cloud: &Cloud) -> Result<Self, SignInError> {
        Ok(Credentials {
            arm: Self::chain(cloud)?,
            graph: Self::chain(cloud)?,
            storage: Self::chain(cloud)?,
        })
    }

    fn chain(cloud: &Cloud) -> Result<Arc<dyn TokenCredential>, SignInError> {
        let mut options = TokenCredentialOptions::default();
        options.set_authority_host(cloud.authority_host.to_string());
        let unavailable =
            |e: azure_core::Error| SignInError::NoCredential(one_line(&e.to_string()));
        // The SDK's own switch: AZURE_CREDENTIAL_KIND pins one credential (environment,
        // workloadidentity, azurecli, virtualmachine, appservice) instead of the chain.
        if std::env::var("AZURE_CREDENTIAL_KIND").is_ok_and(|kind| !kind.is_empty()) {
            let credential = SpecificAzureCredential::create(options).map_err(unavailable)?;
            return Ok(Arc::new(credential));
        }
        let credential = DefaultAzureCredentialBuilder::new()
            .with_options(options)
            .build()
            .map_err(unavailable)?;
        Ok(Arc::new(credential))
    }
}

/// Whom a token is for: each has its own credential instance (see [`Credentials`]).
#[derive(Clone, Copy)]
enum Audience {
    Arm,
    Graph,
    Storage,
}

impl ArmClient {
    pub fn new(
        cloud: &Cloud,
        credentials: Credentials,
        limits: &Limits,
        storage_key: Option<Secret>,
    ) -> Self {
        let traffic = Arc::new(transport::Traffic::new(&cloud.arm_endpoint));
        let transport = Arc::new(transport::ReadOnlyTransport::new(
            azure_core::new_http_client(),
            limits.request_timeout,
            traffic.clone(),
        ));
        let options = ClientOptions::new(TransportOptions::new(transport.clone()))
            .retry(RetryOptions::custom(Arc::new(limits.retry.clone())));
        let pipeline = Pipeline::new(
            option_env!("CARGO_PKG_NAME"),
            option_env!("CARGO_PKG_VERSION"),
            options.clone(),
            Vec::new(),
            Vec::new(),
        );
        let scopes = vec![cloud.arm_scope.clone()];
        let storage = azure_mgmt_storage::package_2023_05::Client::new(
            cloud.arm_endpoint.clone(),
            credentials.arm.clone(),
            scopes.clone(),
            options.clone(),
        );
        let authorization = azure_mgmt_authorization::package_2022_04_01::Client::new(
            cloud.arm_endpoint.clone(),
            credentials.arm.clone(),
            scopes,
            options,
        );
        ArmClient {
            base: cloud.arm_endpoint.clone(),
            scope: cloud.arm_scope.clone(),
            graph: cloud.graph_endpoint.clone(),
            graph_scope: cloud.graph_scope.clone(),
            credentials,
            pipeline,
            storage,
            authorization,
            body_timeout: limits.request_timeout,
            max_pages: limits.max_pages,
            transport,
            traffic,
            retry: limits.retry.clone(),
            graph_quota: resource_graph::Quota::new(limits.retry.max_total),
            storage_key,
        }
    }

    /// Paces every ARM request of this client (its storage and authorization clients'
    /// too) through `throttle`; Resource Graph queries keep to their own quota.
    pub fn with_throttle(self, throttle: Arc<ReadThrottle>) -> Self {
        self.traffic.set_throttle(throttle);
        self
    }

    /// What this client has sent so far.
    pub fn stats(&self) -> CallStats {
        self.traffic.stats()
    }

    /// Gets a token once before any read, so a missing or broken login stops the run
    /// with one clear message instead of turning every read into an error. The storage
    /// token of the blob listing is fetched alongside, so the listing, the last read of a
    /// run, does not wait for it; a failure there is the listing's own error, not the run's.
    pub async fn sign_in(&self) -> Result<(), SignInError> {
        let scopes = [self.scope.as_str()];
        let (arm, _storage) = futures::join!(
            self.credentials.arm.get_token(&scopes),
            self.bearer(Audience::Storage)
        );
        arm.map(|_| ())
            .map_err(|e| SignInError::Failed(one_line(&e.to_string())))
    }

    /// The object ID of the signed-in principal: the `oid` claim of its ARM token (read,
    /// never verified or kept: the token itself goes nowhere). `None` when the token is not
    /// a JWT that says.
    pub async fn caller_object_id(&self) -> Option<String> {
        use base64::Engine;
        let bearer = self.bearer(Audience::Arm).await.ok()?;
        let payload = bearer.strip_prefix("Bearer ")?.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        claims["oid"].as_str().map(str::to_ascii_lowercase)
    }

    pub async fn read(&self, read: &ArmRead) -> RawRead {
        let result = match read {
            ArmRead::StorageAccount(id) => {
                let call = self.storage.storage_accounts_client().get_properties(
                    id.resource_group().unwrap_or_default(),
                    id.name(),
                    id.subscription(),
                );
                match call.send().await {
                    Ok(response) => self.json_body(response.into_raw_response()).await,
                    Err(e) => Err(Failure::from_core(&e)),
                }
            }
            ArmRead::BlobContainer { account, container } => {
                let call = self.storage.blob_containers_client().get(
                    account.resource_group().unwrap_or_default(),
                    account.name(),
                    container,
                    account.subscription(),
                );
                match call.send().await {
                    Ok(response) => self.json_body(response.into_raw_response()).await,
                    Err(e) => Err(Failure::from_core(&e)),
                }
            }
            ArmRead::ListKeys(account) => self.verify_key(account).await,
            ArmRead::ResourceGraph(query) => self.query_resource_graph(query).await,
            ArmRead::BlobList {
                endpoint,
                container,
            } => self.list_blobs(endpoint, container).await,
            ArmRead::Probe { .. } => Err(Failure::local("a TCP probe is not an ARM read".into())),
            ArmRead::GroupMemberships(_) => {
                match self.graph.join(read.path().trim_start_matches('/')) {
                    Ok(url) => {
                        self.get_all_pages(url, &GRAPH_PAGING, &self.graph, Audience::Graph)
                            .await
                    }
                    Err(e) => Err(Failure::local(format!("bad URL: {e}"))),
                }
            }
            ArmRead::RoleDefinition { subscription, guid } => {
                let call = self
                    .authorization
                    .role_definitions_client()
                    .get(format!("subscriptions/{subscription}"), guid);
                match call.send().await {
                    Ok(response) => self.json_body(response.into_raw_response()).await,
                    Err(e) => Err(Failure::from_core(&e)),
                }
            }
            _ if read.is_list() => match self.url_for(read) {
                Ok(url) => {
                    self.get_all_pages(url, &ARM_PAGING, &self.base, Audience::Arm)
                        .await
                }
                Err(failure) => Err(failure),
            },
            _ => match self.url_for(read) {
                Ok(url) => self.get_json(url, Audience::Arm).await,
                Err(failure) => Err(failure),
            },
        };
        match result {
            Ok(body) => RawRead::ok(read, body),
            Err(f) => RawRead::failure(read, f.status, f.error),
        }
    }

    /// Lists the account's keys and keeps only which of them equals the given key: the
    /// values never leave this function (the body is dropped, the keys are `Secret`s).
    async fn verify_key(&self, account: &ResourceId) -> Result<Value, Failure> {
        let Some(given) = &self.storage_key else {
            return Err(Failure::local(
                "listKeys is only called to verify a given key".into(),
            ));
        };
        let call = self.storage.storage_accounts_client().list_keys(
            account.resource_group().unwrap_or_default(),
            account.name(),
            account.subscription(),
        );
        let body = match call.send().await {
            Ok(response) => self.json_body(response.into_raw_response()).await?,
            Err(e) => return Err(Failure::from_core(&e)),
        };
        let Some(keys) = body.get("keys").and_then(Value::as_array) else {
            return Err(Failure::malformed(
                "the listKeys answer has no 'keys' array",
            ));
        };
        let matches: Vec<Value> = keys
            .iter()
            .map(|key| {
                let listed = key
                    .get("value")
                    .and_then(Value::as_str)
                    .and_then(Secret::new);
                serde_json::json!({
                    "keyName": key.get("keyName").cloned().unwrap_or(Value::Null),
                    "permissions": key.get("permissions").cloned().unwrap_or(Value::Null),
                    "matches": listed.is_some_and(|listed| listed.matches(given)),
                })
            })
            .collect();
        Ok(serde_json::json!({ "keyMatches": matches }))
    }

    fn url_for(&self, read: &ArmRead) -> Result<Url, Failure> {
        let mut url = self
            .base
            .join(read.path().trim_start_matches('/'))
            .map_err(|e| Failure::local(format!("bad URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", read.api_version());
        if let Some(filter) = read.filter() {
            url.query_pairs_mut().append_pair("$filter", &filter);
        }
        Ok(url)
    }

    /// Follows the next-page link exactly as given (it carries its own api-version or skip
    /// token), but only on `base`'s host: each bearer token is never sent anywhere else.
    async fn get_all_pages(
        &self,
        mut url: Url,
        paging: &Paging,
        base: &Url,
        audience: Audience,
    ) -> Result<Value, Failure> {
        let mut items = Vec::new();
        for _ in 0..self.max_pages {
            let page = self.get_json(url.clone(), audience).await?;
            let (page_items, next) = list_page(page, paging, base)?;
            items.extend(page_items);
            match next {
                Some(next) => url = next,
                None => return Ok(serde_json::json!({ "value": items })),
            }
        }
        Err(Failure::malformed(format!(
            "the list did not end within {} pages",
            self.max_pages
        )))
    }

    /// The `Authorization` header value for a request to `audience`.
    async fn bearer(&self, audience: Audience) -> Result<String, Failure> {
        let (credential, scope) = match audience {
            Audience::Arm => (&self.credentials.arm, self.scope.as_str()),
            Audience::Graph => (&self.credentials.graph, self.graph_scope.as_str()),
            Audience::Storage => (&self.credentials.storage, blob::STORAGE_SCOPE),
        };
        let token = credential
            .get_token(&[scope])
            .await
            .map_err(|e| Failure::local(one_line(&format!("authentication failed: {e}"))))?;
        Ok(format!("Bearer {}", token.token.secret()))
    }

    async fn get_json(&self, url: Url, audience: Audience) -> Result<Value, Failure> {
        let mut request = Request::new(url, Method::Get);
        request.insert_header(
            azure_core::headers::AUTHORIZATION,
            self.bearer(audience).await?,
        );
        request.set_body(azure_core::EMPTY_BODY);
        match self.pipeline.send(&Context::default(), &mut request).await {
            Ok(response) => self.json_body(response).await,
            Err(e) => Err(Failure::from_core(&e)),
        }
    }

    async fn json_body(&self, response: azure_core::Response) -> Result<Value, Failure> {
        let bytes = self.body_bytes(response).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Failure::malformed(format!("the body is not JSON: {e}")))
    }

    async fn body_bytes(&self, response: azure_core::Response) -> Result<Vec<u8>, Failure> {
        let bytes = match tokio::time::timeout(self.body_timeout, response.into_body().collect())
            .await
        {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) => return Err(Failure::transport(format!("reading the body failed: {e}"))),
            Err(_) => {
                return Err(Failure::transport(
                    "the body did not arrive in time".to_string(),
                ))
            }
        };
        Ok(bytes.to_vec())
    }
}

/// How a service pages its lists: the field that links the next page, and the service's
/// name for messages.
pub(crate) struct Paging {
    next_link: &'static str,
    service: &'static str,
}

pub(crate) const ARM_PAGING: Paging = Paging {
    next_link: "nextLink",
    service: "ARM",
};
pub(crate) const GRAPH_PAGING: Paging = Paging {
    next_link: "@odata.nextLink",
    service: "Microsoft Graph",
};

/// One page of a list: its items, and the next page's URL when the service gives one. The
/// link is followed as given but only on `base`'s origin, so the token never leaves it.
pub(crate) fn list_page(
    page: Value,
    paging: &Paging,
    base: &Url,
) -> Result<(Vec<Value>, Option<Url>), Failure> {
    let Value::Object(mut page) = page else {
        return Err(Failure::malformed("a list page is not a JSON object"));
    };
    let Some(Value::Array(items)) = page.remove("value") else {
        return Err(Failure::malformed("a list page has no 'value' array"));
    };
    let link = paging.next_link;
    let next = match page.get(link) {
        Some(Value::String(next)) if !next.is_empty() => {
            let next_url = Url::parse(next)
                .map_err(|e| Failure::malformed(format!("{link} is not a URL: {e}")))?;
            if next_url.origin() != base.origin() {
                return Err(Failure::malformed(format!(
                    "{link} points outside the {} endpoint ({}); not followed",
                    paging.service,
                    next_url.origin().ascii_serialization()
                )));
            }
            Some(next_url)
        }
        _ => None,
    };
    Ok((items, next))
}

/// A read that produced no body, before it is recorded.
pub(crate) struct Failure {
    status: Option<u16>,
    error: ReadError,
}

impl Failure {
    fn new(status: Option<u16>, kind: FailureKind, message: String) -> Self {
        Failure {
            status,
            error: ReadError {
                kind,
                arm_code: None,
                message,
            },
        }
    }
    fn from_core(error: &azure_core::Error) -> Self {
        if let Some(http) = find_http_error(error) {
            return Failure {
                status: Some(u16::from(http.status())),
                error: ReadError {
                    kind: FailureKind::Http,
                    arm_code: http.error_code().map(str::to_string),
                    message: one_line(http.error_message().unwrap_or("no error message")),
                },
            };
        }
        match error.kind() {
            ErrorKind::Io => Failure::transport(one_line(&error.to_string())),
            ErrorKind::Credential => {
                Failure::local(one_line(&format!("authentication failed: {error}")))
            }
            _ => Failure::new(None, FailureKind::Refused, one_line(&error.to_string())),
        }
    }
    fn transport(message: String) -> Self {
        Failure::new(None, FailureKind::Transport, message)
    }
    fn malformed(message: impl Into<String>) -> Self {
        Failure::new(Some(200), FailureKind::MalformedBody, message.into())
    }
    fn local(message: String) -> Self {
        Failure::new(None, FailureKind::Client, message)
    }
}

/// azure_core wraps the HTTP error in context layers (e.g. "retry policy expired").
fn find_http_error(error: &azure_core::Error) -> Option<&azure_core::error::HttpError> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(http) = e.downcast_ref::<azure_core::error::HttpError>() {
            return Some(http);
        }
        if let Some(core) = e.downcast_ref::<azure_core::Error>() {
            if let Some(http) = core.as_http_error() {
                return Some(http);
            }
        }
        current = e.source();
    }
    None
}

/// Collapses a multi-line error (the credential chain's aggregate) into one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A client of a fake ARM (wiremock) with a fixed token and short retries.
#[cfg(test)]
pub(crate) mod testing {
    use super::{ArmClient, BoundedRetry, Credentials, Limits};
    use crate::cloud::Cloud;
    use azure_core::auth::{AccessToken, TokenCredential};
    use std::sync::Arc;
    use std::time::Duration;
    use url::Url;

    #[derive(Debug)]
    struct FixedToken;

    #[async_trait::async_trait]
    impl TokenCredential for FixedToken {
        async fn get_token(&self, _: &[&str]) -> azure_core::Result<AccessToken> {
            Ok(AccessToken::new(
                "token",
                time::OffsetDateTime::now_utc() + time::Duration::hours(1),
            ))
        }
        async fn clear_cache(&self) -> azure_core::Result<()> {
            Ok(())
        }
    }

    pub(crate) fn client(server: &wiremock::MockServer) -> ArmClient {
        let arm = Url::parse(&format!("{}/", server.uri())).unwrap();
        let cloud = Cloud {
            arm_endpoint: arm.clone(),
            arm_scope: "https://management.azure.com/.default".into(),
            graph_endpoint: arm.clone(),
            graph_scope: "https://graph.microsoft.com/.default".into(),
            authority_host: arm,
        };
        let token: Arc<dyn TokenCredential> = Arc::new(FixedToken);
        let credentials = Credentials {
            arm: token.clone(),
            graph: token.clone(),
            storage: token,
        };
        let limits = Limits {
            request_timeout: Duration::from_secs(5),
            retry: BoundedRetry {
                max_retries: 3,
                initial_delay: Duration::from_millis(10),
                max_total: Duration::from_secs(10),
            },
            max_pages: 10,
        };
        ArmClient::new(&cloud, credentials, &limits, None)
    }
}

#[cfg(test)]
mod tests {
    use super::{list_page, ARM_PAGING, GRAPH_PAGING};
    use crate::reads::FailureKind;
    use serde_json::json;
    use url::Url;

    fn arm() -> Url {
        Url::parse("https://management.azure.com/").unwrap()
    }

    #[test]
    fn a_page_gives_its_items_and_a_next_link_on_the_same_host() {
        let next = "https://management.azure.com/subscriptions/s/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$skiptoken=abc";
        let (items, link) = list_page(
            json!({"value": [1, 2], "nextLink": next}),
            &ARM_PAGING,
            &arm(),
        )
        .ok()
        .unwrap();
        assert_eq!(items, [json!(1), json!(2)]);
        assert_eq!(link.unwrap().as_str(), next);
        let (_, last) = list_page(json!({"value": [], "nextLink": null}), &ARM_PAGING, &arm())
            .ok()
            .unwrap();
        assert_eq!(last, None);
    }

    #[test]
    fn graph_pages_link_through_odata_next_link_on_the_graph_host_only() {
        let graph = Url::parse("https://graph.microsoft.com/").unwrap();
        let next = "https://graph.microsoft.com/v1.0/directoryObjects/p/transitiveMemberOf?$select=id&$skiptoken=X";
        let (items, link) = list_page(
            json!({"value": [{"id": "g1"}], "@odata.nextLink": next}),
            &GRAPH_PAGING,
            &graph,
        )
        .ok()
        .unwrap();
        assert_eq!(items, [json!({"id": "g1"})]);
        assert_eq!(link.unwrap().as_str(), next);
        let foreign = json!({"value": [], "@odata.nextLink": "https://management.azure.com/x"});
        let failure = list_page(foreign, &GRAPH_PAGING, &graph).err().unwrap();
        assert!(
            failure
                .error
                .message
                .contains("@odata.nextLink points outside the Microsoft Graph endpoint"),
            "{}",
            failure.error.message
        );
    }

    #[test]
    fn malformed_pages_and_foreign_links_are_refused() {
        for (page, why) in [
            (
                json!({"value": [], "nextLink": "https://evil.example/next"}),
                "outside the ARM endpoint",
            ),
            (json!({"value": [], "nextLink": "not a url"}), "not a URL"),
            (json!({"values": []}), "no 'value' array"),
            (json!([1]), "not a JSON object"),
        ] {
            let failure = list_page(page, &ARM_PAGING, &arm()).err().unwrap();
            assert_eq!(failure.error.kind, FailureKind::MalformedBody);
            assert!(
                failure.error.message.contains(why),
                "{}",
                failure.error.message
            );
        }
    }
}
