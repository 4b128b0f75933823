//! The fleet fake itself (`common::fleet`): what it generates, and that it throttles and
//! pages as ARM and Resource Graph do, so fleet tests and the fleet bench measure against
//! a faithful service. Requests go over a bare HTTP/1.1 connection to 127.0.0.1.

use crate::common::fleet::{FakeFleet, FleetConfig, GRAPH_PATH};
use crate::common::SUB;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: status, headers (names lower-cased), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// One request on its own connection (`Connection: close`, so the reply ends the stream).
async fn send(fake: &FakeFleet, method: &str, target: &str, body: Option<&Value>) -> Reply {
    let authority = fake.uri().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&authority).await.unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

async fn get(fake: &FakeFleet, path: &str) -> Reply {
    send(fake, "GET", &format!("{path}?api-version=2025-10-01"), None).await
}

async fn query(fake: &FakeFleet, body: Value) -> Reply {
    let target = format!("{GRAPH_PATH}?api-version=2022-10-01");
    send(fake, "POST", &target, Some(&body)).await
}

/// No latency and no throttling worth meeting, unless a test sets them.
fn quick(clusters: usize, subscriptions: usize) -> FleetConfig {
    FleetConfig {
        latency: Duration::ZERO,
        arm_bucket: 100_000.0,
        graph_quota: 1_000,
        ..FleetConfig::new(clusters, subscriptions)
    }
}

const Q_CLUSTERS: &str = "resources | where type =~ 'microsoft.containerservice/managedclusters' | project id, name, type, location, resourceGroup, subscriptionId, tags, sku, identity, properties | order by id asc";
const Q_BACKUP_INSTANCES: &str = "recoveryservicesresources | where type =~ 'microsoft.dataprotection/backupvaults/backupinstances' | project id, name, type, properties | order by id asc";
const Q_RESOURCES: &str = "resources | where type in~ ('microsoft.dataprotection/backupvaults', 'microsoft.storage/storageaccounts', 'microsoft.network/networksecuritygroups', 'microsoft.network/virtualnetworks') | project id, name, type, location, resourceGroup, subscriptionId, kind, sku, identity, tags, properties | order by id asc";
const Q_RESOURCE_GROUPS: &str = "resourcecontainers | where type =~ 'microsoft.resources/subscriptions/resourcegroups' | project id, name, type, location, subscriptionId, managedBy, tags, properties | order by id asc";

