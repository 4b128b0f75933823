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

use async_trait::async_trait;
use azure_core::error::{Error, ErrorKind};
use azure_core::{HttpClient, Method, Request, Response};
use std::sync::Arc;
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

#[derive(Debug)]
pub struct ReadOnlyTransport {
    inner: Arc<dyn HttpClient>,
    request_timeout: Duration,
}

impl ReadOnlyTransport {
    pub fn new(inner: Arc<dyn HttpClient>, request_timeout: Duration) -> Self {
        Self {
            inner,
            request_timeout,
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
        let transport =
            ReadOnlyTransport::new(azure_core::new_http_client(), Duration::from_secs(5));
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
}
