//! Which Azure cloud to talk to: the ARM and Microsoft Graph base URLs, their token
//! audiences and the AAD authority.
//!
//! Endpoints come from the ARM metadata of each cloud (see shared/reference/arm-api.md §12).
//! This module validates endpoints before any request is made: `http://` is accepted only
//! for loopback addresses (local fakes in tests), everything else must be `https://`.

use url::{Host, Url};

/// An endpoint that is refused before any request is made.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{what} '{value}' is not a URL: {reason}")]
    NotAUrl {
        what: String,
        value: String,
        reason: url::ParseError,
    },
    #[error("{what} '{value}' uses http://, which is allowed only for loopback addresses (127.0.0.0/8, [::1], localhost)")]
    PlainHttp { what: String, value: String },
    #[error("{what} '{value}' has unsupported scheme '{scheme}'")]
    UnsupportedScheme {
        what: String,
        value: String,
        scheme: String,
    },
}

// The variant names are Azure's own cloud names.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CloudName {
    #[value(name = "AzureCloud")]
    AzureCloud,
    #[value(name = "AzureChinaCloud")]
    AzureChinaCloud,
    #[value(name = "AzureUSGovernment")]
    AzureUsGovernment,
}

/// Resolved endpoints for one run.
#[derive(Clone, Debug)]
pub struct Cloud {
    pub arm_endpoint: Url,
    /// The OAuth scope for ARM: the cloud's audience plus `/.default`.
    pub arm_scope: String,
    /// The Microsoft Graph base URL (group memberships are read there).
    pub graph_endpoint: Url,
    /// The OAuth scope for Graph: always the cloud's Graph audience, even when overridden.
    pub graph_scope: String,
    pub authority_host: Url,
}

impl Cloud {
    /// `arm_override` is `--arm-endpoint`, `graph_override` `--graph-endpoint`;
    /// `authority_override` is `AZURE_AUTHORITY_HOST`.
    pub fn resolve(
        name: CloudName,
        arm_override: Option<&str>,
        graph_override: Option<&str>,
        authority_override: Option<&str>,
    ) -> Result<Self, EndpointError> {
        let (arm, audience, graph, authority) = match name {
            CloudName::AzureCloud => (
                "https://management.azure.com/",
                "https://management.azure.com",
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com/",
            ),
            CloudName::AzureChinaCloud => (
                "https://management.chinacloudapi.cn/",
                "https://management.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://login.chinacloudapi.cn/",
            ),
            CloudName::AzureUsGovernment => (
                "https://management.usgovcloudapi.net/",
                "https://management.usgovcloudapi.net",
                "https://graph.microsoft.us",
                "https://login.microsoftonline.us/",
            ),
        };
        let arm_endpoint = validate_endpoint("--arm-endpoint", arm_override.unwrap_or(arm))?;
        let graph_endpoint =
            validate_endpoint("--graph-endpoint", graph_override.unwrap_or(graph))?;
        let authority_host = validate_endpoint(
            "AZURE_AUTHORITY_HOST",
            authority_override.unwrap_or(authority),
        )?;
        Ok(Cloud {
            arm_endpoint,
            arm_scope: format!("{audience}/.default"),
            graph_endpoint,
            graph_scope: format!("{graph}/.default"),
            authority_host,
        })
    }
}

/// Parses an endpoint URL, refusing plain HTTP except to loopback addresses.
pub fn validate_endpoint(what: &str, value: &str) -> Result<Url, EndpointError> {
    let mut url = Url::parse(value.trim()).map_err(|reason| EndpointError::NotAUrl {
        what: what.to_string(),
        value: value.to_string(),
        reason,
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(EndpointError::PlainHttp {
                what: what.to_string(),
                value: value.to_string(),
            })
        }
        other => {
            return Err(EndpointError::UnsupportedScheme {
                what: what.to_string(),
                value: value.to_string(),
                scheme: other.to_string(),
            })
        }
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sovereign_clouds_have_their_own_endpoints() {
        let china = Cloud::resolve(CloudName::AzureChinaCloud, None, None, None).unwrap();
        assert_eq!(
            china.arm_endpoint.as_str(),
            "https://management.chinacloudapi.cn/"
        );
        assert_eq!(
            china.arm_scope,
            "https://management.chinacloudapi.cn/.default"
        );
        assert_eq!(
            china.graph_endpoint.as_str(),
            "https://microsoftgraph.chinacloudapi.cn/"
        );
        assert_eq!(
            china.graph_scope,
            "https://microsoftgraph.chinacloudapi.cn/.default"
        );
        let gov = Cloud::resolve(CloudName::AzureUsGovernment, None, None, None).unwrap();
        assert_eq!(
            gov.authority_host.as_str(),
            "https://login.microsoftonline.us/"
        );
        assert_eq!(gov.graph_endpoint.as_str(), "https://graph.microsoft.us/");
        assert_eq!(gov.graph_scope, "https://graph.microsoft.us/.default");
        let public = Cloud::resolve(CloudName::AzureCloud, None, None, None).unwrap();
        assert_eq!(public.graph_scope, "https://graph.microsoft.com/.default");
    }

    #[test]
    fn http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3/",
            "http://[::1]:1",
            "http://localhost:9",
        ] {
            assert!(validate_endpoint("x", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1",
            "http://example.com",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            assert!(validate_endpoint("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn override_keeps_the_cloud_audience() {
        let c = Cloud::resolve(
            CloudName::AzureCloud,
            Some("http://127.0.0.1:5"),
            Some("http://127.0.0.1:6"),
            None,
        )
        .unwrap();
        assert_eq!(c.arm_endpoint.as_str(), "http://127.0.0.1:5/");
        assert_eq!(c.arm_scope, "https://management.azure.com/.default");
        assert_eq!(c.graph_endpoint.as_str(), "http://127.0.0.1:6/");
        assert_eq!(c.graph_scope, "https://graph.microsoft.com/.default");
        let remote_http = Cloud::resolve(
            CloudName::AzureCloud,
            None,
            Some("http://graph.example.com"),
            None,
        );
        assert!(remote_http
            .unwrap_err()
            .to_string()
            .contains("--graph-endpoint"));
    }
}
