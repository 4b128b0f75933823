//! Proxy checks for the px-central Helm install: when a proxy is in use, the effective
//! `proxy.httpProxy.noProxy` must keep PXB's own traffic off the proxy; the service lists
//! must name real PXB services; `--set` values must escape their commas.

use super::{Check, Evidence, Explain, Judgement, Outcome, Read, Uses, PXB};
use crate::facts::{Facts, HttpProxyConfig};
use crate::helm;
use crate::reads::API_CONTAINER_SERVICE;
use crate::requirements;
use crate::target::HelmInputs;

/// Why a proxy is in use (checks.md §6), if it is.
fn proxy_in_use(facts: &Facts, inputs: Option<&HelmInputs>) -> Option<String> {
    let config = facts.cluster.properties.http_proxy_config.as_ref();
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let enabled = |c: &HttpProxyConfig| c.enabled != Some(false);
    if config.is_some_and(|c| enabled(c) && (set(&c.http_proxy) || set(&c.https_proxy))) {
        return Some("the cluster's httpProxyConfig sets a proxy".into());
    }
    inputs
        .filter(|i| i.azure_proxy_enabled)
        .map(|_| "proxy.azureProxyEnabled is true".into())
}

fn contains(list: &[String], entry: &str) -> bool {
    list.iter().any(|e| e.eq_ignore_ascii_case(entry))
}

/// What noProxy must hold for this cluster: PXB's services, the cluster's own noProxy
/// entries, its service CIDRs and the cluster domains.
fn required_no_proxy(facts: &Facts) -> Vec<String> {
    let mut required: Vec<String> = Vec::new();
    let props = &facts.cluster.properties;
    let cluster_entries = props
        .http_proxy_config
        .iter()
        .flat_map(|c| c.no_proxy.iter().cloned());
    let network = props.network_profile.clone().unwrap_or_default();
    let service_cidrs = network
        .service_cidrs
        .into_iter()
        .chain(network.service_cidr);
    for entry in requirements::pxb()
        .no_proxy
        .iter()
        .cloned()
        .chain(cluster_entries)
        .chain(service_cidrs)
    {
        if !contains(&required, &entry) {
            required.push(entry);
        }
    }
    required
}

pub const PXB_PROXY_NO_PROXY: Check = Check {
    id: "pxb-proxy-no-proxy",
    title: "Proxy noProxy list covers every PXB service",
    profiles: PXB,
    uses: Uses::PxbLists,
    explain: Explain {
        verifies: "when a proxy is in use (the cluster's httpProxyConfig sets httpProxy or httpsProxy and its enabled is not false, or the values set proxy.azureProxyEnabled: true; a cluster proxy with enabled: false is switched off and AKS runs without it), the effective proxy.httpProxy.noProxy of the px-central install (--helm-values files and --set expressions, with Helm's precedence) contains every entry of the PXB page's proxy example (the PXB services, .svc, .cluster.local, localhost, ...), every entry of the cluster's httpProxyConfig.noProxy, the service CIDR, and .azmk8s.io; and no <placeholder> copied from the docs is left in it. Otherwise: fail. Proxy in use but no values given: warn. No proxy: skip.",
        how: None,
        why: "PXB's services talk to each other inside the cluster; through the proxy those calls fail.",
        reads: &[
            Read::Arm {
                call: "GET {cluster}",
                api_version: API_CONTAINER_SERVICE,
                note: "properties.httpProxyConfig (enabled, httpProxy, httpsProxy, noProxy), properties.networkProfile.serviceCidr and serviceCidrs",
            },
            Read::Other("the px-central Helm values: --helm-values files and --set expressions, with Helm's precedence"),
        ],
        fix: "set proxy.httpProxy.noProxy to the corrected value the check prints, as YAML and as a --set string with escaped commas.",
    },
    run: pxb_proxy_no_proxy,
};

