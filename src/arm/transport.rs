//! The HTTP transport every ARM request goes through: a read-only guard, a timeout, and
//! the call log (a `debug` event per request, shown with `-v`; see `crate::ui`).
//!
//! The guard is the last line that makes "the tool never changes Azure" true whatever the
//! code above it does: any method other than GET is refused before it leaves the process,
//! except POST to a storage account's `listKeys` and to Resource Graph's query endpoint.
//! Microsoft Graph is read with GETs only: no POST to it passes (not even its read-like
//! `getMemberGroups`); so is a storage account's blob host (the container listing).
//! The call log prints method, path and query, status and duration, never headers (they
//! carry the bearer token) nor bodies (listKeys answers carry keys), nor a URL password.
//!
//! Because every request passes here (each page and each retry, those of the
//! `azure_mgmt_*` clients too), this is also where requests to ARM are counted and, when
//! the client has a [`ReadThrottle`], paced: a token and an in-flight place before
//! sending, ARM's remaining-reads count noted after. Resource Graph queries are counted
//! apart and not paced here (their quota is per user, see `resource_graph`).

use super::throttle::{BucketKey, ReadThrottle};
use super::CallStats;
use async_trait::async_trait;
use azure_core::error::{Error, ErrorKind};
use azure_core::{HttpClient, Method, Request, Response, StatusCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Whether a request may be sent at all.
pub fn is_allowed(method: &Method, path: &str) -> bool {
    match method {
        Method::Get => true,
        Method::Post => {
            let path = path.trim_end_matches('/').to_ascii_lowercase();
            let is_list_keys = path.starts_with("/subscriptions/")
                && path.contains("/providers/microsoft.storage/storageaccounts/")
                && path.ends_with("/listkeys");
            is_list_keys || path == "/providers/microsoft.resourcegraph/resources"
        }
        _ => false,
    }
}

/// What the transport shares with the client that owns it: which origin is ARM (only its
/// requests are counted and paced; Microsoft Graph and blob requests are not), the
/// counts, and the read throttle once one is set.
pub struct Traffic {
    arm: url::Origin,
    arm_requests: AtomicU64,
    graph_queries: AtomicU64,
    throttled: AtomicU64,
    throttle: RwLock<Option<Arc<ReadThrottle>>>,
}

/// What a request is, for counting and pacing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Arm,
    ResourceGraph,
    Other,
}

impl Traffic {
    pub fn new(arm_endpoint: &url::Url) -> Self {
        Traffic {
            arm: arm_endpoint.origin(),
            arm_requests: AtomicU64::new(0),
            graph_queries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            throttle: RwLock::new(None),
        }
    }

    /// Paces every later ARM request through `throttle`.
    pub fn set_throttle(&self, throttle: Arc<ReadThrottle>) {
        *self
            .throttle
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(throttle);
    }

