//! An in-process fake ARM (and AAD token endpoint, and Microsoft Graph under `/v1.0/`) for
//! running the real binary against.
//!
//! It serves a fixture bundle's recorded reads at their paths, routed case-insensitively
//! as ARM does, each only at the api-version it was recorded with (another api-version
//! gets ARM's 400); tests override single reads (errors, throttling, pages, bad bodies)
//! with higher-priority mocks. Graph serves nothing unless a test mounts it
//! ([`FakeArm::answer_groups`]). Nothing here talks to anything but 127.0.0.1.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use wiremock::matchers::{method, query_param};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

pub mod fleet;

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_SECRET: &str = "planted-client-secret-Zq8~x";
/// The token the fake sign-in hands out: a JWT, as Entra's are, whose payload names the
/// caller ([`CALLER`]); planted, so tests can assert it never leaks.
pub const ACCESS_TOKEN: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJvaWQiOiIwYzBhMTFlNy0wMDAwLTQwMDAtODAwMC0wMDAwY2ExMWU3MDAiLCJwbGFudGVkIjoiYWNjZXNzLXRva2VuIn0.cGxhbnRlZC1hY2Nlc3MtdG9rZW4";
/// The object ID in [`ACCESS_TOKEN`]'s `oid` claim.
pub const CALLER: &str = "0c0a11e7-0000-4000-8000-0000ca11e700";
pub const SUB: &str = "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7";
pub const CLUSTER: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-aks-prod/providers/Microsoft.ContainerService/managedClusters/aks-prod";
pub const VAULT: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-aks-prod";
pub const ACCOUNT: &str = "/subscriptions/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/resourceGroups/rg-backup/providers/Microsoft.Storage/storageAccounts/staksbackupprod";

/// The bundle `fixtures/<name>`; an absolute `name` is a bundle elsewhere (an altered copy).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Copies a directory tree (a fixture bundle, to alter in a test).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest)
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

/// The recorded reads of a fixture bundle: (path, status, body or error).
pub fn fixture_reads(name: &str) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(fixture(name).join("reads"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

pub fn fixture_target(name: &str) -> Value {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(name).join("manifest.json")).unwrap(),
    )
    .unwrap();
    manifest["target"].clone()
}

/// ARM paths are case-insensitive; the fake routes them that way.
pub struct PathIgnoringCase(pub String);

impl Match for PathIgnoringCase {
    fn matches(&self, request: &Request) -> bool {
        request.url.path().eq_ignore_ascii_case(&self.0)
    }
}

pub fn arm_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// ARM's 403 body, naming the missing action as the real service does.
pub fn authorization_failed(action: &str, scope: &str) -> Value {
    arm_error(
        "AuthorizationFailed",
        &format!("The client 'c1' with object id 'c1' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."),
    )
}

/// Probe records (TCP connections the collector makes itself) are not HTTP reads; blob
/// listings are served under `/blob/` by their own mocks.
pub fn is_http_read(read: &Value) -> bool {
    read["method"] != "TCP"
        && read["source"] != "probe"
        && read["source"] != "blob"
        && read["source"] != "kubernetes"
}

/// A container listing request of the blob data plane, under the fake's `/blob/`.
struct BlobListing;

impl Match for BlobListing {
    fn matches(&self, request: &Request) -> bool {
        request.url.path().starts_with("/blob/")
            && request
                .url
                .query_pairs()
                .any(|(k, v)| k == "comp" && v == "list")
    }
}

/// A List Blobs answer in the shape of the REST reference: `EnumerationResults` with the
/// given blob names and `NextMarker`, as the storage service sends it.
pub fn blob_listing(names: &[&str], next_marker: Option<&str>) -> ResponseTemplate {
    let blobs: String = names
        .iter()
        .map(|name| {
            format!("<Blob><Name>{name}</Name><Properties><Creation-Time>Mon, 02 Nov 2026 10:00:00 GMT</Creation-Time><Last-Modified>Mon, 02 Nov 2026 10:00:00 GMT</Last-Modified><Etag>0x8DCB0A1C</Etag><Content-Length>2048</Content-Length><Content-Type>application/octet-stream</Content-Type><BlobType>BlockBlob</BlobType><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState></Properties></Blob>")
        })
        .collect();
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"https://staksbackupprod.blob.core.windows.net/\" ContainerName=\"aks-backups\"><MaxResults>50</MaxResults><Blobs>{blobs}</Blobs><NextMarker>{}</NextMarker></EnumerationResults>",
        next_marker.unwrap_or_default()
    );
    ResponseTemplate::new(200)
        .insert_header("Content-Type", "application/xml")
        .insert_header("x-ms-version", "2023-11-03")
        .set_body_string(body)
}

