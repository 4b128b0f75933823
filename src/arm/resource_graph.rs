//! Azure Resource Graph queries: `POST /providers/Microsoft.ResourceGraph/resources`, every
//! page followed by `$skipToken` and merged into `{"data": [rows], "totalRecords": n}`.
//!
//! These requests go to the read-only transport directly, not through the azure_core
//! pipeline: its retry policy turns an error answer into an `HttpError` that hides the
//! body, and ARG names the real cause (`InvalidQuery`, `ParserFailure`) only in
//! `error.details[]`. So the retries (same budget as the pipeline's, [`BoundedRetry`]) and
//! ARG's per-user quota (`x-ms-user-quota-remaining`, `x-ms-user-quota-resets-after`) are
//! handled here. Nothing here interprets a row.

use super::{ArmClient, Audience, Failure};
use crate::reads::{FailureKind, GraphQuery, ReadError, API_RESOURCE_GRAPH, RESOURCE_GRAPH_PATH};
use azure_core::headers::{HeaderName, Headers};
use azure_core::{HttpClient, Method, Request, RetryPolicy, StatusCode, Url};
use serde_json::{json, Map, Value};
use std::sync::Mutex;
use tokio::time::{Duration, Instant};

const QUOTA_REMAINING: HeaderName = HeaderName::from_static("x-ms-user-quota-remaining");
const QUOTA_RESETS_AFTER: HeaderName = HeaderName::from_static("x-ms-user-quota-resets-after");

/// The statuses azure_core's retry policy retries; the same here.
const RETRY_STATUSES: [StatusCode; 6] = [
    StatusCode::RequestTimeout,
    StatusCode::TooManyRequests,
    StatusCode::InternalServerError,
    StatusCode::BadGateway,
    StatusCode::ServiceUnavailable,
    StatusCode::GatewayTimeout,
];

/// The caller's Resource Graph quota, shared by every query of the client: ARG counts
/// queries per user in a time window, and says when the window resets.
pub(crate) struct Quota {
    /// No query is sent before this instant (the quota was spent, or ARG answered 429).
    not_before: Mutex<Option<Instant>>,
    /// A reset time longer than this is not believed (a run must end).
    longest_wait: Duration,
}

impl Quota {
    pub(crate) fn new(longest_wait: Duration) -> Self {
        Quota {
            not_before: Mutex::new(None),
            longest_wait,
        }
    }

    /// Waits until a query may be sent.
    async fn wait_turn(&self) {
        let not_before = *self
            .not_before
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(instant) = not_before {
            tokio::time::sleep_until(instant).await;
        }
    }

    /// Notes an answer's quota headers: when none is left (or ARG throttled the query),
    /// the next query waits until the window resets.
    fn note(&self, status: StatusCode, headers: &Headers) {
        let spent = status == StatusCode::TooManyRequests
            || headers
                .get_optional_str(&QUOTA_REMAINING)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .is_some_and(|remaining| remaining <= 0);
        let reset = headers
            .get_optional_str(&QUOTA_RESETS_AFTER)
            .and_then(parse_time_span);
        if let (true, Some(reset)) = (spent, reset) {
            let until = Instant::now() + reset.min(self.longest_wait);
            let mut not_before = self
                .not_before
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *not_before = Some(not_before.map_or(until, |earlier| earlier.max(until)));
        }
    }
}

/// A .NET time span as ARG writes `x-ms-user-quota-resets-after`: `hh:mm:ss`, perhaps
/// with days (`d.hh:mm:ss`) or fractional seconds (`hh:mm:ss.fff`). Anything else is None.
pub(crate) fn parse_time_span(text: &str) -> Option<Duration> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let [days_hours, minutes, seconds] = parts.as_slice() else {
        return None;
    };
    let (days, hours) = match days_hours.split_once('.') {
        Some((days, hours)) => (days.parse::<u64>().ok()?, hours.parse::<u64>().ok()?),
        None => (0, days_hours.parse::<u64>().ok()?),
    };
    let minutes = minutes.parse::<u64>().ok()?;
    let seconds = seconds.parse::<f64>().ok()?;
    if hours >= 24 || minutes >= 60 || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let whole = ((days * 24 + hours) * 60 + minutes) * 60;
    Some(Duration::from_secs(whole) + Duration::from_secs_f64(seconds))
}

