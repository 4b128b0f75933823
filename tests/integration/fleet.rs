//! `fleet` against the fake ARM serving a fixture, with a fake Resource Graph whose rows are
//! the fixture's own resources (as Resource Graph indexes them: the cluster, its
//! extensions, vaults, storage accounts, NSGs, the subnets inside their virtual network,
//! backup instances, resource groups). The fake ARM also answers the empty lists those rows
//! imply (a vault with no backup instance row has none), so both runs see one world. Then
//! every fixture's cluster must get from `fleet` exactly the report `check --cluster` gives.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

const GRAPH_PATH: &str = "/providers/Microsoft.ResourceGraph/resources";

/// The rows of each of the fleet's queries, keyed by what tells the query apart.
#[derive(Clone, Default)]
struct Rows {
    clusters: Vec<Value>,
    extensions: Vec<Value>,
    resources: Vec<Value>,
    backup_instances: Vec<Value>,
    resource_groups: Vec<Value>,
}

/// A path's segments, lower-cased.
fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(str::to_ascii_lowercase)
        .collect()
}

fn group_id(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}")
}

/// The fixture's successful reads as Resource Graph rows.
fn rows_of(fixture: &str) -> Rows {
    let mut rows = Rows::default();
    let mut vnets: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut groups: BTreeMap<String, Value> = BTreeMap::new();
    for read in fixture_reads(fixture) {
        if read["source"] != "arm" || read["status"] != 200 || read["method"] != "GET" {
            continue;
        }
        let path = read["path"].as_str().unwrap_or_default();
        let s = segments(path);
        let body = &read["body"];
        let items = || body["value"].as_array().cloned().unwrap_or_default();
        let with_columns = |mut row: Value| {
            row["subscriptionId"] = json!(s[1]);
            if s.len() > 3 {
                row["resourceGroup"] = json!(path.split('/').nth(4).unwrap_or_default());
            }
            row
        };
        match (
            s.len(),
            s.get(5).map(String::as_str),
            s.get(6).map(String::as_str),
        ) {
            (8, Some("microsoft.containerservice"), Some("managedclusters")) => {
                rows.clusters.push(with_columns(body.clone()))
            }
            (11, Some("microsoft.containerservice"), _)
                if s[9] == "microsoft.kubernetesconfiguration" && s[10] == "extensions" =>
            {
                rows.extensions.extend(items())
            }
            (8, Some("microsoft.dataprotection"), Some("backupvaults"))
            | (8, Some("microsoft.storage"), Some("storageaccounts"))
            | (8, Some("microsoft.network"), Some("networksecuritygroups")) => {
                rows.resources.push(with_columns(body.clone()))
            }
            (7, Some("microsoft.network"), Some("networksecuritygroups")) => {
                rows.resources.extend(items().into_iter().map(with_columns));
                let id = group_id(&s[1], path.split('/').nth(4).unwrap_or_default());
                groups.entry(id.to_ascii_lowercase()).or_insert_with(|| {
                    json!({"id": id, "name": path.split('/').nth(4), "type": "microsoft.resources/subscriptions/resourcegroups", "subscriptionId": s[1], "properties": {"provisioningState": "Succeeded"}})
                });
            }
            (10, Some("microsoft.network"), Some("virtualnetworks")) if s[8] == "subnets" => {
                let vnet: Vec<&str> = path.split('/').take(9).collect();
                vnets.entry(vnet.join("/")).or_default().push(body.clone());
            }
            (9, Some("microsoft.dataprotection"), Some("backupvaults"))
                if s[8] == "backupinstances" =>
            {
                rows.backup_instances.extend(items())
            }
            (4, _, _) if s[2] == "resourcegroups" => {
                groups.insert(path.to_ascii_lowercase(), with_columns(body.clone()));
            }
            _ => {}
        }
    }
    for (id, subnets) in vnets {
        let s = segments(&id);
        rows.resources.push(json!({
            "id": id, "name": s[7], "type": "microsoft.network/virtualnetworks",
            "subscriptionId": s[1], "resourceGroup": id.split('/').nth(4),
            "properties": {"subnets": subnets}
        }));
    }
    rows.resource_groups = groups.into_values().collect();
    rows
}