/// The blob service's 403 when the token's identity lacks the data action.
pub fn blob_permission_mismatch() -> ResponseTemplate {
    ResponseTemplate::new(403)
        .insert_header("Content-Type", "application/xml")
        .insert_header("x-ms-error-code", "AuthorizationPermissionMismatch")
        .set_body_string("\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform this operation using this permission.\nRequestId:1b2c3d4e-0001-0002-0003-000000000000\nTime:2026-11-29T10:00:00.0000000Z</Message></Error>")
}

/// A GET of `path` (any case), with `$filter` when given: reads of one path that differ by
/// it (role assignments per principal) are routed by it too.
fn read_mock(path: &str, filter: Option<&str>) -> MockBuilder {
    let mock = Mock::given(method("GET")).and(PathIgnoringCase(path.to_string()));
    match filter {
        Some(filter) => mock.and(query_param("$filter", filter)),
        None => mock,
    }
}

/// ARM's 400 for a read at an api-version the fixture did not record it with: a fixture
/// read is never served to a request the real ARM would have answered differently.
struct InvalidApiVersion {
    recorded: Option<String>,
    latency: Duration,
}

impl Respond for InvalidApiVersion {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let asked = request
            .url
            .query_pairs()
            .find(|(key, _)| key == "api-version")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        let message = format!(
            "The api-version '{asked}' is invalid. The supported versions are '{}'.",
            self.recorded.as_deref().unwrap_or_default()
        );
        ResponseTemplate::new(400)
            .set_body_json(arm_error("InvalidApiVersionParameter", &message))
            .set_delay(self.latency)
    }
}

pub struct FakeArm {
    pub server: MockServer,
}

impl FakeArm {
    /// A fake with the token endpoint and every read of `fixture` mounted.
    pub async fn serving(fixture: &str) -> Self {
        let fake = FakeArm {
            server: MockServer::start().await,
        };
        fake.mount_fixture(fixture, Duration::ZERO).await;
        fake
    }

    /// Mounts the token endpoint and the fixture's reads, each answer delayed by `latency`.
    pub async fn mount_fixture(&self, fixture: &str, latency: Duration) {
        self.mount_token_endpoint(latency).await;
        self.mount_empty_blob_listings(latency).await;
        for read in fixture_reads(fixture).into_iter().filter(is_http_read) {
            let path = read["path"].as_str().unwrap().to_string();
            let filter = read["filter"].as_str();
            let status = read["status"].as_u64().unwrap_or(500) as u16;
            let mut body = match &read["error"] {
                Value::Null => read["body"].clone(),
                error => json!({"error": error}),
            };
            self.serve_blob_endpoint_here(&mut body);
            let recorded_version = read["api_version"].as_str().map(str::to_string);
            if let Some(version) = &recorded_version {
                read_mock(&path, filter)
                    .and(query_param("api-version", version.as_str()))
                    .respond_with(
                        ResponseTemplate::new(status)
                            .set_body_json(body)
                            .set_delay(latency),
                    )
                    .with_priority(5)
                    .mount(&self.server)
                    .await;
            }
            read_mock(&path, filter)
                .respond_with(InvalidApiVersion {
                    recorded: recorded_version,
                    latency,
                })
                .with_priority(6)
                .mount(&self.server)
                .await;
        }
    }