#[tokio::test]
async fn generation_rewrites_every_cluster_name_and_keeps_shared_resources_per_subscription() {
    let fake = FakeFleet::start(quick(5, 2)).await;
    assert_eq!(fake.subscriptions().len(), 2);
    assert_eq!(fake.clusters().len(), 5);
    for body in fake.arm_bodies() {
        let text = body.to_string().replace("bv-aks-prod", "");
        assert!(!text.contains("aks-prod"), "{text}");
        assert!(!text.contains(SUB), "{text}");
    }
    // Cluster 3 is the second of the second subscription, with its own principal.
    let second = &fake.subscriptions()[1];
    let cluster = format!("/subscriptions/{second}/resourceGroups/rg-aks-0003/providers/Microsoft.ContainerService/managedClusters/aks-0003");
    assert!(fake.clusters().contains(&cluster));
    let body = get(&fake, &cluster).await.body;
    assert_eq!(body["name"], "aks-0003");
    assert_eq!(
        body["properties"]["nodeResourceGroup"],
        "MC_rg-aks-0003_aks-0003_eastus"
    );
    let first_principal =
        get(&fake, &fake.clusters()[0]).await.body["identity"]["principalId"].clone();
    assert_ne!(body["identity"]["principalId"], first_principal);
    // The vault is one per subscription; its instances are its subscription's clusters'.
    let vault = format!("/subscriptions/{second}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-aks-prod");
    assert_eq!(get(&fake, &vault).await.status, 200);
    let instances = get(&fake, &format!("{vault}/backupInstances")).await.body;
    let protected: Vec<&str> = instances["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["properties"]["dataSourceInfo"]["resourceID"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(protected.len(), 2, "{protected:?}");
    assert!(protected.iter().any(|id| id.ends_with("/aks-0003")));
    let unknown = get(
        &fake,
        &format!("/subscriptions/{second}/resourceGroups/rg-nothing"),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["error"]["code"], "ResourceNotFound");
}

#[tokio::test]
async fn arm_bucket_throttles_the_251st_read_and_refills() {
    // A slow refill, so the 250 reads before the 251st cannot earn it a token.
    let config = FleetConfig {
        arm_bucket: 250.0,
        arm_refill_per_second: 1.0,
        ..quick(1, 1)
    };
    let fake = FakeFleet::start(config).await;
    let cluster = fake.clusters()[0].clone();
    let mut left = Vec::new();
    for _ in 0..250 {
        let reply = get(&fake, &cluster).await;
        assert_eq!(reply.status, 200);
        let header = reply.header("x-ms-ratelimit-remaining-subscription-reads");
        left.push(header.and_then(|n| n.parse::<u32>().ok()).unwrap());
    }
    assert_eq!(left[0], 249);
    assert!(left[249] < 5, "{left:?}");
    // A slow machine may have earned a token or two while the 250 went out.
    let mut extra = 0;
    let throttled = loop {
        let reply = get(&fake, &cluster).await;
        if reply.status == 429 {
            break reply;
        }
        extra += 1;
        assert!(extra < 5, "the bucket never ran out");
    };
    assert_eq!(throttled.header("retry-after"), Some("1"));
    assert_eq!(
        throttled.header("x-ms-ratelimit-remaining-subscription-reads"),
        Some("0")
    );
    assert_eq!(
        throttled.body["error"]["code"],
        "SubscriptionRequestsThrottled"
    );
    assert_eq!(fake.arm_throttled(), 1);
    // Tenant reads (no subscription in the path) have their own bucket.
    let definition =
        "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4";
    let tenant = get(&fake, definition).await;
    assert_eq!(tenant.status, 200);
    assert_eq!(
        tenant.header("x-ms-ratelimit-remaining-tenant-reads"),
        Some("249")
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&fake, &cluster).await.status, 200);
    assert_eq!(fake.arm_requests(), 253);
}

#[tokio::test]
async fn arm_retry_after_is_the_time_until_a_token() {
    let config = FleetConfig {
        arm_bucket: 2.0,
        arm_refill_per_second: 0.25,
        ..quick(1, 1)
    };
    let fake = FakeFleet::start(config).await;
    let cluster = fake.clusters()[0].clone();
    assert_eq!(get(&fake, &cluster).await.status, 200);
    assert_eq!(get(&fake, &cluster).await.status, 200);
    let throttled = get(&fake, &cluster).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("4"));
    // A throttled request takes no token: the wait only shrinks.
    let again = get(&fake, &cluster).await;
    assert_eq!(again.header("retry-after"), Some("4"));
    assert_eq!(fake.arm_throttled(), 2);
}

