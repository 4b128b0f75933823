//! A fake fleet for `pxb-preflight fleet`: ARM and Azure Resource Graph (ARG) serving N
//! clusters spread over S subscriptions, generated from one fixture bundle, with ARM's and
//! ARG's latency and throttling.
//!
//! Every HTTP read of the template bundle is rewritten per cluster (subscription, cluster,
//! resource groups, control-plane principal) and served over ARM at any api-version; reads
//! that do not name the cluster (vault, storage account, role definitions, policy) stay one
//! per subscription, lists among them (backup instances, role assignments) holding every
//! cluster's items. ARG answers the fleet's five queries from the same reads (of a user's
//! `--where`, only tag comparisons are applied). Nothing here talks to anything but
//! 127.0.0.1; this is a test double, not a model of KQL.

use super::{fixture_reads, fixture_target, is_http_read, FakeArm};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

/// How the fleet is generated and how hard the fake pushes back.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    pub clusters: usize,
    pub subscriptions: usize,
    /// The fixture bundle every cluster is a copy of.
    pub template: String,
    /// Added to every answer (ARM, ARG, token, blob).
    pub latency: Duration,
    /// ARM's read bucket per subscription (and the tenant's): size and refill per second.
    pub arm_bucket: f64,
    pub arm_refill_per_second: f64,
    /// ARG's per-user quota: queries per window.
    pub graph_quota: u32,
    pub graph_window: Duration,
}

impl FleetConfig {
    /// `clusters` copies of the ready bundle over `subscriptions` subscriptions, with the
    /// real services' numbers: 100 ms per answer, ARM 250 reads refilled at 25/s, ARG 15
    /// queries per 5 s.
    pub fn new(clusters: usize, subscriptions: usize) -> Self {
        FleetConfig {
            clusters,
            subscriptions: subscriptions.max(1),
            template: "ready".to_string(),
            latency: Duration::from_millis(100),
            arm_bucket: 250.0,
            arm_refill_per_second: 25.0,
            graph_quota: 15,
            graph_window: Duration::from_secs(5),
        }
    }
}

/// What the fake has answered so far.
#[derive(Default)]
struct Counters {
    arm_requests: AtomicU64,
    graph_queries: AtomicU64,
    arm_throttled: AtomicU64,
    graph_throttled: AtomicU64,
}

pub struct FakeFleet {
    /// The server, its token endpoint and blob listings, and `command()`. A test may
    /// override single reads through it (`answer`, `answer_first`: they win over the
    /// fleet's reads, and bypass its throttling and counters).
    pub arm: FakeArm,
    subscriptions: Vec<String>,
    clusters: Vec<String>,
    served: Arc<Served>,
    counters: Arc<Counters>,
}

impl FakeFleet {
    /// Generates the fleet `config` describes and starts serving it.
    pub async fn start(config: FleetConfig) -> Self {
        let arm = FakeArm {
            server: MockServer::start().await,
        };
        let template = Template::load(&config.template);
        let subscriptions: Vec<String> = (0..config.subscriptions).map(subscription_id).collect();
        let mut reads = Reads::default();
        let mut clusters = Vec::new();
        for index in 0..config.clusters {
            let subscription = &subscriptions[index % subscriptions.len()];
            let rewrite = template.rewrite_for(index, subscription);
            clusters.push(rewrite.apply(&template.cluster_id));
            for read in &template.reads {
                let mut read: Value = serde_json::from_str(&rewrite.apply(&read.to_string()))
                    .expect("a rewritten read is JSON");
                arm.serve_blob_endpoint_here(&mut read["body"]);
                reads.add(&read);
            }
        }
        reads.add_subscription_lists(&subscriptions);
        clusters.sort_by_key(|id| id.to_ascii_lowercase());
        let graph_rows = GraphRows::from_reads(&reads);
        let served = Arc::new(Served { reads, graph_rows });
        let counters = Arc::new(Counters::default());

        arm.mount_token_endpoint(config.latency).await;
        arm.mount_empty_blob_listings(config.latency).await;
        Mock::given(method("GET"))
            .and(ArmPath)
            .respond_with(ArmReads {
                served: served.clone(),
                counters: counters.clone(),
                buckets: Mutex::new(HashMap::new()),
                config: config.clone(),
            })
            .with_priority(10)
            .mount(&arm.server)
            .await;
        // Microsoft Graph: each principal's groups, as its `assignedTo` lists imply them.
        Mock::given(method("GET"))
            .and(wiremock::matchers::path_regex(
                r"^/v1\.0/directoryObjects/[^/]+/transitiveMemberOf$",
            ))
            .respond_with(GroupsOf {
                groups: served.reads.groups_of_principals(),
                latency: config.latency,
            })
            .mount(&arm.server)
            .await;
        Mock::given(method("POST"))
            .and(super::PathIgnoringCase(GRAPH_PATH.to_string()))
            .respond_with(GraphQueries {
                served: served.clone(),
                counters: counters.clone(),
                window: Mutex::new(None),
                config,
            })
            .mount(&arm.server)
            .await;
        FakeFleet {
            arm,
            subscriptions,
            clusters,
            served,
            counters,
        }
    }

