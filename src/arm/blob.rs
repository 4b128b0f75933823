//! The blob data plane's container listing (`GET {endpoint}{container}?restype=container&
//! comp=list`), the one request the tool sends to a storage account's blob host.
//!
//! It goes through the same pipeline (read-only guard, timeout, retries) with a bearer
//! token of the same credential for the storage audience, never the account key. The XML
//! answer is reduced here to each blob's name, size and last-modified time and the marker
//! state: no blob's content is ever read, and nothing else of the answer is kept.

use super::{ArmClient, Failure};
use crate::reads::{BLOB_PAGE_SIZE, BLOB_SERVICE_VERSION};
use azure_core::{Context, Method, Request, Url};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{json, Value};

/// The Entra audience of Azure Storage's data plane (the same in every cloud).
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Pages followed at most: the check names a few blobs and a count, so a longer listing
/// is kept as "at least this many" (the marker left says so) rather than read whole.
pub const MAX_BLOB_PAGES: usize = 3;

/// One page of a listing, as kept.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct BlobPage {
    pub blobs: Vec<Value>,
    pub next_marker: Option<String>,
}

impl ArmClient {
    /// Lists the container's blobs, following `NextMarker` for at most [`MAX_BLOB_PAGES`].
    pub(super) async fn list_blobs(
        &self,
        endpoint: &str,
        container: &str,
    ) -> Result<Value, Failure> {
        let base = container_url(endpoint, container)?;
        let mut blobs = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_BLOB_PAGES {
            let mut url = base.clone();
            url.query_pairs_mut()
                .append_pair("restype", "container")
                .append_pair("comp", "list")
                .append_pair("maxresults", &BLOB_PAGE_SIZE.to_string());
            if let Some(marker) = &marker {
                url.query_pairs_mut().append_pair("marker", marker);
            }
            let page = parse_listing(&self.get_blob_page(url).await?)?;
            blobs.extend(page.blobs);
            marker = page.next_marker;
            if marker.is_none() {
                break;
            }
        }
        Ok(json!({ "blobs": blobs, "nextMarker": marker }))
    }

    async fn get_blob_page(&self, url: Url) -> Result<Vec<u8>, Failure> {
        let mut request = Request::new(url, Method::Get);
        request.insert_header(
            azure_core::headers::AUTHORIZATION,
            self.bearer(super::Audience::Storage).await?,
        );
        request.insert_header(azure_core::headers::VERSION, BLOB_SERVICE_VERSION);
        request.set_body(azure_core::EMPTY_BODY);
        let response = self
            .pipeline
            .send(&Context::default(), &mut request)
            .await
            .map_err(|e| Failure::from_core(&e))?;
        self.body_bytes(response).await
    }
}

/// The container's URL under the account's blob endpoint: HTTPS, or HTTP on loopback only.
pub(crate) fn container_url(endpoint: &str, container: &str) -> Result<Url, Failure> {
    let endpoint = Url::parse(endpoint)
        .map_err(|e| Failure::local(format!("the blob endpoint '{endpoint}' is not a URL: {e}")))?;
    let loopback = match endpoint.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    let secure = endpoint.scheme() == "https" || (endpoint.scheme() == "http" && loopback);
    if !secure || !endpoint.username().is_empty() || endpoint.password().is_some() {
        return Err(Failure::local(format!(
            "the blob endpoint {}://{} is refused: HTTPS only (HTTP on loopback)",
            endpoint.scheme(),
            endpoint.host_str().unwrap_or_default()
        )));
    }
    let path = format!("{}/{container}", endpoint.path().trim_end_matches('/'));
    let mut url = endpoint;
    url.set_path(&path);
    url.set_query(None);
    Ok(url)
}