fn pxb_proxy_no_proxy(facts: &Facts) -> Judgement {
    let inputs = facts.target.helm.as_ref();
    let Some(reason) = proxy_in_use(facts, inputs) else {
        return Ok(Outcome::skip("no proxy is in use (no cluster httpProxyConfig proxy, proxy.azureProxyEnabled not true)"));
    };
    let Some(inputs) = inputs else {
        return Ok(Outcome::warn(format!(
            "{reason}, but no Helm values were given: pass the px-central values with --helm-values and --set to check proxy.httpProxy.noProxy"
        )));
    };
    let present = inputs.no_proxy.clone();
    let placeholders: Vec<String> = present
        .iter()
        .filter(|e| e.contains('<') && e.contains('>'))
        .cloned()
        .collect();
    let required = required_no_proxy(facts);
    let missing: Vec<String> = required
        .iter()
        .filter(|r| !contains(&present, r))
        .cloned()
        .collect();
    let evidence = Evidence::new(
        "px-central values",
        "proxy.httpProxy.noProxy",
        present.join(","),
        format!("contains {}", required.join(",")),
    );
    if missing.is_empty() && placeholders.is_empty() {
        return Ok(Outcome::pass(format!(
            "{reason}; noProxy holds all {} required entries",
            required.len()
        ))
        .evidence(evidence));
    }
    let mut corrected: Vec<String> = Vec::new();
    for entry in present
        .into_iter()
        .filter(|e| !placeholders.contains(e))
        .chain(missing.iter().cloned())
    {
        if !contains(&corrected, &entry) {
            corrected.push(entry);
        }
    }
    let corrected = corrected.join(",");
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("noProxy lacks {}", missing.join(", ")));
    }
    if !placeholders.is_empty() {
        problems.push(format!(
            "noProxy still holds the docs' placeholder {}",
            placeholders.join(", ")
        ));
    }
    Ok(Outcome::fail(format!("{reason}; {}", problems.join("; "))).evidence(evidence).fix(format!(
        "# in the values file:\nproxy:\n  httpProxy:\n    noProxy: \"{corrected}\"\n# or on the helm command line:\n--set proxy.httpProxy.noProxy={}",
        helm::escape_set_value(&corrected)
    )))
}

pub const PXB_PROXY_SERVICE_LISTS: Check = Check {
    id: "pxb-proxy-service-lists",
    title: "Proxy service lists name real PXB services",
    profiles: PXB,
    uses: Uses::PxbLists,
    explain: Explain {
        verifies: "every name in proxy.includeNoProxyList and proxy.excludeAzureProxyList is a PXB micro-service of the px-central chart (requirements pxb-2.8, list IV), and --set expressions for proxy settings escape their commas: Helm splits `--set proxy.httpProxy.noProxy=a,b` at the comma, keeps only `a` and rejects `b` as a key without a value. Skipped when no values are given.",
        how: None,
        why: "a name that is no PXB service has no effect on the proxy, and an unescaped comma in --set breaks the install.",
        reads: &[
            Read::Other("the px-central Helm values: --helm-values files and --set expressions, with Helm's precedence (no Azure data)"),
        ],
        fix: "name only the PXB services the check lists, and escape the commas of --set values as the check prints them.",
    },
    run: pxb_proxy_service_lists,
};