/// Resource Graph over `rows`: the query text picks the rows; pages of `$top`.
struct FakeGraph(Rows);

impl Respond for FakeGraph {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let query = body["query"].as_str().unwrap_or_default();
        if query.contains("(((") {
            // What Resource Graph answers a query it cannot parse.
            return ResponseTemplate::new(400).set_body_json(json!({"error": {
                "code": "BadRequest",
                "message": "Please provide below info when asking for support: timestamp = 2026-11-29T10:00:00Z, correlationId = 6902d332-0000-4000-8000-000000000000.",
                "details": [
                    {"code": "InvalidQuery", "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying."},
                    {"code": "ParserFailure", "message": "ParserFailure", "line": 1, "characterPositionInLine": 80, "token": "((("}
                ]}}));
        }
        let rows = if query
            .starts_with("resources | where type =~ 'microsoft.containerservice/managedclusters'")
        {
            &self.0.clusters
        } else if query.starts_with("kubernetesconfigurationresources") {
            &self.0.extensions
        } else if query.starts_with("resources | where type in~") {
            &self.0.resources
        } else if query.starts_with("recoveryservicesresources") {
            &self.0.backup_instances
        } else if query.starts_with("resourcecontainers") {
            &self.0.resource_groups
        } else {
            return ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "BadRequest", "message": "unknown query", "details": [{"code": "InvalidQuery", "message": "Query is invalid."}]}}));
        };
        let top = body["options"]["$top"].as_u64().unwrap_or(100) as usize;
        let offset: usize = body["options"]["$skipToken"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let page: Vec<Value> = rows.iter().skip(offset).take(top).cloned().collect();
        let mut answer = json!({
            "totalRecords": rows.len(), "count": page.len(), "resultTruncated": "false", "data": page
        });
        if offset + top < rows.len() {
            answer["$skipToken"] = json!((offset + top).to_string());
        }
        ResponseTemplate::new(200)
            .set_body_json(answer)
            .insert_header("x-ms-user-quota-remaining", "14")
            .insert_header("x-ms-user-quota-resets-after", "00:00:05")
    }
}