    pub fn stats(&self) -> CallStats {
        CallStats {
            arm_requests: self.arm_requests.load(Ordering::Relaxed),
            graph_queries: self.graph_queries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }

    fn throttle(&self) -> Option<Arc<ReadThrottle>> {
        self.throttle
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn call(&self, url: &azure_core::Url) -> Call {
        if url.origin() != self.arm {
            Call::Other
        } else if url
            .path()
            .trim_end_matches('/')
            .eq_ignore_ascii_case(crate::reads::RESOURCE_GRAPH_PATH)
        {
            Call::ResourceGraph
        } else {
            Call::Arm
        }
    }
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct ReadOnlyTransport {
    inner: Arc<dyn HttpClient>,
    request_timeout: Duration,
    traffic: Arc<Traffic>,
}

impl ReadOnlyTransport {
    pub fn new(
        inner: Arc<dyn HttpClient>,
        request_timeout: Duration,
        traffic: Arc<Traffic>,
    ) -> Self {
        Self {
            inner,
            request_timeout,
            traffic,
        }
    }
}

/// The query decoded, for people: `?$filter=assignedTo('…')` rather than `?%24filter=…`;
/// a URL inside it (a `nextLink`'s token may hold anything) has its password masked.
fn decoded_query(url: &azure_core::Url) -> String {
    let pairs: Vec<String> = url.query_pairs().map(|(k, v)| format!("{k}={v}")).collect();
    if pairs.is_empty() {
        String::new()
    } else {
        crate::redact::url_passwords(&format!("?{}", pairs.join("&"))).into_owned()
    }
}

fn outcome(result: &azure_core::Result<Response>) -> String {
    match result {
        Ok(response) => u16::from(response.status()).to_string(),
        Err(e) => format!("no answer ({})", e.kind()),
    }
}

#[async_trait]
impl HttpClient for ReadOnlyTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<Response> {
        let path = request.url().path();
        if !is_allowed(request.method(), path) {
            return Err(Error::message(
                ErrorKind::Other,
                format!(
                    "refused by the read-only guard: {} {path}",
                    request.method()
                ),
            ));
        }
        let call = self.traffic.call(request.url());
        let throttle = match call {
            Call::Arm => self.traffic.throttle(),
            Call::ResourceGraph | Call::Other => None,
        };
        // Waiting for a token is not part of the request's time.
        let _permit = match &throttle {
            Some(throttle) => Some(throttle.acquire(path).await),
            None => None,
        };
        match call {
            Call::Arm => self.traffic.arm_requests.fetch_add(1, Ordering::Relaxed),
            Call::ResourceGraph => self.traffic.graph_queries.fetch_add(1, Ordering::Relaxed),
            Call::Other => 0,
        };
        let started = Instant::now();
        let result =
            match tokio::time::timeout(self.request_timeout, self.inner.execute_request(request))
                .await
            {
                Ok(result) => result,
                // An Io error is what the retry policy retries.
                Err(_) => Err(Error::message(
                    ErrorKind::Io,
                    format!("no response within {}s", self.request_timeout.as_secs_f32()),
                )),
            };
        // The arguments are only evaluated when the call log is on.
        tracing::debug!(
            "{} {path}{} -> {} ({} ms)",
            request.method(),
            decoded_query(request.url()),
            outcome(&result),
            started.elapsed().as_millis()
        );
        if let (Ok(response), true) = (&result, call != Call::Other) {
            if response.status() == StatusCode::TooManyRequests {
                self.traffic.throttled.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(throttle) = &throttle {
                let header = BucketKey::of(path).remaining_header();
                let remaining = response
                    .headers()
                    .get_optional_str(&azure_core::headers::HeaderName::from_static(header))
                    .and_then(|v| v.trim().parse::<u32>().ok());
                if let Some(remaining) = remaining {
                    throttle.observe(path, remaining);
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_list_keys_and_resource_graph_pass() {
        let sa = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a";
        assert!(is_allowed(&Method::Get, sa));
        assert!(is_allowed(&Method::Post, &format!("{sa}/listKeys")));
        assert!(is_allowed(
            &Method::Post,
            &format!("{}/LISTKEYS", sa.to_uppercase())
        ));
        assert!(is_allowed(
            &Method::Post,
            "/providers/Microsoft.ResourceGraph/resources"
        ));
        assert!(is_allowed(
            &Method::Get,
            "/v1.0/directoryObjects/p/transitiveMemberOf"
        ));
        assert!(is_allowed(&Method::Get, "/aks-backups"));
        for (method, path) in [
            (Method::Put, sa.to_string()),
            (Method::Patch, sa.to_string()),
            (Method::Delete, sa.to_string()),
            (Method::Post, format!("{sa}/regenerateKey")),
            (
                Method::Post,
                "/subscriptions/s/providers/Microsoft.KubernetesConfiguration/register".to_string(),
            ),
            (Method::Post, "/listKeys".to_string()),
            (
                Method::Post,
                "/v1.0/directoryObjects/p/getMemberGroups".to_string(),
            ),
            (Method::Patch, "/v1.0/groups/g".to_string()),
            // The blob host gets the container listing GET and nothing else.
            (Method::Put, "/aks-backups/notes.txt".to_string()),
            (Method::Delete, "/aks-backups/notes.txt".to_string()),
            (Method::Post, "/aks-backups".to_string()),
            (Method::Post, "/v1.0/groups/g/members/$ref".to_string()),
            // Resource Graph's query endpoint, and nothing else of it or beside it.
            (
                Method::Post,
                "/providers/Microsoft.ResourceGraph/resources/x".to_string(),
            ),
            (
                Method::Post,
                "/providers/Microsoft.ResourceGraph/resourcesHistory".to_string(),
            ),
            (
                Method::Post,
                "/subscriptions/s/providers/Microsoft.ResourceGraph/resources".to_string(),
            ),
            (
                Method::Put,
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.ResourceGraph/queries/q"
                    .to_string(),
            ),
            (
                Method::Put,
                "/providers/Microsoft.ResourceGraph/resources".to_string(),
            ),
        ] {
            assert!(
                !is_allowed(&method, &path),
                "{method} {path} must be refused"
            );
        }
    }

    #[test]
    fn the_call_log_shows_no_url_password() {
        let url = azure_core::Url::parse(
            "https://management.azure.com/x?api-version=1&%24skipToken=http%3A%2F%2Fu%3Aplanted%40proxy%3A3128",
        )
        .unwrap();
        assert_eq!(
            decoded_query(&url),
            "?api-version=1&$skipToken=http://u:***@proxy:3128"
        );
    }

    #[tokio::test]
    async fn refused_requests_never_leave_the_process() {
        let server = wiremock::MockServer::start().await;
        let arm = azure_core::Url::parse(&server.uri()).unwrap();
        let transport = ReadOnlyTransport::new(
            azure_core::new_http_client(),
            Duration::from_secs(5),
            Arc::new(Traffic::new(&arm)),
        );
        let url = azure_core::Url::parse(&format!(
            "{}/subscriptions/s/resourceGroups/g",
            server.uri()
        ))
        .unwrap();
        for method in [Method::Put, Method::Delete, Method::Patch, Method::Post] {
            let error = transport
                .execute_request(&Request::new(url.clone(), method))
                .await
                .unwrap_err();
            assert!(error.to_string().contains("read-only guard"), "{error}");
        }
        assert!(server.received_requests().await.unwrap().is_empty());
        transport
            .execute_request(&Request::new(url, Method::Get))
            .await
            .unwrap();
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    /// ARM requests (through the pipeline, and the `azure_mgmt_*` clients alike) are
    /// counted and take their subscription's tokens; ARM's remaining-reads count lowers the
    /// bucket; Resource Graph queries are counted apart and take no ARM token.
    #[tokio::test]
    async fn arm_requests_are_counted_and_paced_resource_graph_queries_are_not() {
        use crate::arm::throttle::ThrottleLimits;
        use crate::arm::CallStats;
        use crate::ids::ResourceId;
        use crate::reads::{ArmRead, GraphQuery};
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        let cluster = "/subscriptions/cfbbd179-59d2-4052-aa06-9270a38aa9d6/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1";
        let account = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/stbackup";
        Mock::given(method("GET"))
            .and(path(cluster))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(
                        serde_json::json!({"id": cluster, "name": "aks1", "properties": {}}),
                    )
                    .insert_header("x-ms-ratelimit-remaining-subscription-reads", "0"),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(account))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"id": account, "name": "stbackup", "properties": {}}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(crate::reads::RESOURCE_GRAPH_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"totalRecords": 0, "count": 0, "resultTruncated": "false", "data": []}),
            ))
            .mount(&server)
            .await;
        // One token a second, and ARM says this principal has none left after the first read.
        let throttle = Arc::new(ReadThrottle::new(ThrottleLimits {
            bucket: 5,
            refill_per_second: 1.0,
            max_concurrency: 4,
        }));
        let client = crate::arm::testing::client(&server).with_throttle(throttle);
        let cluster_read = ArmRead::Cluster(ResourceId::parse(cluster).unwrap());
        let account_read = ArmRead::StorageAccount(ResourceId::parse(account).unwrap());
        let query = ArmRead::ResourceGraph(GraphQuery {
            query: "resources | project id | order by id asc".into(),
            subscriptions: Vec::new(),
            management_groups: Vec::new(),
            authorization_scope_filter: None,
            page_size: 1000,
        });

        let started = std::time::Instant::now();
        assert_eq!(client.read(&cluster_read).await.error, None);
        // Another subscription's bucket is full; Resource Graph takes no token at all.
        for read in [
            &account_read,
            &query,
            &query,
            &query,
            &query,
            &query,
            &query,
        ] {
            assert_eq!(client.read(read).await.error, None);
        }
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        // The first subscription's bucket was lowered to 0 by ARM's count.
        assert_eq!(client.read(&cluster_read).await.error, None);
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            client.stats(),
            CallStats {
                arm_requests: 3,
                graph_queries: 6,
                throttled: 0
            }
        );
    }

    /// Every 429 is counted, each retry is a request.
    #[tokio::test]
    async fn throttled_answers_and_their_retries_are_counted() {
        use crate::arm::CallStats;
        use crate::reads::ArmRead;
        use wiremock::matchers::method;
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        let throttled = serde_json::json!({"error": {"code": "SubscriptionRequestsThrottled", "message": "Number of 'read' requests for subscription 'cfbbd179-59d2-4052-aa06-9270a38aa9d6' actor '00000000-0000-0000-0000-000000000001' exceeded. Please try again after '1' seconds after the last request."}});
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(429)
                    .set_body_json(throttled)
                    .insert_header("Retry-After", "0"),
            )
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "/subscriptions/cfbbd179-59d2-4052-aa06-9270a38aa9d6/providers/Microsoft.KubernetesConfiguration", "namespace": "Microsoft.KubernetesConfiguration", "registrationState": "Registered"})))
            .mount(&server)
            .await;
        let client = crate::arm::testing::client(&server);
        let read = ArmRead::Provider {
            subscription: "cfbbd179-59d2-4052-aa06-9270a38aa9d6".into(),
            namespace: "Microsoft.KubernetesConfiguration".into(),
        };
        assert_eq!(client.read(&read).await.error, None);
        assert_eq!(
            client.stats(),
            CallStats {
                arm_requests: 3,
                graph_queries: 0,
                throttled: 2
            }
        );
    }
}