    /// The generated subscription IDs, in order.
    pub fn subscriptions(&self) -> &[String] {
        &self.subscriptions
    }

    /// The generated clusters' resource IDs, sorted case-insensitively.
    pub fn clusters(&self) -> &[String] {
        &self.clusters
    }

    /// Every body the fake serves over ARM (for checking the generation).
    pub fn arm_bodies(&self) -> Vec<&Value> {
        self.served
            .reads
            .by_path
            .values()
            .flat_map(|by_filter| by_filter.values().map(|stored| &stored.answer.body))
            .collect()
    }

    /// ARM requests received (throttled ones included).
    pub fn arm_requests(&self) -> u64 {
        self.counters.arm_requests.load(Ordering::Relaxed)
    }

    /// ARG queries received, one per page (throttled ones included).
    pub fn graph_queries(&self) -> u64 {
        self.counters.graph_queries.load(Ordering::Relaxed)
    }

    /// ARM 429s sent.
    pub fn arm_throttled(&self) -> u64 {
        self.counters.arm_throttled.load(Ordering::Relaxed)
    }

    /// ARG 429s sent.
    pub fn graph_throttled(&self) -> u64 {
        self.counters.graph_throttled.load(Ordering::Relaxed)
    }

    pub fn uri(&self) -> String {
        self.arm.server.uri()
    }

    /// The binary with a clean environment signing in to and reading from this fake.
    pub fn command(&self, args: &[&str]) -> assert_cmd::Command {
        self.arm.command(args)
    }
}

pub const GRAPH_PATH: &str = "/providers/Microsoft.ResourceGraph/resources";

/// A generated subscription ID (a valid version-4 GUID, distinct per index).
fn subscription_id(index: usize) -> String {
    format!("{index:08x}-f1ee-4000-8000-{:012x}", 0x5ab5_0000 + index)
}

/// A generated control-plane principal ID of cluster `index`.
fn principal_id(index: usize) -> String {
    format!("{index:08x}-c1a5-4000-8000-{:012x}", 0x9e1d_0000 + index)
}

/// The template bundle: its HTTP reads and the names to rewrite in them.
struct Template {
    reads: Vec<Value>,
    cluster_id: String,
    subscription: String,
    resource_group: String,
    cluster: String,
    node_resource_group: Option<String>,
    principal: Option<String>,
    /// Names of shared resources that contain the cluster's name (`bv-aks-prod`): kept.
    shared_names: Vec<String>,
}

impl Template {
    fn load(name: &str) -> Self {
        let target = fixture_target(name);
        let cluster_id = target["cluster"]
            .as_str()
            .expect("the template's manifest names its cluster")
            .to_string();
        let segments: Vec<&str> = cluster_id.trim_start_matches('/').split('/').collect();
        let [_, subscription, _, resource_group, .., cluster] = segments.as_slice() else {
            panic!("not a cluster ID: {cluster_id}");
        };
        let reads: Vec<Value> = fixture_reads(name)
            .into_iter()
            .filter(is_http_read)
            .collect();
        let cluster_body = reads
            .iter()
            .find(|read| {
                read["path"]
                    .as_str()
                    .is_some_and(|path| path.eq_ignore_ascii_case(&cluster_id))
            })
            .map(|read| read["body"].clone())
            .unwrap_or(Value::Null);
        let shared_names = [
            "vault",
            "storage_account",
            "snapshot_resource_group",
            "blob_container",
        ]
        .iter()
        .filter_map(|key| target[key].as_str())
        .filter_map(|id| id.rsplit('/').next())
        .filter(|name| {
            name.to_ascii_lowercase()
                .contains(&cluster.to_ascii_lowercase())
        })
        .map(str::to_string)
        .collect();
        Template {
            subscription: subscription.to_string(),
            resource_group: resource_group.to_string(),
            cluster: cluster.to_string(),
            node_resource_group: cluster_body["properties"]["nodeResourceGroup"]
                .as_str()
                .map(str::to_string),
            principal: cluster_body["identity"]["principalId"]
                .as_str()
                .map(str::to_string),
            shared_names,
            cluster_id,
            reads,
        }
    }