#[tokio::test]
async fn graph_pages_with_a_skip_token_within_its_scope() {
    let fake = FakeFleet::start(quick(7, 2)).await;
    let first = fake.subscriptions()[0].clone();
    let mut request = json!({"subscriptions": [first], "query": Q_CLUSTERS, "options": {"$top": 3, "resultFormat": "objectArray"}});
    let mut ids = Vec::new();
    loop {
        let page = query(&fake, request.clone()).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.body["totalRecords"], 4);
        assert_eq!(page.body["resultTruncated"], "false");
        for row in page.body["data"].as_array().unwrap() {
            assert_eq!(row["type"], "microsoft.containerservice/managedclusters");
            assert_eq!(row["subscriptionId"], first.as_str());
            assert!(row["properties"]["agentPoolProfiles"].is_array());
            ids.push(row["id"].as_str().unwrap().to_string());
        }
        match page.body["$skipToken"].as_str() {
            Some(token) => request["options"]["$skipToken"] = Value::from(token),
            None => break,
        }
    }
    assert_eq!(fake.graph_queries(), 2);
    let names: Vec<&str> = ids
        .iter()
        .map(|id| id.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["aks-0000", "aks-0002", "aks-0004", "aks-0006"]);

    let instances = query(
        &fake,
        json!({"query": Q_BACKUP_INSTANCES, "options": {"$top": 1000}}),
    )
    .await;
    assert_eq!(instances.body["count"], 7);
    let resources = query(
        &fake,
        json!({"subscriptions": [first], "query": Q_RESOURCES}),
    )
    .await;
    let types: Vec<&str> = resources.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    for kind in [
        "microsoft.dataprotection/backupvaults",
        "microsoft.storage/storageaccounts",
        "microsoft.network/networksecuritygroups",
        "microsoft.network/virtualnetworks",
    ] {
        assert!(types.contains(&kind), "{kind} in {types:?}");
    }
    let vnet = resources.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "microsoft.network/virtualnetworks")
        .unwrap();
    assert_eq!(vnet["properties"]["subnets"][0]["name"], "snet-nodes");
    let groups = query(
        &fake,
        json!({"subscriptions": [first], "query": Q_RESOURCE_GROUPS, "options": {"$top": 1000}}),
    )
    .await;
    let names: Vec<&str> = groups.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"rg-aks-0006")
            && names.contains(&"MC_rg-aks-0006_aks-0006_eastus")
            && names.contains(&"rg-aks-snapshots"),
        "{names:?}"
    );
    assert!(!names.contains(&"rg-aks-0001"), "{names:?}");
}

#[tokio::test]
async fn graph_quota_refuses_the_16th_query_in_its_window() {
    let config = FleetConfig {
        graph_quota: 15,
        graph_window: Duration::from_secs(5),
        ..quick(2, 1)
    };
    let fake = FakeFleet::start(config).await;
    for sent in 1..=15 {
        let reply = query(&fake, json!({"query": Q_CLUSTERS})).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("x-ms-user-quota-remaining"),
            Some((15 - sent).to_string().as_str())
        );
    }
    let refused = query(&fake, json!({"query": Q_CLUSTERS})).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["error"]["code"], "RateLimiting");
    assert_eq!(refused.body["error"]["details"][0]["code"], "RateLimiting");
    assert_eq!(refused.header("x-ms-user-quota-remaining"), Some("0"));
    let resets = refused.header("x-ms-user-quota-resets-after").unwrap();
    assert!(
        resets.starts_with("00:00:0") && resets != "00:00:00",
        "{resets}"
    );
    assert_eq!((fake.graph_queries(), fake.graph_throttled()), (16, 1));
}

#[tokio::test]
async fn graph_rejects_a_query_it_does_not_know_and_a_forged_skip_token() {
    let fake = FakeFleet::start(quick(1, 1)).await;
    let unknown = query(
        &fake,
        json!({"query": "resources | where type =~ 'microsoft.compute/disks'"}),
    )
    .await;
    assert_eq!(unknown.status, 400);
    let forged = query(
        &fake,
        json!({"query": Q_CLUSTERS, "options": {"$skipToken": "zz"}}),
    )
    .await;
    assert_eq!(forged.status, 400);
}

#[tokio::test]
async fn graph_applies_a_tag_filter_and_ignores_other_where_clauses() {
    let fake = FakeFleet::start(quick(3, 1)).await;
    let with_filter = |filter: &str| {
        Q_CLUSTERS.replace(
            "managedclusters'",
            &format!("managedclusters' | where {filter}"),
        )
    };
    let count = |reply: Reply| reply.body["totalRecords"].as_u64().unwrap();
    let kept = query(
        &fake,
        json!({"query": with_filter("tags.tier =~ 'Production'")}),
    )
    .await;
    assert_eq!(count(kept), 3);
    let none = query(
        &fake,
        json!({"query": with_filter("tags['tier'] == 'staging' and location =~ 'eastus'")}),
    )
    .await;
    assert_eq!(count(none), 0);
    let other = query(
        &fake,
        json!({"query": with_filter("location =~ 'westeurope'")}),
    )
    .await;
    assert_eq!(count(other), 3);
}
