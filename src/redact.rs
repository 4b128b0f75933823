//! Redaction of what the collector stores, before anything is written or printed: the
//! password of every URL's userinfo in every string (`http://user:***@host:3128`), the
//! signature of every shared access signature URL (`...&sig=[redacted]`, as a backup job's
//! `progressUrl` or an error message may hold one), and every value under a secret-bearing
//! key (`[redacted]`). Pure text and JSON work: no I/O, and it
//! never decides anything about what it redacts.

use crate::reads::RawRead;
use serde_json::Value;
use std::borrow::Cow;

/// What replaces a URL's password; the user stays, so people can still tell proxies apart.
pub const PASSWORD_MASK: &str = "***";
/// What replaces the value of a secret-bearing key.
const REDACTED: &str = "[redacted]";

/// A read as it may be stored: body and error message redacted.
pub fn read(raw: &mut RawRead) {
    if let Some(body) = raw.body.as_mut() {
        body_values(body);
    }
    if let Some(error) = raw.error.as_mut() {
        if let Cow::Owned(redacted) = text(&error.message) {
            error.message = redacted;
        }
    }
}

/// `text` without URL passwords and SAS signatures.
fn text(text: &str) -> Cow<'_, str> {
    match url_passwords(text) {
        Cow::Borrowed(same) => sas_signatures(same),
        Cow::Owned(changed) => Cow::Owned(sas_signatures(&changed).into_owned()),
    }
}