    /// The rewrite that turns the template's cluster into cluster `index` of `subscription`.
    fn rewrite_for(&self, index: usize, subscription: &str) -> Rewrite {
        let cluster = format!("aks-{index:04}");
        let resource_group = format!("rg-{cluster}");
        let mut pairs = vec![
            (self.subscription.clone(), subscription.to_string()),
            (self.resource_group.clone(), resource_group.clone()),
            (self.cluster.clone(), cluster.clone()),
        ];
        if let Some(node) = &self.node_resource_group {
            pairs.push((
                node.clone(),
                format!("MC_{resource_group}_{cluster}_eastus"),
            ));
        }
        if let Some(principal) = &self.principal {
            pairs.push((principal.clone(), principal_id(index)));
        }
        pairs.extend(
            self.shared_names
                .iter()
                .map(|name| (name.clone(), name.clone())),
        );
        Rewrite::new(pairs)
    }
}

/// Case-insensitive replacement of several patterns in one pass, the longest first at each
/// position (so `rg-aks-prod` is not seen as `aks-prod`, and a kept name stays whole).
struct Rewrite {
    pairs: Vec<(String, String)>,
}

impl Rewrite {
    fn new(pairs: Vec<(String, String)>) -> Self {
        let mut pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(from, to)| (from.to_ascii_lowercase(), to))
            .collect();
        pairs.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        Rewrite { pairs }
    }

    fn apply(&self, text: &str) -> String {
        // ASCII lower-casing keeps every byte offset, so matches in `lower` index `text`.
        let lower = text.to_ascii_lowercase();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while at < text.len() {
            if let Some((from, to)) = self
                .pairs
                .iter()
                .find(|(from, _)| lower[at..].starts_with(from.as_str()))
            {
                out.push_str(to);
                at += from.len();
            } else {
                let next = text[at..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[at..at + next]);
                at += next;
            }
        }
        out
    }
}

/// One ARM answer.
struct Answer {
    status: u16,
    body: Value,
}

/// A read as served: its path as recorded, its answer, and the IDs of its list's items.
struct Stored {
    path: String,
    answer: Answer,
    item_ids: HashSet<String>,
}

/// The ARM reads of the fleet by lower-cased path, then by lower-cased `$filter`.
#[derive(Default)]
struct Reads {
    by_path: BTreeMap<String, BTreeMap<Option<String>, Stored>>,
}

/// The lower-cased IDs of a list body's items.
fn item_ids(body: &Value) -> impl Iterator<Item = String> + '_ {
    body["value"].as_array().into_iter().flatten().map(item_key)
}

/// What tells two list items apart: the ID and, for role assignments, the principal (the
/// template's assignment IDs are not rewritten per cluster, its principals are).
fn item_key(item: &Value) -> String {
    format!(
        "{} {}",
        item["id"].as_str().unwrap_or_default(),
        item["properties"]["principalId"]
            .as_str()
            .unwrap_or_default()
    )
    .to_ascii_lowercase()
}

impl Reads {
    /// Adds one rewritten read. A read several clusters share (same path and filter) keeps
    /// one answer; when their bodies are lists, the list holds every cluster's items.
    fn add(&mut self, read: &Value) {
        let Some(path) = read["path"].as_str() else {
            return;
        };
        let filter = read["filter"].as_str().map(str::to_ascii_lowercase);
        let status = read["status"].as_u64().unwrap_or(500) as u16;
        let body = match &read["error"] {
            Value::Null => read["body"].clone(),
            error => json!({"error": error}),
        };
        let by_filter = self.by_path.entry(path.to_ascii_lowercase()).or_default();
        let Some(existing) = by_filter.get_mut(&filter) else {
            let item_ids = item_ids(&body).collect();
            let answer = Answer { status, body };
            let path = path.to_string();
            by_filter.insert(
                filter,
                Stored {
                    path,
                    answer,
                    item_ids,
                },
            );
            return;
        };
        let Some(items) = existing.answer.body["value"].as_array_mut() else {
            return;
        };
        for item in body["value"].as_array().into_iter().flatten() {
            if existing.item_ids.insert(item_key(item)) {
                items.push(item.clone());
            }
        }
    }