fn pxb_proxy_service_lists(facts: &Facts) -> Judgement {
    let Some(inputs) = &facts.target.helm else {
        return Ok(Outcome::missing_input(
            &["--helm-values", "--set"],
            "no Helm values given: pass --helm-values or --set to check the proxy service lists",
        ));
    };
    let services = &requirements::pxb().services;
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    for (list, names) in [
        ("includeNoProxyList", &inputs.include_no_proxy_list),
        ("excludeAzureProxyList", &inputs.exclude_azure_proxy_list),
    ] {
        let unknown: Vec<&String> = names.iter().filter(|n| !contains(services, n)).collect();
        evidence.push(Evidence::new(
            "px-central values",
            &format!("proxy.{list}"),
            names.join(","),
            "PXB services only",
        ));
        if !unknown.is_empty() {
            problems.push(format!(
                "proxy.{list} names {} which {} no PXB service",
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if unknown.len() == 1 { "is" } else { "are" }
            ));
        }
    }
    let mut fixes = Vec::new();
    for expression in &inputs.split_sets {
        let parsed = helm::parse_set(expression);
        if parsed.problems.is_empty() {
            continue;
        }
        problems.push(format!(
            "--set {expression}: Helm splits it at unescaped commas ({})",
            parsed.problems.join("; ")
        ));
        if let Some((key, value)) = expression.split_once('=') {
            fixes.push(format!("--set {key}={}", helm::escape_set_value(value)));
        }
    }
    let outcome = if problems.is_empty() {
        Outcome::pass("the proxy service lists name PXB services and --set values are escaped")
    } else {
        let outcome = Outcome::fail(problems.join("; "));
        if fixes.is_empty() {
            outcome.fix(format!("# valid names: {}", services.join(", ")))
        } else {
            outcome.fix(fixes.join("\n"))
        }
    };
    Ok(evidence.into_iter().fold(outcome, Outcome::evidence))
}

#[cfg(test)]
mod tests {
    use super::super::testing::Scenario;
    use super::super::Status;
    use super::*;
    use serde_json::{json, Value};

    fn scenario(cluster_proxy: bool, values: Vec<Value>, set: Vec<&str>) -> Scenario {
        let mut s = Scenario::new();
        s.edit_cluster(|c| {
            c["properties"]["networkProfile"] = json!({"serviceCidr": "10.0.0.0/16", "serviceCidrs": ["10.0.0.0/16"]});
            if cluster_proxy {
                c["properties"]["httpProxyConfig"] = json!({"httpProxy": "http://proxy.corp:3128/", "httpsProxy": "http://proxy.corp:3128/", "noProxy": ["corp.internal", "169.254.169.254"]});
            }
        });
        if !values.is_empty() || !set.is_empty() {
            let set: Vec<String> = set.into_iter().map(str::to_string).collect();
            s.target.helm = Some(HelmInputs::from_helm(&values, &set));
        }
        s
    }

    fn full_no_proxy() -> String {
        let mut entries = requirements::pxb().no_proxy.clone();
        entries.extend([
            "corp.internal".to_string(),
            "169.254.169.254".to_string(),
            "10.0.0.0/16".to_string(),
        ]);
        entries.join(",")
    }

    #[test]
    fn no_proxy_skips_and_proxy_without_values_warns() {
        assert_eq!(
            Outcome::of(pxb_proxy_no_proxy(&scenario(false, vec![], vec![]).facts())).status,
            Status::Skip
        );
        let empty_no_proxy_is_not_a_proxy = scenario(
            false,
            vec![json!({"proxy": {"httpProxy": {"noProxy": ""}}})],
            vec![],
        );
        assert_eq!(
            Outcome::of(pxb_proxy_no_proxy(&empty_no_proxy_is_not_a_proxy.facts())).status,
            Status::Skip
        );
        let o = Outcome::of(pxb_proxy_no_proxy(&scenario(true, vec![], vec![]).facts()));
        assert_eq!(o.status, Status::Warn);
        assert!(o.message.contains("--helm-values"));
    }

    #[test]
    fn a_disabled_cluster_proxy_is_not_in_use() {
        let with_enabled = |enabled: Value| {
            let mut s = scenario(true, vec![], vec![]);
            s.edit_cluster(|c| c["properties"]["httpProxyConfig"]["enabled"] = enabled.clone());
            Outcome::of(pxb_proxy_no_proxy(&s.facts()))
        };
        let off = with_enabled(json!(false));
        assert_eq!(off.status, Status::Skip, "{}", off.message);
        assert_eq!(with_enabled(json!(true)).status, Status::Warn);
        assert_eq!(
            with_enabled(Value::Null).status,
            Status::Warn,
            "absent is enabled"
        );
        let explain = PXB_PROXY_NO_PROXY.explain.verifies;
        assert!(explain.contains("enabled is not false"), "{explain}");
    }