/// One `EnumerationResults` page: each blob's name, size and last-modified time, and the
/// `NextMarker` (absent or empty on the last page).
pub(crate) fn parse_listing(xml: &[u8]) -> Result<BlobPage, Failure> {
    let text = String::from_utf8_lossy(xml);
    // The storage service starts its XML with a byte order mark.
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut content = String::new();
    let mut page = BlobPage::default();
    let mut blob = json!({});
    let malformed =
        |e: String| Failure::malformed(format!("the listing is not the expected XML: {e}"));
    loop {
        match reader.read_event().map_err(|e| malformed(e.to_string()))? {
            Event::Start(start) => {
                path.push(String::from_utf8_lossy(start.local_name().as_ref()).into_owned());
                content.clear();
            }
            Event::Text(t) => content.push_str(&t.decode().map_err(|e| malformed(e.to_string()))?),
            Event::CData(t) => content.push_str(&quick_xml::escape::escape(
                t.decode().map_err(|e| malformed(e.to_string()))?,
            )),
            // Entity references arrive apart from the text; put them back to unescape once.
            Event::GeneralRef(r) => {
                content.push_str(&format!(
                    "&{};",
                    r.decode().map_err(|e| malformed(e.to_string()))?
                ));
            }
            Event::End(_) => {
                let value = quick_xml::escape::unescape(&content)
                    .map_err(|e| malformed(e.to_string()))?
                    .into_owned();
                let names: Vec<&str> = path.iter().map(String::as_str).collect();
                match names.as_slice() {
                    ["EnumerationResults", "Blobs", "Blob", "Name"] => blob["name"] = json!(value),
                    ["EnumerationResults", "Blobs", "Blob", "Properties", "Content-Length"] => {
                        blob["size"] = json!(value.parse::<u64>().ok());
                    }
                    ["EnumerationResults", "Blobs", "Blob", "Properties", "Last-Modified"] => {
                        blob["lastModified"] = json!(value);
                    }
                    ["EnumerationResults", "Blobs", "Blob"] => {
                        page.blobs.push(std::mem::replace(&mut blob, json!({})));
                    }
                    ["EnumerationResults", "NextMarker"] if !value.is_empty() => {
                        page.next_marker = Some(value);
                    }
                    _ => {}
                }
                path.pop();
                content.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !text.contains("EnumerationResults") {
        return Err(malformed("no EnumerationResults element".into()));
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reads::FailureKind;

    /// A page in the shape of the List Blobs reference's response body.
    const PAGE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://acct.blob.core.windows.net/" ContainerName="aks-backups">
  <MaxResults>2</MaxResults>
  <Blobs>
    <Blob>
      <Name>backups/daily/velero-backup.json</Name>
      <Properties>
        <Creation-Time>Mon, 02 Nov 2026 10:00:00 GMT</Creation-Time>
        <Last-Modified>Mon, 02 Nov 2026 10:00:00 GMT</Last-Modified>
        <Etag>0x8D8</Etag>
        <Content-Length>1024</Content-Length>
        <Content-Type>application/octet-stream</Content-Type>
        <BlobType>BlockBlob</BlobType>
      </Properties>
    </Blob>
    <Blob>
      <Name>notes &amp; <![CDATA[todo]]>.txt</Name>
      <Properties><Last-Modified>Tue, 03 Nov 2026 10:00:00 GMT</Last-Modified><Content-Length>7</Content-Length></Properties>
    </Blob>
  </Blobs>
  <NextMarker>2!72!MDAwMDE2</NextMarker>
</EnumerationResults>"#;

    #[test]
    fn a_listing_page_keeps_names_sizes_times_and_the_marker() {
        let page = parse_listing(format!("\u{feff}{PAGE}").as_bytes())
            .ok()
            .unwrap();
        assert_eq!(
            page.blobs,
            [
                json!({"name": "backups/daily/velero-backup.json", "lastModified": "Mon, 02 Nov 2026 10:00:00 GMT", "size": 1024}),
                json!({"name": "notes & todo.txt", "lastModified": "Tue, 03 Nov 2026 10:00:00 GMT", "size": 7}),
            ]
        );
        assert_eq!(page.next_marker.as_deref(), Some("2!72!MDAwMDE2"));
        let last =
            parse_listing(b"<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>")
                .ok()
                .unwrap();
        assert_eq!(last, BlobPage::default());
    }

    #[test]
    fn a_body_that_is_no_listing_is_malformed() {
        for body in [
            &b"{\"value\": []}"[..],
            b"<Error><Code>X</Code>",
            b"<a><b></a>",
        ] {
            let failure = parse_listing(body).err().unwrap();
            assert_eq!(failure.error.kind, FailureKind::MalformedBody);
        }
    }

    #[test]
    fn the_endpoint_must_be_https_or_loopback_http() {
        let url = container_url("https://acct.blob.core.windows.net/", "aks-backups")
            .ok()
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://acct.blob.core.windows.net/aks-backups"
        );
        let local = container_url("http://127.0.0.1:8080/acct/", "c")
            .ok()
            .unwrap();
        assert_eq!(local.as_str(), "http://127.0.0.1:8080/acct/c");
        for refused in [
            "http://acct.blob.core.windows.net/",
            "https://u:p@acct.blob.core.windows.net/",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            let failure = container_url(refused, "c").err().unwrap();
            assert_eq!(failure.error.kind, FailureKind::Client, "{refused}");
            assert!(
                !failure.error.message.contains(":p@"),
                "{}",
                failure.error.message
            );
        }
    }
}