    /// The unfiltered role and policy assignment lists of each subscription, as ARM lists
    /// them: every item of the subscription's filtered lists of that kind; and the caller's
    /// permissions at the subscription, as it has them at the clusters.
    fn add_subscription_lists(&mut self, subscriptions: &[String]) {
        for subscription in subscriptions {
            let prefix = format!("/subscriptions/{subscription}").to_ascii_lowercase();
            let at_cluster = self.by_path.iter().find_map(|(path, by_filter)| {
                (path.starts_with(&prefix)
                    && path.contains("/managedclusters/")
                    && path.ends_with("/microsoft.authorization/permissions"))
                .then(|| by_filter.get(&None))
                .flatten()
                .map(|stored| stored.answer.body.clone())
            });
            if let Some(body) = at_cluster {
                self.add(&json!({
                    "path": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/permissions"),
                    "status": 200,
                    "body": body,
                }));
            }
            for kind in ["roleAssignments", "policyAssignments"] {
                let prefix = format!("/subscriptions/{subscription}").to_ascii_lowercase();
                let suffix = format!(
                    "/providers/microsoft.authorization/{}",
                    kind.to_ascii_lowercase()
                );
                let mut seen = HashSet::new();
                let mut items = Vec::new();
                for (path, by_filter) in &self.by_path {
                    if !(path.starts_with(&prefix) && path.ends_with(&suffix)) {
                        continue;
                    }
                    for stored in by_filter.values().filter(|s| s.answer.status == 200) {
                        for item in stored.answer.body["value"].as_array().into_iter().flatten() {
                            if seen.insert(item_key(item)) {
                                items.push(item.clone());
                            }
                        }
                    }
                }
                self.add(&json!({
                    "path": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/{kind}"),
                    "status": 200,
                    "body": {"value": items},
                }));
            }
        }
    }

    /// Each principal's groups: the group principals of the group assignments in the
    /// principal's own `assignedTo('…')` list (lower-cased IDs).
    fn groups_of_principals(&self) -> HashMap<String, Vec<String>> {
        let mut groups: HashMap<String, Vec<String>> = HashMap::new();
        for by_filter in self.by_path.values() {
            for (filter, stored) in by_filter {
                let Some(principal) = filter
                    .as_deref()
                    .and_then(|f| f.strip_prefix("assignedto('"))
                    .and_then(|f| f.strip_suffix("')"))
                else {
                    continue;
                };
                let of = groups.entry(principal.to_string()).or_default();
                for item in stored.answer.body["value"].as_array().into_iter().flatten() {
                    let kind = item["properties"]["principalType"]
                        .as_str()
                        .unwrap_or_default();
                    if kind.to_ascii_lowercase().contains("group") {
                        if let Some(group) = item["properties"]["principalId"].as_str() {
                            let group = group.to_ascii_lowercase();
                            if !of.contains(&group) {
                                of.push(group);
                            }
                        }
                    }
                }
            }
        }
        groups
    }

    /// The answer to a GET of `path` with `filter`: a filter the fake has no read for gets
    /// an empty list (ARM's answer for a principal with no assignments), a path it has no
    /// read for gets `None`.
    fn answer(&self, path: &str, filter: Option<&str>) -> Option<Answer> {
        let by_filter = self.by_path.get(&path.to_ascii_lowercase())?;
        let filter = filter.map(str::to_ascii_lowercase);
        match by_filter.get(&filter) {
            Some(stored) => Some(Answer {
                status: stored.answer.status,
                body: stored.answer.body.clone(),
            }),
            None => Some(Answer {
                status: 200,
                body: json!({"value": []}),
            }),
        }
    }
}

/// The fleet's reads and the ARG rows made from them.
struct Served {
    reads: Reads,
    graph_rows: GraphRows,
}

/// ARM's read bucket: `tokens` left at `at`.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// An ARM request: not the token endpoint, the blob data plane, Graph, or ARG.
struct ArmPath;