/// The request body of one page: the same query, scopes and options on every page, plus
/// the previous page's `$skipToken` after the first.
pub(crate) fn request_body(query: &GraphQuery, skip_token: Option<&str>) -> Value {
    let mut options = Map::new();
    options.insert("$top".into(), json!(query.page_size));
    options.insert("resultFormat".into(), json!("objectArray"));
    if let Some(token) = skip_token {
        options.insert("$skipToken".into(), json!(token));
    }
    if let Some(filter) = &query.authorization_scope_filter {
        options.insert("authorizationScopeFilter".into(), json!(filter));
    }
    let mut body = Map::new();
    if !query.subscriptions.is_empty() {
        body.insert("subscriptions".into(), json!(query.subscriptions));
    }
    if !query.management_groups.is_empty() {
        body.insert("managementGroups".into(), json!(query.management_groups));
    }
    body.insert("query".into(), json!(query.query));
    body.insert("options".into(), Value::Object(options));
    Value::Object(body)
}

/// One page of an answer.
struct Page {
    rows: Vec<Value>,
    total_records: Option<u64>,
    skip_token: Option<String>,
    truncated: bool,
}

fn page(body: Value) -> Result<Page, Failure> {
    let Value::Object(mut body) = body else {
        return Err(Failure::malformed(
            "the Resource Graph answer is not a JSON object",
        ));
    };
    let Some(Value::Array(rows)) = body.remove("data") else {
        return Err(Failure::malformed(
            "the Resource Graph answer has no 'data' array of rows",
        ));
    };
    // The spec makes resultTruncated a string enum; a boolean is taken too.
    let truncated = match body.get("resultTruncated") {
        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
        Some(Value::Bool(truncated)) => *truncated,
        _ => false,
    };
    Ok(Page {
        rows,
        total_records: body.get("totalRecords").and_then(Value::as_u64),
        skip_token: body
            .get("$skipToken")
            .and_then(Value::as_str)
            .filter(|token| !token.is_empty())
            .map(str::to_string),
        truncated,
    })
}

/// ARG's error answer: the code and message of its `details[]` (where it says what is
/// wrong with the query) before the top-level ones (a support boilerplate with the
/// correlation ID, kept at the end).
fn error_answer(status: StatusCode, body: &[u8]) -> Failure {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|body| body.get("error").cloned());
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
    let top_code = text(error.as_ref().and_then(|e| e.get("code")));
    let top_message = text(error.as_ref().and_then(|e| e.get("message")));
    let details: Vec<(Option<String>, Option<String>)> = error
        .as_ref()
        .and_then(|e| e.get("details"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|detail| (text(detail.get("code")), text(detail.get("message"))))
        .collect();
    let code = details
        .iter()
        .find_map(|(code, _)| code.clone())
        .or(top_code);
    let mut messages: Vec<String> = details
        .into_iter()
        // `{"code": "InvalidQueryLanguage", "message": "InvalidQueryLanguage"}` says nothing more.
        .filter_map(|(code, message)| message.filter(|m| Some(m) != code.as_ref()))
        .collect();
    messages.extend(top_message);
    let message = if messages.is_empty() {
        format!("HTTP {} without an error message", u16::from(status))
    } else {
        super::one_line(&messages.join(" "))
    };
    Failure {
        status: Some(u16::from(status)),
        error: ReadError {
            kind: FailureKind::Http,
            arm_code: code,
            message,
        },
    }
}