/// The fake ARM of `fixture` with the fake Resource Graph, and the empty lists the rows
/// imply where the fixture recorded none.
async fn world(fixture: &str) -> FakeArm {
    let fake = FakeArm::serving(fixture).await;
    let mut rows = rows_of(fixture);
    for row in &mut rows.resources {
        fake.serve_blob_endpoint_here(row);
    }
    let recorded: Vec<String> = fixture_reads(fixture)
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_ascii_lowercase))
        .collect();
    let mut implied = Vec::new();
    for cluster in &rows.clusters {
        implied.push(format!(
            "{}/providers/Microsoft.KubernetesConfiguration/extensions",
            cluster["id"].as_str().unwrap()
        ));
    }
    for group in &rows.resource_groups {
        implied.push(format!(
            "{}/providers/Microsoft.Network/networkSecurityGroups",
            group["id"].as_str().unwrap()
        ));
    }
    for vault in rows.resources.iter().filter(|r| {
        r["type"]
            .as_str()
            .unwrap_or("")
            .eq_ignore_ascii_case("microsoft.dataprotection/backupvaults")
    }) {
        implied.push(format!("{}/backupInstances", vault["id"].as_str().unwrap()));
    }
    for list in implied {
        if !recorded.contains(&list.to_ascii_lowercase()) {
            fake.answer(&list, 200, json!({"value": []})).await;
        }
    }
    // The subscription-wide lists a fleet derives each principal's and each cluster's
    // lists from: the union of the fixture's filtered lists.
    let subscription = subscription_of(fixture);
    for (kind, list) in [
        (
            "roleAssignments",
            format!(
                "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments"
            ),
        ),
        (
            "policyAssignments",
            format!(
                "/subscriptions/{subscription}/providers/Microsoft.Authorization/policyAssignments"
            ),
        ),
    ] {
        let mut items: BTreeMap<String, Value> = BTreeMap::new();
        for read in fixture_reads(fixture) {
            let path = read["path"].as_str().unwrap_or_default();
            if read["status"] == 200 && path.ends_with(&format!("/Microsoft.Authorization/{kind}"))
            {
                for item in read["body"]["value"].as_array().into_iter().flatten() {
                    items.insert(
                        item["id"].as_str().unwrap_or_default().to_ascii_lowercase(),
                        item.clone(),
                    );
                }
            }
        }
        let body = json!({"value": items.into_values().collect::<Vec<_>>()});
        Mock::given(method("GET"))
            .and(PathIgnoringCase(list))
            .and(wiremock::matchers::query_param_is_missing("$filter"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .with_priority(1)
            .mount(&fake.server)
            .await;
    }
    // The caller's permissions at the subscription, from which the fleet derives those
    // below it: the fixture's at the cluster (the caller holds no role below the
    // subscription in these worlds).
    let at_cluster = fixture_reads(fixture)
        .into_iter()
        .find(|r| {
            r["path"].as_str().is_some_and(|p| {
                p.to_ascii_lowercase()
                    .ends_with("/microsoft.authorization/permissions")
                    && p.to_ascii_lowercase().contains("/managedclusters/")
            })
        })
        .map(|r| r["body"].clone());
    if let Some(body) = at_cluster {
        fake.answer(
            &format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/permissions"),
            200,
            body,
        )
        .await;
    }
    Mock::given(method("POST"))
        .and(path(GRAPH_PATH))
        .respond_with(FakeGraph(rows))
        .mount(&fake.server)
        .await;
    fake
}

fn subscription_of(fixture: &str) -> String {
    let cluster = fixture_target(fixture)["cluster"]
        .as_str()
        .unwrap()
        .to_string();
    cluster.split('/').nth(2).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_cluster_gets_from_fleet_the_report_check_gives() {
    for fixture in fixture_bundles() {
        let fake = world(&fixture).await;
        let fleet = run(fake.command(&[
            "fleet",
            "--subscription",
            &subscription_of(&fixture),
            "-o",
            "json",
        ]))
        .await;
        let report = json_of(&fleet);
        assert_eq!(report["schema"], "pxb-preflight-fleet/v1", "{fixture}");
        let clusters = rows_of(&fixture).clusters;
        assert_eq!(
            report["clusters"].as_array().unwrap().len(),
            clusters.len(),
            "{fixture}: {report:#}"
        );
        let mut worst = 0;
        for row in &clusters {
            // The cluster as Resource Graph lists it (ARM's own casing of its ID), which is
            // how the fleet names it.
            let cluster = row["id"].as_str().unwrap();
            let check = run(fake.command(&["check", "--cluster", cluster, "-o", "json"])).await;
            let checked = json_of(&check);
            let in_fleet = report["clusters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["target"]["cluster"] == cluster)
                .unwrap_or_else(|| panic!("{fixture}: no report of {cluster}"));
            for (fleet_check, check_check) in in_fleet["checks"]
                .as_array()
                .unwrap()
                .iter()
                .zip(checked["checks"].as_array().unwrap())
            {
                assert_eq!(fleet_check, check_check, "{fixture}: fleet, then check");
            }
            assert_eq!(in_fleet, &checked, "{fixture}");
            let code = check.status.code().unwrap_or(2);
            // The fleet's exit is the worst of its clusters': 1 over 3 over 0.
            worst = match (worst, code) {
                (1, _) | (_, 1) => 1,
                (3, _) | (_, 3) => 3,
                _ => 0,
            };
        }
        assert_eq!(fleet.status.code(), Some(worst), "{fixture}");
        // Read-only: GETs, the Resource Graph queries, and the sign-in.
        for request in fake.requests().await {
            let allowed = request.method.as_str() == "GET"
                || (request.method.as_str() == "POST"
                    && (request.url.path() == GRAPH_PATH
                        || request.url.path().contains("/oauth2/")));
            assert!(allowed, "{fixture}: {} {}", request.method, request.url);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_bundle_replays_offline_with_fleet_and_with_check() {
    let fake = world("ready").await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("fleet-bundle");
    let live = run(fake.command(&[
        "fleet",
        "--subscription",
        &subscription_of("ready"),
        "--collect",
        bundle.to_str().unwrap(),
        "-o",
        "json",
    ]))
    .await;
    let live_report = json_of(&live);
    let replay =
        run(fake.command(&["fleet", "--bundle", bundle.to_str().unwrap(), "-o", "json"])).await;
    let mut replayed = json_of(&replay);
    let mut expected = live_report.clone();
    // What the live run counted of its requests is no part of what was found.
    replayed["stats"] = Value::Null;
    expected["stats"] = Value::Null;
    assert_eq!(replayed, expected);
    assert_eq!(replay.status.code(), live.status.code());
    let via_check =
        run(fake.command(&["check", "--bundle", bundle.to_str().unwrap(), "-o", "json"])).await;
    let mut via_check = json_of(&via_check);
    via_check["stats"] = Value::Null;
    assert_eq!(via_check, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_streams_each_cluster_then_the_summary() {
    let fake = world("ready").await;
    let out = run(fake.command(&[
        "fleet",
        "--subscription",
        &subscription_of("ready"),
        "-o",
        "ndjson",
    ]))
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["schema"], "pxb-preflight/v1");
    assert_eq!(lines[1]["schema"], "pxb-preflight-fleet/v1");
    assert!(lines[1].get("clusters").is_none());
}

/// ARM's bucket far smaller than the client assumes: the fake answers 429 with
/// `Retry-After` once it is empty, and the run slows down instead of failing. Every cluster
/// is in the report and no check errs.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_fleet_waits_for_retry_after_and_loses_nothing() {
    use crate::common::fleet::{FakeFleet, FleetConfig};
    let mut config = FleetConfig::new(30, 1);
    config.latency = std::time::Duration::ZERO;
    // The first round alone (a trusted access list per cluster) outruns it.
    config.arm_bucket = 3.0;
    config.arm_refill_per_second = 10.0;
    let fake = FakeFleet::start(config).await;
    let subscription = fake.subscriptions()[0].clone();
    let out = run(fake.command(&["fleet", "--subscription", &subscription, "-o", "json"])).await;
    let report = json_of(&out);
    assert!(fake.arm_throttled() > 0, "the bucket never ran out");
    assert_eq!(report["summary"]["clusters"], 30, "{}", report["summary"]);
    assert_eq!(report["summary"]["could_not_check"], 0);
    assert_eq!(report["summary"]["ready"], 30, "{}", report["summary"]);
    assert_eq!(report["stats"]["throttled"], fake.arm_throttled());
    assert_eq!(out.status.code(), Some(0));
}

/// With ARM's real limits the client's scheduler keeps under them: no 429 at all.
#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_keeps_a_fleet_under_arms_read_limits() {
    use crate::common::fleet::{FakeFleet, FleetConfig};
    let mut config = FleetConfig::new(300, 1);
    config.latency = std::time::Duration::ZERO;
    let fake = FakeFleet::start(config).await;
    let subscription = fake.subscriptions()[0].clone();
    let out = run(fake.command(&["fleet", "--subscription", &subscription, "-o", "json"])).await;
    let report = json_of(&out);
    assert_eq!(report["summary"]["ready"], 300, "{}", report["summary"]);
    assert!(
        fake.arm_requests() > 250,
        "the bucket was never exhausted: {}",
        fake.arm_requests()
    );
    assert_eq!(fake.arm_throttled(), 0);
    assert_eq!(fake.graph_throttled(), 0);
}

/// Two shards of a CI matrix split the fleet without overlap, and `--merge` joins their
/// reports into what one run reports.
#[tokio::test(flavor = "multi_thread")]
async fn shards_split_the_fleet_and_merge_back_into_one_report() {
    use crate::common::fleet::{FakeFleet, FleetConfig};
    let mut config = FleetConfig::new(12, 2);
    config.latency = std::time::Duration::ZERO;
    let fake = FakeFleet::start(config).await;
    let mut scope: Vec<String> = Vec::new();
    for subscription in fake.subscriptions() {
        scope.extend(["--subscription".to_string(), subscription.clone()]);
    }
    let dir = tempfile::tempdir().unwrap();
    let fleet = |extra: Vec<String>| {
        let mut args = vec!["fleet".to_string()];
        args.extend(scope.clone());
        args.extend(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        fake.command(&refs)
    };
    let whole = json_of(&run(fleet(vec!["-o".into(), "json".into()])).await);
    let mut files = Vec::new();
    let mut seen = 0;
    for shard in ["1/2", "2/2"] {
        let file = dir.path().join(format!("shard-{}.json", &shard[..1]));
        let out = run(fleet(vec![
            "--shard".into(),
            shard.into(),
            "-o".into(),
            format!("json={}", file.display()),
        ]))
        .await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let part: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(part["scope"]["shard"], shard);
        seen += part["clusters"].as_array().unwrap().len();
        files.push(file.to_string_lossy().into_owned());
    }
    assert_eq!(seen, 12, "each cluster in exactly one shard");
    let mut args = vec!["fleet", "--merge"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["-o", "json"]);
    let merged = run(fake.command(&args)).await;
    assert_eq!(merged.status.code(), Some(0));
    let merged = json_of(&merged);
    assert_eq!(merged["summary"], whole["summary"]);
    assert_eq!(merged["clusters"], whole["clusters"]);
}

/// A named cluster that is nowhere to be read is reported as not checked, with why, and
/// the fleet is incomplete (exit 3), not failed to run.
#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_that_cannot_be_read_is_listed_as_not_checked() {
    let fake = world("ready").await;
    let missing = format!(
        "/subscriptions/{}/resourceGroups/rg-gone/providers/Microsoft.ContainerService/managedClusters/aks-gone",
        subscription_of("ready")
    );
    let out = run(fake.command(&[
        "fleet",
        "--subscription",
        &subscription_of("ready"),
        "--cluster",
        &missing,
        "-o",
        "json",
    ]))
    .await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    assert_eq!(report["summary"]["could_not_check"], 1);
    assert_eq!(report["clusters"], json!([]));
    let unchecked = &report["could_not_check"][0];
    assert_eq!(unchecked["cluster"], missing.as_str());
    assert!(
        unchecked["message"].as_str().unwrap().contains("404"),
        "{unchecked}"
    );
}

/// A `--where` Resource Graph cannot parse stops the fleet before any cluster (exit 2),
/// with Resource Graph's own words.
#[tokio::test(flavor = "multi_thread")]
async fn a_filter_resource_graph_refuses_stops_the_fleet_with_its_message() {
    let fake = world("ready").await;
    let out = run(fake.command(&[
        "fleet",
        "--subscription",
        &subscription_of("ready"),
        "--where",
        "tags.env == (((",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Query is invalid"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// The scope goes to Resource Graph as asked: a management group, or (neither flag) no
/// scope at all, which is every subscription the caller can read.
#[tokio::test(flavor = "multi_thread")]
async fn the_scope_is_a_management_group_or_everything_readable() {
    for (flags, subscriptions, groups) in [
        (
            vec!["--management-group", "contoso-prod"],
            json!(null),
            json!(["contoso-prod"]),
        ),
        (vec![], json!(null), json!(null)),
    ] {
        let fake = world("ready").await;
        let mut args = vec!["fleet", "-o", "json"];
        args.extend(flags.iter().copied());
        let out = run(fake.command(&args)).await;
        assert_eq!(json_of(&out)["summary"]["clusters"], 1, "{flags:?}");
        let queries: Vec<Value> = fake
            .requests()
            .await
            .iter()
            .filter(|r| r.url.path() == GRAPH_PATH)
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        assert_eq!(queries.len(), 5, "{flags:?}");
        for query in &queries {
            assert_eq!(query["subscriptions"], subscriptions, "{query}");
            assert_eq!(query["managementGroups"], groups, "{query}");
            assert_eq!(query["options"]["resultFormat"], "objectArray");
        }
    }
}