impl Match for ArmPath {
    fn matches(&self, request: &Request) -> bool {
        let path = request.url.path();
        !path.contains("/oauth2/") && !path.starts_with("/blob/") && !path.starts_with("/v1.0/")
    }
}

/// Serves the fleet's reads through ARM's read throttling.
struct ArmReads {
    served: Arc<Served>,
    counters: Arc<Counters>,
    buckets: Mutex<HashMap<String, Bucket>>,
    config: FleetConfig,
}

impl ArmReads {
    /// Takes one token from `scope`'s bucket: the tokens left, or how long until one is.
    fn take(&self, scope: &str) -> Result<u64, Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(scope.to_string()).or_insert(Bucket {
            tokens: self.config.arm_bucket,
            at: now,
        });
        let refilled =
            now.duration_since(bucket.at).as_secs_f64() * self.config.arm_refill_per_second;
        bucket.tokens = (bucket.tokens + refilled).min(self.config.arm_bucket);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(bucket.tokens.floor() as u64)
        } else {
            let wait =
                (1.0 - bucket.tokens) / self.config.arm_refill_per_second.max(f64::MIN_POSITIVE);
            Err(Duration::from_secs_f64(wait))
        }
    }
}

impl Respond for ArmReads {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.counters.arm_requests.fetch_add(1, Ordering::Relaxed);
        let path = request.url.path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (scope, header) = match segments.as_slice() {
            [first, subscription, ..] if first.eq_ignore_ascii_case("subscriptions") => (
                subscription.to_ascii_lowercase(),
                "x-ms-ratelimit-remaining-subscription-reads",
            ),
            _ => (
                "tenant".to_string(),
                "x-ms-ratelimit-remaining-tenant-reads",
            ),
        };
        let remaining = match self.take(&scope) {
            Ok(remaining) => remaining,
            Err(wait) => {
                self.counters.arm_throttled.fetch_add(1, Ordering::Relaxed);
                let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
                let message = format!("Number of 'read' requests for subscription '{scope}' actor '0b7c1a2d-5555-4666-8777-d88899900011' exceeded. Please try again after '{seconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling");
                return ResponseTemplate::new(429)
                    .insert_header("Retry-After", seconds.to_string().as_str())
                    .insert_header(header, "0")
                    .set_body_json(super::arm_error("SubscriptionRequestsThrottled", &message))
                    .set_delay(self.config.latency);
            }
        };
        let filter = request
            .url
            .query_pairs()
            .find(|(key, _)| key == "$filter")
            .map(|(_, value)| value.into_owned());
        let answer = self.served.reads.answer(path, filter.as_deref()).unwrap_or_else(|| Answer {
            status: 404,
            body: super::arm_error(
                "ResourceNotFound",
                &format!("The Resource '{path}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
            ),
        });
        ResponseTemplate::new(answer.status)
            .insert_header(header, remaining.to_string().as_str())
            .set_body_json(answer.body)
            .set_delay(self.config.latency)
    }
}

/// The ARG tables the fleet queries, as rows in the objectArray shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Table {
    Clusters,
    Extensions,
    Resources,
    BackupInstances,
    ResourceGroups,
}

impl Table {
    /// The table a fleet query reads, by the type it filters on.
    fn of_query(query: &str) -> Option<Table> {
        let query = query.to_ascii_lowercase();
        [
            (
                "'microsoft.kubernetesconfiguration/extensions'",
                Table::Extensions,
            ),
            (
                "'microsoft.dataprotection/backupvaults/backupinstances'",
                Table::BackupInstances,
            ),
            (
                "'microsoft.resources/subscriptions/resourcegroups'",
                Table::ResourceGroups,
            ),
            ("'microsoft.storage/storageaccounts'", Table::Resources),
            (
                "'microsoft.containerservice/managedclusters'",
                Table::Clusters,
            ),
        ]
        .into_iter()
        .find(|(needle, _)| query.contains(needle))
        .map(|(_, table)| table)
    }
}

/// Every ARG row of the fleet, each table sorted by ID (case-insensitively).
struct GraphRows {
    rows: Vec<(Table, Value)>,
}