    #[test]
    fn complete_no_proxy_passes_in_any_case_and_order() {
        let value = full_no_proxy().to_uppercase();
        let s = scenario(
            true,
            vec![json!({"proxy": {"httpProxy": {"noProxy": value}}})],
            vec![],
        );
        assert_eq!(
            Outcome::of(pxb_proxy_no_proxy(&s.facts())).status,
            Status::Pass
        );
    }

    #[test]
    fn missing_entries_and_placeholders_fail_with_a_round_tripping_fix() {
        let value = "localhost,.svc,<your-cluster-service-cidr>,px-backup,px-backup";
        let s = scenario(
            false,
            vec![json!({"proxy": {"azureProxyEnabled": true, "httpProxy": {"noProxy": value}}})],
            vec![],
        );
        let o = Outcome::of(pxb_proxy_no_proxy(&s.facts()));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("placeholder <your-cluster-service-cidr>"),
            "{}",
            o.message
        );
        assert!(
            o.message.contains("10.0.0.0/16") && o.message.contains(".azmk8s.io"),
            "{}",
            o.message
        );
        let fix = o.remediation.unwrap();
        let set_line = fix.lines().last().unwrap().trim_start_matches("--set ");
        // The printed --set string, read back by the same Helm parser, is a complete noProxy.
        let fixed = scenario(
            false,
            vec![json!({"proxy": {"azureProxyEnabled": true}})],
            vec![set_line],
        );
        assert_eq!(
            Outcome::of(pxb_proxy_no_proxy(&fixed.facts())).status,
            Status::Pass,
            "{set_line}"
        );
        assert!(!set_line.contains("<your"), "placeholders are dropped");
        let entries: Vec<&str> = set_line
            .trim_start_matches("proxy.httpProxy.noProxy=")
            .split("\\,")
            .collect();
        assert_eq!(
            entries.iter().filter(|e| **e == "px-backup").count(),
            1,
            "duplicates are dropped: {set_line}"
        );
    }

    #[test]
    fn set_wins_over_files() {
        let files = vec![
            json!({"proxy": {"azureProxyEnabled": true, "httpProxy": {"noProxy": full_no_proxy()}}}),
        ];
        let s = scenario(false, files, vec!["proxy.httpProxy.noProxy=localhost"]);
        assert_eq!(
            Outcome::of(pxb_proxy_no_proxy(&s.facts())).status,
            Status::Fail
        );
    }

    #[test]
    fn service_lists_and_unescaped_commas() {
        let good = scenario(
            false,
            vec![
                json!({"proxy": {"includeNoProxyList": ["px-backup", "PXCENTRAL-MYSQL"], "excludeAzureProxyList": []}}),
            ],
            vec![],
        );
        assert_eq!(
            Outcome::of(pxb_proxy_service_lists(&good.facts())).status,
            Status::Pass
        );
        let typo = scenario(
            false,
            vec![json!({"proxy": {"includeNoProxyList": ["px-backups"]}})],
            vec![],
        );
        let o = Outcome::of(pxb_proxy_service_lists(&typo.facts()));
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.contains("px-backups"));
        let unescaped = scenario(
            false,
            vec![],
            vec!["proxy.httpProxy.noProxy=localhost,.svc"],
        );
        let o = Outcome::of(pxb_proxy_service_lists(&unescaped.facts()));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("key \".svc\" has no value"),
            "{}",
            o.message
        );
        assert_eq!(
            o.remediation.as_deref(),
            Some(r"--set proxy.httpProxy.noProxy=localhost\,.svc")
        );
        assert_eq!(
            Outcome::of(pxb_proxy_service_lists(
                &scenario(true, vec![], vec![]).facts()
            ))
            .status,
            Status::Skip
        );
    }
}