/// `Retry-After` in seconds, when the answer has one.
fn retry_after(headers: &Headers) -> Option<Duration> {
    headers
        .get_optional_str(&azure_core::headers::RETRY_AFTER)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

impl ArmClient {
    /// Every page of `query`, merged. A query ARG cannot page (no `id` column, or a
    /// `take`/`limit`) answers `resultTruncated` without a `$skipToken`: that is an error,
    /// not a short list.
    pub(super) async fn query_resource_graph(&self, query: &GraphQuery) -> Result<Value, Failure> {
        let mut url = self
            .base
            .join(RESOURCE_GRAPH_PATH.trim_start_matches('/'))
            .map_err(|e| Failure::local(format!("bad URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", API_RESOURCE_GRAPH);
        let mut rows = Vec::new();
        let mut skip_token: Option<String> = None;
        for _ in 0..self.max_pages {
            let body = request_body(query, skip_token.as_deref());
            let page = page(self.resource_graph_page(&url, &body).await?)?;
            rows.extend(page.rows);
            let total = page.total_records.unwrap_or(rows.len() as u64);
            match page.skip_token {
                Some(token) => skip_token = Some(token),
                None if page.truncated && (rows.len() as u64) < total => {
                    return Err(Failure::malformed(format!(
                        "Resource Graph truncated the answer ({} of {total} rows) and gave no $skipToken: the query is not pageable (it must project id and use no take/limit/sample)",
                        rows.len()
                    )));
                }
                None => return Ok(json!({ "data": rows, "totalRecords": total })),
            }
        }
        Err(Failure::malformed(format!(
            "the Resource Graph query did not end within {} pages",
            self.max_pages
        )))
    }

    /// One page: waits for the quota, sends, retries what the pipeline would retry.
    async fn resource_graph_page(&self, url: &Url, body: &Value) -> Result<Value, Failure> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Failure::local(format!("the query could not be encoded: {e}")))?;
        let started = Instant::now();
        let mut retries = 0;
        loop {
            self.graph_quota.wait_turn().await;
            let mut request = Request::new(url.clone(), Method::Post);
            request.insert_header(
                azure_core::headers::AUTHORIZATION,
                self.bearer(Audience::Arm).await?,
            );
            request.insert_header(azure_core::headers::CONTENT_TYPE, "application/json");
            request.set_body(body.clone());
            let (failure, wait_hint) = match self.transport.execute_request(&request).await {
                Ok(response) => {
                    let status = response.status();
                    self.graph_quota.note(status, response.headers());
                    if status.is_success() {
                        return self.json_body(response).await;
                    }
                    let hint = retry_after(response.headers());
                    let failure = error_answer(status, &self.body_bytes(response).await?);
                    if !RETRY_STATUSES.contains(&status) {
                        return Err(failure);
                    }
                    (failure, hint)
                }
                Err(e) if e.kind() == &azure_core::error::ErrorKind::Io => {
                    (Failure::from_core(&e), None)
                }
                Err(e) => return Err(Failure::from_core(&e)),
            };
            if self.retry.is_expired(started.elapsed(), retries) {
                return Err(failure);
            }
            retries += 1;
            // A 429 without Retry-After still waits for the quota's reset (`wait_turn`).
            tokio::time::sleep(self.retry.delay(retries, wait_hint)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::CallStats;
    use crate::reads::{ArmRead, RawRead};
    use wiremock::matchers::{body_partial_json, method, path, query_param};
    use wiremock::{Mock, MockServer, Request as Received, ResponseTemplate};

    const EXAMPLES: &str = "/work/shared/arm-examples/resourcegraph";
    const SUBSCRIPTION: &str = "cfbbd179-59d2-4052-aa06-9270a38aa9d6";
    const Q_CLUSTERS: &str = "resources | where type =~ 'microsoft.containerservice/managedclusters' | project id, name, type, location, resourceGroup, subscriptionId, tags, sku, identity, properties | order by id asc";

    fn client(server: &MockServer) -> ArmClient {
        crate::arm::testing::client(server)
    }

    fn example(name: &str) -> Value {
        let text = std::fs::read_to_string(format!("{EXAMPLES}/{name}.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn clusters() -> GraphQuery {
        GraphQuery {
            query: Q_CLUSTERS.into(),
            subscriptions: vec![SUBSCRIPTION.into()],
            management_groups: Vec::new(),
            authorization_scope_filter: None,
            page_size: 3,
        }
    }

    /// The last page of a paged answer: the next-page example without its `$skipToken`.
    fn last_page() -> Value {
        let mut last = example("resources_nextPage");
        last.as_object_mut().unwrap().remove("$skipToken");
        last
    }

    fn rows_of(body: &Value) -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn sent_body(request: &Received) -> Value {
        serde_json::from_slice(&request.body).unwrap()
    }

    async fn graph_requests(server: &MockServer) -> Vec<Received> {
        server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == RESOURCE_GRAPH_PATH)
            .collect()
    }

    async fn read(client: &ArmClient, query: GraphQuery) -> RawRead {
        client.read(&ArmRead::ResourceGraph(query)).await
    }

    #[test]
    fn the_body_has_the_scopes_and_options_that_are_set() {
        let mut query = clusters();
        assert_eq!(
            request_body(&query, None),
            json!({"subscriptions": [SUBSCRIPTION], "query": Q_CLUSTERS, "options": {"$top": 3, "resultFormat": "objectArray"}})
        );
        query.subscriptions.clear();
        query.management_groups = vec!["mg1".into()];
        query.authorization_scope_filter = Some("AtScopeAboveAndBelow".into());
        assert_eq!(
            request_body(&query, Some("tok")),
            json!({"managementGroups": ["mg1"], "query": Q_CLUSTERS, "options": {"$top": 3, "resultFormat": "objectArray", "$skipToken": "tok", "authorizationScopeFilter": "AtScopeAboveAndBelow"}})
        );
    }

    #[test]
    fn quota_reset_times_parse_as_dotnet_time_spans() {
        for (text, expected) in [
            ("00:00:03", Duration::from_secs(3)),
            (" 00:01:05 ", Duration::from_secs(65)),
            ("1.02:00:00", Duration::from_secs(26 * 3600)),
            ("00:00:01.5", Duration::from_millis(1500)),
            ("00:00:00", Duration::ZERO),
        ] {
            assert_eq!(parse_time_span(text), Some(expected), "{text}");
        }
        for text in [
            "",
            "3",
            "00:03",
            "-00:00:03",
            "00:60:00",
            "00:00:xx",
            "a.00:00:01",
        ] {
            assert_eq!(parse_time_span(text), None, "{text}");
        }
    }

    #[tokio::test]
    async fn pages_are_followed_by_skip_token_and_merged() {
        let server = MockServer::start().await;
        let first = example("resources_firstPage");
        let token = first["$skipToken"].as_str().unwrap().to_string();
        Mock::given(method("POST"))
            .and(path(RESOURCE_GRAPH_PATH))
            .and(query_param("api-version", "2022-10-01"))
            .and(body_partial_json(json!({"options": {"$skipToken": token}})))
            .respond_with(ResponseTemplate::new(200).set_body_json(last_page()))
            .with_priority(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(RESOURCE_GRAPH_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(first))
            .expect(1)
            .mount(&server)
            .await;
        let client = client(&server);
        let raw = read(&client, clusters()).await;
        assert_eq!(raw.error, None);
        let body = raw.body.unwrap();
        assert_eq!(body["totalRecords"], json!(386));
        assert_eq!(
            rows_of(&body),
            [
                "yetanothertest_OsDisk_1_f396cbcb625a457bb69fe2abf5975820",
                "TestAA",
                "TestRB",
                "second_OsDisk_dddddbcb625a457bb69fe2abf5975820",
                "AATest",
                "RBTest"
            ]
        );
        let sent = graph_requests(&server).await;
        assert_eq!(sent.len(), 2);
        assert_eq!(sent_body(&sent[0]), request_body(&clusters(), None));
        assert_eq!(sent_body(&sent[1]), request_body(&clusters(), Some(&token)));
        assert_eq!(
            sent[0].headers.get("content-type").unwrap(),
            "application/json"
        );
        assert_eq!(
            client.stats(),
            CallStats {
                arm_requests: 0,
                graph_queries: 2,
                throttled: 0
            }
        );
    }

    #[tokio::test]
    async fn a_spent_quota_delays_the_next_page_until_it_resets() {
        let server = MockServer::start().await;
        let first = example("resources_firstPage");
        let token = first["$skipToken"].as_str().unwrap().to_string();
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"options": {"$skipToken": token}})))
            .respond_with(ResponseTemplate::new(200).set_body_json(last_page()))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(first)
                    .insert_header("x-ms-user-quota-remaining", "0")
                    .insert_header("x-ms-user-quota-resets-after", "00:00:01"),
            )
            .mount(&server)
            .await;
        let client = client(&server);
        let started = std::time::Instant::now();
        let raw = read(&client, clusters()).await;
        assert_eq!(raw.error, None);
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(rows_of(raw.body.as_ref().unwrap()).len(), 6);
    }

    #[tokio::test]
    async fn a_throttled_query_is_retried_after_retry_after() {
        let server = MockServer::start().await;
        let throttled = json!({"error": {"code": "RateLimiting", "message": "Please provide below info when asking for support: timestamp = 2021-05-03T07:08:29.0524831Z, correlationId = 0f5a6b2e-5f0e-4f7c-9d4b-3c2f5a1b7e21.", "details": [{"code": "RateLimiting", "message": "Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help."}]}});
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(429)
                    .set_body_json(throttled)
                    .insert_header("Retry-After", "1"),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(example("resources_basic")))
            .mount(&server)
            .await;
        let client = client(&server);
        let started = std::time::Instant::now();
        let raw = read(&client, clusters()).await;
        assert_eq!(raw.error, None);
        assert_eq!(rows_of(raw.body.as_ref().unwrap()).len(), 3);
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(
            client.stats(),
            CallStats {
                arm_requests: 0,
                graph_queries: 2,
                throttled: 1
            }
        );
    }

    #[tokio::test]
    async fn a_bad_query_fails_with_what_arg_said_about_it() {
        let server = MockServer::start().await;
        let invalid = json!({"error": {"code": "BadRequest", "message": "Please provide below info when asking for support: timestamp = 2020-12-16T16:57:12.4249513Z, correlationId = 6902d332-0d54-4bd8-a8f7-7a6e2b5ac2a1.", "details": [{"code": "InvalidQuery", "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying."}, {"code": "InvalidQueryLanguage", "message": "InvalidQueryLanguage", "line": -1, "characterPositionInLine": -1, "token": "parse"}]}});
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(invalid))
            .expect(1)
            .mount(&server)
            .await;
        let raw = read(&client(&server), clusters()).await;
        assert_eq!(raw.status, Some(400));
        let error = raw.error.unwrap();
        assert_eq!(error.kind, FailureKind::Http);
        assert_eq!(error.code(), "InvalidQuery");
        assert!(
            error
                .message
                .starts_with("Query is invalid. Please refer to the documentation")
                && error.message.contains("correlationId = 6902d332")
                && !error.message.contains("InvalidQueryLanguage"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn a_truncated_answer_without_skip_token_is_not_a_short_list() {
        let server = MockServer::start().await;
        let mut truncated = example("resources_firstPage");
        let object = truncated.as_object_mut().unwrap();
        object.remove("$skipToken");
        object.insert("resultTruncated".into(), json!("true"));
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(truncated))
            .mount(&server)
            .await;
        let raw = read(&client(&server), clusters()).await;
        let error = raw.error.unwrap();
        assert_eq!(error.kind, FailureKind::MalformedBody);
        assert!(
            error.message.contains("not pageable") && error.message.contains("3 of 386"),
            "{}",
            error.message
        );
        // Truncated but complete (ARG says so for a `take` that returned everything).
        let mut complete = example("resources_basic");
        complete["resultTruncated"] = json!("true");
        assert!(page(complete).is_ok_and(|p| p.truncated && p.skip_token.is_none()));
    }
}