impl GraphRows {
    fn from_reads(reads: &Reads) -> Self {
        let mut rows: Vec<(Table, Value)> = Vec::new();
        let mut groups: BTreeMap<String, Value> = BTreeMap::new();
        let mut vnets: BTreeMap<String, Value> = BTreeMap::new();
        for (path, by_filter) in &reads.by_path {
            for stored in by_filter.values() {
                if let Some(group) = resource_group_row(&stored.path) {
                    let id = group["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    groups.entry(id).or_insert(group);
                }
            }
            let Some(answer) = by_filter
                .get(&None)
                .map(|stored| &stored.answer)
                .filter(|answer| answer.status == 200)
            else {
                continue;
            };
            let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let items = || answer.body["value"].as_array().cloned().unwrap_or_default();
            match segments.as_slice() {
                [.., "managedclusters", _] if segments.len() == 8 => {
                    rows.push((Table::Clusters, answer.body.clone()))
                }
                [.., "backupvaults" | "storageaccounts" | "networksecuritygroups", _]
                    if segments.len() == 8 =>
                {
                    rows.push((Table::Resources, answer.body.clone()))
                }
                [.., "networksecuritygroups"] if segments.len() == 7 => {
                    rows.extend(items().into_iter().map(|item| (Table::Resources, item)))
                }
                [.., "microsoft.kubernetesconfiguration", "extensions"] => {
                    rows.extend(items().into_iter().map(|item| (Table::Extensions, item)))
                }
                [.., "backupvaults", _, "backupinstances"] => rows.extend(
                    items()
                        .into_iter()
                        .map(|item| (Table::BackupInstances, item)),
                ),
                [.., "virtualnetworks", _, "subnets", _] => {
                    let Some(subnet_id) = answer.body["id"].as_str() else {
                        continue;
                    };
                    let Some((vnet_id, _)) = subnet_id.rsplit_once("/subnets/") else {
                        continue;
                    };
                    let vnet = vnets
                        .entry(vnet_id.to_ascii_lowercase())
                        .or_insert_with(|| {
                            json!({
                                "id": vnet_id,
                                "name": vnet_id.rsplit('/').next(),
                                "type": "microsoft.network/virtualnetworks",
                                "location": "eastus",
                                "properties": {"provisioningState": "Succeeded", "subnets": []},
                            })
                        });
                    if let Some(subnets) = vnet["properties"]["subnets"].as_array_mut() {
                        subnets.push(answer.body.clone());
                    }
                }
                _ => {}
            }
        }
        rows.extend(vnets.into_values().map(|vnet| (Table::Resources, vnet)));
        rows.extend(
            groups
                .into_values()
                .map(|group| (Table::ResourceGroups, group)),
        );
        let mut seen = HashSet::new();
        let mut rows: Vec<(Table, Value)> = rows
            .into_iter()
            .map(|(table, row)| (table, graph_row(row)))
            .filter(|(table, row)| {
                seen.insert((
                    *table as u8,
                    row["id"].as_str().unwrap_or_default().to_ascii_lowercase(),
                ))
            })
            .collect();
        rows.sort_by_key(|(_, row)| row["id"].as_str().unwrap_or_default().to_ascii_lowercase());
        GraphRows { rows }
    }

    /// The rows of `table` in `subscriptions` (every subscription when empty).
    fn select(&self, table: Table, subscriptions: &[String]) -> Vec<&Value> {
        self.rows
            .iter()
            .filter(|(of, _)| *of == table)
            .map(|(_, row)| row)
            .filter(|row| {
                subscriptions.is_empty()
                    || subscriptions.iter().any(|s| {
                        row["subscriptionId"]
                            .as_str()
                            .is_some_and(|id| id.eq_ignore_ascii_case(s))
                    })
            })
            .collect()
    }
}

/// The resource group a path lies in, as a `resourcecontainers` row.
fn resource_group_row(path: &str) -> Option<Value> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let [first, subscription, groups, name, ..] = segments.as_slice() else {
        return None;
    };
    if !first.eq_ignore_ascii_case("subscriptions")
        || !groups.eq_ignore_ascii_case("resourcegroups")
    {
        return None;
    }
    Some(json!({
        "id": format!("/subscriptions/{subscription}/resourceGroups/{name}"),
        "name": name,
        "type": "microsoft.resources/subscriptions/resourcegroups",
        "location": "eastus",
        "subscriptionId": subscription,
        "properties": {"provisioningState": "Succeeded"},
    }))
}