/// `text` with the value of every `sig=` query parameter (an Azure Storage shared access
/// signature's signature, the part that grants access) replaced by `[redacted]`.
fn sas_signatures(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let starts: Vec<usize> = ["?sig=", "&sig=", "&amp;sig="]
        .iter()
        .flat_map(|marker| lower.match_indices(marker).map(|(i, m)| i + m.len()))
        .collect();
    if starts.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut starts = starts;
    starts.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for start in starts {
        let end = text[start..]
            .find(|c: char| {
                matches!(c, '&' | '#' | '"' | '\'' | '<' | '>' | ')') || c.is_whitespace()
            })
            .map_or(text.len(), |i| start + i);
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Replaces every secret-bearing value, and every URL password in the other strings, at any
/// depth.
pub fn body_values(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if is_secret_key(key) && !inner.is_null() {
                    *inner = Value::String(REDACTED.to_string());
                } else {
                    body_values(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(body_values),
        Value::String(string) => {
            if let Cow::Owned(redacted) = text(string) {
                *string = redacted;
            }
        }
        _ => {}
    }
}

/// Whether a JSON key holds a secret: write-only credentials, keys, tokens, protected settings.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "configurationprotectedsettings",
        "keys",
        "key1",
        "key2",
        "primarykey",
        "secondarykey",
        "accesstoken",
        "access_token",
        "refreshtoken",
        "connectionstring",
        "sastoken",
        "accountkey",
        "storageaccountkey",
    ];
    EXACT.contains(&k.as_str()) || k.contains("secret") || k.contains("password")
}

/// Characters that end a URL's authority (RFC 3986), and the blanks and quotes that end a
/// URL inside prose.
fn ends_authority(c: char) -> bool {
    matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
}

/// Characters that separate a scheme-less `user:password@host` from what is around it.
fn ends_token(c: char) -> bool {
    ends_authority(c) || matches!(c, ',' | ';' | '(' | ')' | '=')
}

/// `text` with the password of every URL's userinfo replaced by [`PASSWORD_MASK`]: after
/// `scheme://` (the last `@` of the authority ends the userinfo, as URL parsers read it, so
/// an unencoded `@` in a password is covered), and in a scheme-less `user:password@host`
/// (how curl and proxies accept it). A URL with only a user keeps it.
pub fn url_passwords(text: &str) -> Cow<'_, str> {
    if !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = next_userinfo(rest) {
        let (user_start, at_index) = at;
        let userinfo = &rest[user_start..at_index];
        out.push_str(&rest[..user_start]);
        match userinfo.split_once(':') {
            Some((user, password)) if password != PASSWORD_MASK => {
                out.push_str(user);
                out.push(':');
                out.push_str(PASSWORD_MASK);
                changed = true;
            }
            _ => out.push_str(userinfo),
        }
        out.push('@');
        rest = &rest[at_index + 1..];
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The next userinfo in `text`, as (start, index of the `@` that ends it).
fn next_userinfo(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(at) = text[from..].find('@').map(|i| from + i) {
        let before = &text[..at];
        // With a scheme: the authority starts after the last `://` and must not have ended.
        if let Some(slashes) = before.rfind("://") {
            let start = slashes + 3;
            if !before[start..].contains(ends_authority) {
                // The last `@` of the authority ends the userinfo.
                let authority_end = text[start..]
                    .find(ends_authority)
                    .map_or(text.len(), |i| start + i);
                let last_at = text[start..authority_end].rfind('@').map(|i| start + i);
                return last_at.map(|last| (start, last));
            }
        }
        // Without a scheme: `user:password@` right at the start of a token.
        let start = before
            .rmatch_indices(ends_token)
            .next()
            .map_or(0, |(i, separator)| i + separator.len());
        let token = &before[start..];
        if !token.is_empty() && token.contains(':') && !token.contains('@') {
            return Some((start, at));
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redacted(text: &str) -> String {
        url_passwords(text).into_owned()
    }

    #[test]
    fn a_url_password_is_masked_and_the_user_kept() {
        assert_eq!(
            redacted("http://user:password@proxy:3128"),
            "http://user:***@proxy:3128"
        );
        assert_eq!(
            redacted("https://u:p@proxy.corp:3128/path?q=1"),
            "https://u:***@proxy.corp:3128/path?q=1"
        );
        assert_eq!(
            redacted("http://user@proxy:3128"),
            "http://user@proxy:3128",
            "no password, nothing to hide"
        );
        assert_eq!(redacted("http://proxy:3128/"), "http://proxy:3128/");
        assert!(matches!(url_passwords("http://u:***@h"), Cow::Borrowed(_)));
    }

    #[test]
    fn odd_urls() {
        for (text, expected) in [
            // IPv6 hosts: the colons of the address are not a password.
            (
                "http://u:pw@[2001:db8::1]:3128",
                "http://u:***@[2001:db8::1]:3128",
            ),
            ("http://[2001:db8::1]:3128/", "http://[2001:db8::1]:3128/"),
            // `@` in the path or query is not userinfo.
            ("http://host/path@x:y", "http://host/path@x:y"),
            // ... but a `user:password@` in a query is masked like any other.
            (
                "http://host:80/a?mail=me:x@corp",
                "http://host:80/a?mail=me:***@corp",
            ),
            // Unencoded `@` in the password: the last `@` of the authority ends the userinfo.
            ("http://u:p@ss@proxy:3128", "http://u:***@proxy:3128"),
            // Percent-encoded password and user.
            (
                "http://u%3Ax:p%40ss%2Fw@proxy:3128",
                "http://u%3Ax:***@proxy:3128",
            ),
            // No scheme, as curl and HTTP_PROXY accept it.
            ("u:planted@proxy:3128", "u:***@proxy:3128"),
            ("proxy=u:planted@proxy:3128", "proxy=u:***@proxy:3128"),
            // Several URLs in one string.
            (
                "http://a:one@h1:1,https://b:two@h2:2 and ftp://c:three@h3/x",
                "http://a:***@h1:1,https://b:***@h2:2 and ftp://c:***@h3/x",
            ),
            (
                "see \"http://a:one@h1\"; or 'http://b:two@h2'",
                "see \"http://a:***@h1\"; or 'http://b:***@h2'",
            ),
            // Plain addresses and ARM text stay as they are.
            ("admin@contoso.com", "admin@contoso.com"),
            ("git@github.com:org/repo", "git@github.com:org/repo"),
            (
                "/subscriptions/s/resourceGroups/g",
                "/subscriptions/s/resourceGroups/g",
            ),
            ("\u{3000}u:pw@h", "\u{3000}u:***@h"),
            // Role assignment conditions: attribute references are not userinfo.
            (
                "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {ba92f5b4-2d11-453d-a403-e96b0029c9fe}))",
                "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {ba92f5b4-2d11-453d-a403-e96b0029c9fe}))",
            ),
            (
                "@Resource[Microsoft.ContainerService/managedClusters:name] StringEquals 'aks'",
                "@Resource[Microsoft.ContainerService/managedClusters:name] StringEquals 'aks'",
            ),
        ] {
            assert_eq!(redacted(text), expected, "{text}");
        }
    }

    #[test]
    fn a_shared_access_signature_loses_its_signature_only() {
        let url = "https://staksbackupprod.blob.core.windows.net/progress/7d3c.json?sv=2023-11-03&se=2026-11-20T10%3A00%3A00Z&sr=b&sp=r&sig=Zm9vYmFyYmF6cXV4%2Bc2VjcmV0%3D";
        let mut body = json!({"properties": {"progressUrl": url, "message": format!("could not read {url} (403)")}});
        body_values(&mut body);
        let text = body.to_string();
        assert!(!text.contains("Zm9vYmFyYmF6cXV4"), "{text}");
        assert_eq!(text.matches("sig=[redacted]").count(), 2, "{text}");
        assert!(text.contains("sp=r&sig=[redacted] (403)"), "{text}");
        assert!(
            text.contains("se=2026-11-20T10%3A00%3A00Z"),
            "the rest of the URL stays: {text}"
        );
        // A URL without a signature, or a word ending in "sig", is left alone.
        assert_eq!(
            sas_signatures("https://example.com/?design=1&signal=2"),
            "https://example.com/?design=1&signal=2"
        );
        assert_eq!(sas_signatures("?SIG=abc"), "?SIG=[redacted]");
    }

    #[test]
    fn bodies_lose_url_passwords_and_secret_keys_at_any_depth() {
        let mut body = json!({
            "properties": {
                "httpProxyConfig": {"httpProxy": "http://u:planted@proxy:3128/", "noProxy": ["a@b"]},
                "servicePrincipalProfile": {"clientId": "app", "secret": "s3cr3t"},
                "configurationProtectedSettings": {"a": "b"},
                "list": [{"adminPassword": "pw", "keyName": "key1"}],
                "keys": [{"keyName": "key1", "value": "k"}],
                "nullSecret": null
            }
        });
        body_values(&mut body);
        let text = body.to_string();
        for secret in ["planted", "s3cr3t", "\"b\"", "\"pw\"", "\"k\""] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let props = &body["properties"];
        assert_eq!(
            props["httpProxyConfig"]["httpProxy"],
            "http://u:***@proxy:3128/"
        );
        assert_eq!(props["httpProxyConfig"]["noProxy"][0], "a@b");
        assert_eq!(props["servicePrincipalProfile"]["clientId"], "app");
        assert_eq!(props["list"][0]["keyName"], "key1");
        assert!(props["nullSecret"].is_null());
    }

    proptest::proptest! {
        #[test]
        fn a_planted_password_never_survives(
            before in "[ -~\u{3000}]{0,12}",
            after in "[ -~]{0,12}",
            password in "[a-zA-Z0-9%!$&*+,;=-]{1,12}",
        ) {
            let text = format!("{before} http://user:Planted{password}@proxy:3128/{after}");
            let out = redacted(&text);
            proptest::prop_assert!(!out.contains(&format!("Planted{password}")), "{out}");
            proptest::prop_assert_eq!(redacted(&out), out.clone(), "idempotent");
        }
    }
}