    /// The AAD token endpoint of [`TENANT`], answering every request with [`ACCESS_TOKEN`].
    async fn mount_token_endpoint(&self, latency: Duration) {
        let token = json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": ACCESS_TOKEN});
        Mock::given(method("POST"))
            .and(PathIgnoringCase(format!("/{TENANT}/oauth2/v2.0/token")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(token)
                    .set_delay(latency),
            )
            .mount(&self.server)
            .await;
    }

    /// Points a storage account's `primaryEndpoints.blob` at this fake (`/blob/<account>/`),
    /// so no test reaches a real blob host; every container there lists empty unless a
    /// test answers it ([`Self::answer_blobs`]).
    pub fn serve_blob_endpoint_here(&self, body: &mut Value) {
        let endpoint = &mut body["properties"]["primaryEndpoints"]["blob"];
        let Some(real) = endpoint.as_str() else {
            return;
        };
        let account = real
            .trim_start_matches("https://")
            .split('.')
            .next()
            .unwrap_or_default()
            .to_string();
        *endpoint = Value::from(format!("{}/blob/{account}/", self.server.uri()));
    }

    async fn mount_empty_blob_listings(&self, latency: Duration) {
        Mock::given(method("GET"))
            .and(BlobListing)
            .respond_with(blob_listing(&[], None).set_delay(latency))
            .with_priority(7)
            .mount(&self.server)
            .await;
    }

    /// Answers the listing of `container` of `account` (the page `marker` asks for, or the
    /// first) with `response`.
    pub async fn answer_blobs(
        &self,
        account: &str,
        container: &str,
        marker: Option<&str>,
        response: ResponseTemplate,
    ) {
        let mock = Mock::given(method("GET"))
            .and(PathIgnoringCase(format!("/blob/{account}/{container}")))
            .and(query_param("restype", "container"))
            .and(query_param("comp", "list"));
        let (mock, priority) = match marker {
            Some(marker) => (mock.and(query_param("marker", marker)), 1),
            None => (mock, 2),
        };
        mock.respond_with(response)
            .with_priority(priority)
            .mount(&self.server)
            .await;
    }

    /// Blob data-plane requests only.
    pub async fn blob_requests(&self) -> Vec<Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r.url.path().starts_with("/blob/"))
            .collect()
    }

    async fn mount(&self, path: &str, priority: u8, response: ResponseTemplate) {
        self.mount_filtered(path, None, priority, response).await;
    }

    /// Mounts `response` for the read of `path` (and `filter`) at any api-version.
    async fn mount_filtered(
        &self,
        path: &str,
        filter: Option<&str>,
        priority: u8,
        response: ResponseTemplate,
    ) {
        read_mock(path, filter)
            .respond_with(response)
            .with_priority(priority)
            .mount(&self.server)
            .await;
    }

    /// Answers POST `{account}/listKeys` (the only POST the tool may send to ARM).
    pub async fn answer_list_keys(&self, account: &str, status: u16, body: Value) {
        Mock::given(method("POST"))
            .and(PathIgnoringCase(format!("{account}/listKeys")))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    /// Replaces the answer of a read that has a `$filter`.
    pub async fn answer_filtered(&self, path: &str, filter: &str, status: u16, body: Value) {
        let response = ResponseTemplate::new(status).set_body_json(body);
        self.mount_filtered(path, Some(filter), 1, response).await;
    }

    /// Replaces one read's answer for the rest of the test.
    pub async fn answer(&self, path: &str, status: u16, body: Value) {
        self.mount(path, 1, ResponseTemplate::new(status).set_body_json(body))
            .await;
    }

    pub async fn answer_raw(&self, path: &str, response: ResponseTemplate) {
        self.mount(path, 1, response).await;
    }

    /// Answers the next `times` requests to `path` with `response`, then falls back.
    pub async fn answer_first(&self, path: &str, times: u64, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(PathIgnoringCase(path.to_string()))
            .respond_with(response)
            .with_priority(1)
            .up_to_n_times(times)
            .mount(&self.server)
            .await;
    }

    /// Answers Graph's `transitiveMemberOf` of `principal` with `status` and `body` (page
    /// one; a request carrying `$skiptoken` is another page, see [`Self::answer_groups_page`]).
    pub async fn answer_groups(&self, principal: &str, status: u16, body: Value) {
        Mock::given(method("GET"))
            .and(PathIgnoringCase(graph_groups_path(principal)))
            .and(query_param("$select", "id"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .with_priority(2)
            .mount(&self.server)
            .await;
    }

    /// Answers the page of `principal`'s groups that `$skiptoken=token` asks for.
    pub async fn answer_groups_page(&self, principal: &str, token: &str, body: Value) {
        Mock::given(method("GET"))
            .and(PathIgnoringCase(graph_groups_path(principal)))
            .and(query_param("$skiptoken", token))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// Microsoft Graph requests only.
    /// The bodies of the token requests the fake's sign-in endpoint received (the scope
    /// each asked for is in its form-encoded body).
    pub async fn token_request_bodies(&self) -> Vec<String> {
        self.requests()
            .await
            .iter()
            .filter(|r| r.url.path().contains("/oauth2/"))
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
    }

    pub async fn graph_requests(&self) -> Vec<Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r.url.path().starts_with("/v1.0/"))
            .collect()
    }

    /// The fixture's recorded body of the read at `path`, for editing.
    pub fn body(fixture: &str, path: &str) -> Value {
        fixture_reads(fixture)
            .into_iter()
            .find(|r| r["path"].as_str().unwrap().eq_ignore_ascii_case(path))
            .map(|r| r["body"].clone())
            .unwrap_or_else(|| panic!("no read {path} in {fixture}"))
    }

    pub async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    /// ARM requests only (not the token request, nor the blob data plane's).
    pub async fn arm_requests(&self) -> Vec<Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| !r.url.path().contains("/oauth2/") && !r.url.path().starts_with("/blob/"))
            .collect()
    }

    /// The binary with a clean environment pointing at this fake.
    pub fn command(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("pxb-preflight").unwrap();
        cmd.env_clear()
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", "0b7c1a2d-5555-4666-8777-d88899900011")
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
            .env("AZURE_AUTHORITY_HOST", self.server.uri())
            .env("AZURE_CREDENTIAL_KIND", "environment")
            .args(args)
            .args(["--arm-endpoint", &self.server.uri()])
            .args(["--graph-endpoint", &self.server.uri()]);
        cmd
    }

    /// `collect --out OUT` of the fixture's target against this fake.
    pub fn collect(&self, fixture: &str, out: &Path, extra: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.command(&["collect", "--out", out.to_str().unwrap()]);
        cmd.args(target_args(fixture)).args(extra);
        cmd
    }

    /// `check` of the fixture's target against this fake.
    pub fn check(&self, fixture: &str, extra: &[&str]) -> assert_cmd::Command {
        let mut args = vec!["check".to_string()];
        args.extend(target_args(fixture));
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.command(&refs)
    }
}