/// An ARM body as ARG returns it: type lower-cased, `resourceGroup` (lower-cased, as ARG
/// has it) and `subscriptionId` columns added from the ID.
fn graph_row(mut row: Value) -> Value {
    let id = row["id"].as_str().unwrap_or_default().to_string();
    let segments: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    let Some(object) = row.as_object_mut() else {
        return row;
    };
    if let Some(kind) = object.get("type").and_then(Value::as_str) {
        let lower = kind.to_ascii_lowercase();
        object.insert("type".into(), Value::from(lower));
    }
    if let [_, subscription, rest @ ..] = segments.as_slice() {
        object.insert(
            "subscriptionId".into(),
            Value::from(subscription.to_ascii_lowercase()),
        );
        if let [groups, group, ..] = rest {
            if groups.eq_ignore_ascii_case("resourcegroups") {
                object
                    .entry("resourceGroup")
                    .or_insert(Value::from(group.to_ascii_lowercase()));
            }
        }
    }
    row
}

/// A `where` clause on one tag: `tags.KEY` or `tags['KEY']`, then `==`, `=~`, `!=` or `!~`,
/// then a quoted value. The only `where` clauses beyond the type filter the fake applies.
struct TagFilter {
    key: String,
    operator: String,
    value: String,
}

impl TagFilter {
    fn parse(clause: &str) -> Option<Self> {
        let rest = clause.trim().strip_prefix("tags")?;
        let (key, rest) = match rest.strip_prefix('.') {
            Some(dotted) => {
                let end = dotted.find(|c: char| c.is_whitespace() || "=!".contains(c))?;
                (dotted[..end].to_string(), &dotted[end..])
            }
            None => {
                let bracketed = rest.strip_prefix("['")?;
                let (key, rest) = bracketed.split_once("']")?;
                (key.to_string(), rest)
            }
        };
        let rest = rest.trim_start();
        let operator = ["==", "=~", "!=", "!~"]
            .into_iter()
            .find(|operator| rest.starts_with(operator))?;
        let quoted = rest[2..].trim_start();
        let quote = quoted.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let (value, _) = quoted[1..].split_once(quote)?;
        let value = value.to_string();
        Some(TagFilter {
            key,
            operator: operator.to_string(),
            value,
        })
    }

    fn keeps(&self, row: &Value) -> bool {
        let tag = row["tags"][&self.key].as_str();
        match self.operator.as_str() {
            "==" => tag == Some(self.value.as_str()),
            "=~" => tag.is_some_and(|tag| tag.eq_ignore_ascii_case(&self.value)),
            "!=" => tag != Some(self.value.as_str()),
            _ => !tag.is_some_and(|tag| tag.eq_ignore_ascii_case(&self.value)),
        }
    }
}

/// The tag filters among a query's `where` clauses.
fn tag_filters(query: &str) -> Vec<TagFilter> {
    query
        .split('|')
        .filter_map(|stage| stage.trim().strip_prefix("where "))
        .filter_map(TagFilter::parse)
        .collect()
}

/// The columns a query's `project` keeps, in order (every column when it has none).
fn projected_columns(query: &str) -> Option<Vec<String>> {
    let lower = query.to_ascii_lowercase();
    let start = lower.find("| project ")? + "| project ".len();
    let end = lower[start..]
        .find('|')
        .map_or(lower.len(), |end| start + end);
    Some(
        query[start..end]
            .split(',')
            .map(|column| column.trim().to_string())
            .filter(|column| !column.is_empty())
            .collect(),
    )
}

/// ARG's per-user quota window: when it began and the queries it has taken.
struct QuotaWindow {
    began: Instant,
    used: u32,
}

/// Answers the fleet's ARG queries, paged, within ARG's per-user quota.
struct GraphQueries {
    served: Arc<Served>,
    counters: Arc<Counters>,
    window: Mutex<Option<QuotaWindow>>,
    config: FleetConfig,
}

impl GraphQueries {
    /// Takes one query from the quota: the queries left and the time until the window
    /// resets, and whether this query was allowed.
    fn take(&self) -> (u32, Duration, bool) {
        let now = Instant::now();
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let current = window.get_or_insert(QuotaWindow {
            began: now,
            used: 0,
        });
        if now.duration_since(current.began) >= self.config.graph_window {
            *current = QuotaWindow {
                began: now,
                used: 0,
            };
        }
        let resets = self
            .config
            .graph_window
            .saturating_sub(now.duration_since(current.began));
        if current.used >= self.config.graph_quota {
            return (0, resets, false);
        }
        current.used += 1;
        (self.config.graph_quota - current.used, resets, true)
    }
}

/// `hh:mm:ss`, rounded up to the second, as `x-ms-user-quota-resets-after` has it.
fn hh_mm_ss(duration: Duration) -> String {
    let seconds = duration.as_secs_f64().ceil() as u64;
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// ARG's error body: `code` with one detail of the same code.
fn graph_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "details": [{"code": code, "message": message}]}})
}

impl Respond for GraphQueries {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.counters.graph_queries.fetch_add(1, Ordering::Relaxed);
        let (remaining, resets, allowed) = self.take();
        let answer = |status: u16, body: Value| {
            ResponseTemplate::new(status)
                .insert_header("x-ms-user-quota-remaining", remaining.to_string().as_str())
                .insert_header("x-ms-user-quota-resets-after", hh_mm_ss(resets).as_str())
                .set_body_json(body)
                .set_delay(self.config.latency)
        };
        if !allowed {
            self.counters
                .graph_throttled
                .fetch_add(1, Ordering::Relaxed);
            return answer(429, graph_error("RateLimiting", "Please provide below info when asking for support: timestamp = 2026-11-29T10:00:00.0000000Z, correlationId = 5a1b2c3d-0000-4000-8000-000000000001."));
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return answer(
                400,
                graph_error(
                    "BadRequest",
                    "The request content was invalid and could not be deserialized.",
                ),
            );
        };
        let query = body["query"].as_str().unwrap_or_default();
        let Some(table) = Table::of_query(query) else {
            return answer(400, graph_error("InvalidQuery", "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying."));
        };
        let subscriptions: Vec<String> = body["subscriptions"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let options = &body["options"];
        let top = options["$top"].as_u64().unwrap_or(100).clamp(1, 1000) as usize;
        let skip = match options["$skipToken"].as_str() {
            None => 0,
            Some(token) => match skip_of_token(token) {
                Some(skip) => skip,
                None => {
                    return answer(400, graph_error("BadRequest", "The $skipToken is invalid."))
                }
            },
        };
        let tag_filters = tag_filters(query);
        let rows: Vec<&Value> = self
            .served
            .graph_rows
            .select(table, &subscriptions)
            .into_iter()
            .filter(|row| tag_filters.iter().all(|filter| filter.keeps(row)))
            .collect();
        let columns = projected_columns(query);
        let page: Vec<Value> = rows
            .iter()
            .skip(skip)
            .take(top)
            .map(|row| project(row, columns.as_deref()))
            .collect();
        let mut response = json!({
            "totalRecords": rows.len(),
            "count": page.len(),
            "resultTruncated": "false",
            "data": page,
        });
        if skip + top < rows.len() {
            response["$skipToken"] = Value::from(token_of_skip(skip + top));
        }
        answer(200, response)
    }
}

/// The row with only `columns` (null where it has none), or whole.
fn project(row: &Value, columns: Option<&[String]>) -> Value {
    let Some(columns) = columns else {
        return row.clone();
    };
    let mut projected = Map::new();
    for column in columns {
        projected.insert(
            column.clone(),
            row.get(column).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(projected)
}

/// An opaque continuation token for the page at `skip` (hex, so clients cannot read it
/// as a number).
fn token_of_skip(skip: usize) -> String {
    format!("skip:{skip}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn skip_of_token(token: &str) -> Option<usize> {
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|at| {
            token
                .get(at..at + 2)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        })
        .collect();
    String::from_utf8(bytes?)
        .ok()?
        .strip_prefix("skip:")?
        .parse()
        .ok()
}

/// Graph's `transitiveMemberOf` of a principal, from the groups the fleet's lists imply.
struct GroupsOf {
    groups: HashMap<String, Vec<String>>,
    latency: Duration,
}

impl Respond for GroupsOf {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let principal = request
            .url
            .path()
            .split('/')
            .nth(3)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let groups: Vec<Value> = self
            .groups
            .get(&principal)
            .into_iter()
            .flatten()
            .map(|id| json!({"@odata.type": "#microsoft.graph.group", "id": id}))
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"value": groups}))
            .set_delay(self.latency)
    }
}