/// Graph's path of the groups a principal belongs to, directly or through other groups.
pub fn graph_groups_path(principal: &str) -> String {
    format!("/v1.0/directoryObjects/{principal}/transitiveMemberOf")
}

/// A `transitiveMemberOf` page in Graph's published shape, listing `groups` by id.
pub fn graph_groups(groups: &[&str], next_link: Option<String>) -> Value {
    let mut page = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects(id)",
        "value": groups.iter().map(|id| json!({"@odata.type": "#microsoft.graph.group", "id": id})).collect::<Vec<_>>(),
    });
    if let Some(link) = next_link {
        page["@odata.nextLink"] = Value::from(link);
    }
    page
}

/// The target flags that reproduce a fixture's manifest.
pub fn target_args(fixture: &str) -> Vec<String> {
    let target = fixture_target(fixture);
    let mut args = Vec::new();
    for (key, flag) in [
        ("cluster", "--cluster"),
        ("vault", "--vault"),
        ("snapshot_resource_group", "--snapshot-resource-group"),
        ("storage_account", "--storage-account"),
        ("blob_container", "--blob-container"),
    ] {
        if let Some(value) = target[key].as_str() {
            args.push(flag.to_string());
            args.push(value.to_string());
        }
    }
    args
}

/// The binary with a clean environment, for runs that need no Azure (bundles, usage).
pub fn bin() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("pxb-preflight").unwrap();
    cmd.env_clear();
    cmd
}

/// Runs a command off the async runtime (the fake server lives on it).
pub async fn run(mut cmd: assert_cmd::Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

pub fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub fn status_of<'a>(report: &'a Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))["status"]
        .as_str()
        .unwrap()
}

pub fn check_of<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

/// The catalog as `pxb-preflight checks` lists it: each check's id and profiles, in order.
pub fn catalog() -> Vec<(String, Vec<String>)> {
    let out = assert_cmd::Command::cargo_bin("pxb-preflight")
        .unwrap()
        .env_clear()
        .arg("checks")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut columns = line.split_whitespace();
            let id = columns.next().unwrap_or_default().to_string();
            let profiles = columns.next().unwrap_or_default();
            (id, profiles.split(',').map(str::to_string).collect())
        })
        .collect()
}

/// The ids of the catalog's checks that run under `--profile profile` (`all`: every one).
pub fn catalog_ids(profile: &str) -> Vec<String> {
    catalog()
        .into_iter()
        .filter(|(_, profiles)| profile == "all" || profiles.iter().any(|p| p == profile))
        .map(|(id, _)| id)
        .collect()
}

/// The names of the fixture bundles: the directories of `fixtures/` with a manifest.
pub fn fixture_bundles() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|dir| dir.join("manifest.json").is_file())
        .map(|dir| dir.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
