//! Parsing of request paths, query strings and `Accept` headers.

use std::collections::BTreeMap;

use super::status::ApiError;

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`.
    Version,
    /// `/healthz`, `/readyz`, `/livez`.
    Health,
    /// `/api`.
    Api,
    /// `/apis`.
    Apis,
    /// `/apis/G`.
    Group(String),
    /// `/api/v1` or `/apis/G/V`.
    GroupVersion(String, String),
    /// `/openapi/v3`.
    OpenApiIndex,
    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/G/V`.
    OpenApiDoc(String, String),
    /// `/openapi/v2` (not served).
    OpenApiV2,
    /// A resource collection, object or subresource.
    Resource(ResourcePath),
}

/// The parts of a resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group, empty for core.
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from the path, if any.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub plural: String,
    /// Object name, if the path names one.
    pub name: Option<String>,
    /// Subresource (`status`), if any.
    pub subresource: Option<String>,
}

fn resource_from(group: &str, version: &str, rest: &[&str]) -> Option<ResourcePath> {
    let mk = |namespace: Option<&str>, plural: &str, name: Option<&str>, sub: Option<&str>| {
        Some(ResourcePath {
            group: group.to_string(),
            version: version.to_string(),
            namespace: namespace.map(str::to_string),
            plural: plural.to_string(),
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
        })
    };
    match rest {
        [plural] => mk(None, plural, None, None),
        [plural, name] => mk(None, plural, Some(name), None),
        // `namespaces/{name}/status` is the Namespace's own subresource.
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            mk(None, "namespaces", Some(name), Some(sub))
        }
        ["namespaces", ns, plural] => mk(Some(ns), plural, None, None),
        [plural, name, sub] => mk(None, plural, Some(name), Some(sub)),
        ["namespaces", ns, plural, name] => mk(Some(ns), plural, Some(name), None),
        ["namespaces", ns, plural, name, sub] => mk(Some(ns), plural, Some(name), Some(sub)),
        _ => None,
    }
}

/// Decodes `%XX` escapes (and `+` as space when `plus` is set); invalid escapes are kept.
pub fn percent_decode(s: &str, plus: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = [bytes[i + 1], bytes[i + 2]];
                let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(digit(hex[0]) * 16 + digit(hex[1]));
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a request path into a [`Route`].
pub fn parse_path(path: &str) -> Option<Route> {
    let decoded: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["version"] => Some(Route::Version),
        ["healthz" | "readyz" | "livez", ..] => Some(Route::Health),
        ["api"] => Some(Route::Api),
        ["apis"] => Some(Route::Apis),
        ["api", "v1"] => Some(Route::GroupVersion(String::new(), "v1".into())),
        ["apis", g] => Some(Route::Group(g.to_string())),
        ["apis", g, v] => Some(Route::GroupVersion(g.to_string(), v.to_string())),
        ["openapi", "v3"] => Some(Route::OpenApiIndex),
        ["openapi", "v3", "api", v] => Some(Route::OpenApiDoc(String::new(), v.to_string())),
        ["openapi", "v3", "apis", g, v] => Some(Route::OpenApiDoc(g.to_string(), v.to_string())),
        ["openapi", "v2"] => Some(Route::OpenApiV2),
        ["api", v, rest @ ..] => resource_from("", v, rest).map(Route::Resource),
        ["apis", g, v, rest @ ..] => resource_from(g, v, rest).map(Route::Resource),
        _ => None,
    }
}

/// Query parameters; the first occurrence of a key wins. Tolerates `?&a=b` and empty parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(BTreeMap<String, String>);

impl Query {
    /// Parses a raw query string (without the `?`).
    pub fn parse(raw: Option<&str>) -> Self {
        let mut map = BTreeMap::new();
        for part in raw.unwrap_or("").split('&') {
            if part.is_empty() {
                continue;
            }
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let k = percent_decode(k, true);
            let v = percent_decode(v, true);
            map.entry(k).or_insert(v);
        }
        Query(map)
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A non-empty value of `key`.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// A boolean flag: present with `true`/`1`/empty value.
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "True"))
    }

    /// An integer value; a malformed one is a 400.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.non_empty(key) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}"))),
        }
    }
}

/// The representation a client asked for in `Accept`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// The object itself, as JSON.
    Json,
    /// A `meta.k8s.io` Table (`version` is `v1` or `v1beta1`).
    Table(String),
    /// `PartialObjectMetadata` / `PartialObjectMetadataList` (`version` as requested).
    Metadata(String),
    /// Aggregated discovery in the given apidiscovery version.
    Discovery(String),
}

/// One media range of an `Accept` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MediaRange {
    essence: String,
    params: BTreeMap<String, String>,
}

fn media_ranges(accept: &str) -> Vec<MediaRange> {
    accept
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let essence = pieces.next()?.trim().to_ascii_lowercase();
            if essence.is_empty() {
                return None;
            }
            let params = pieces
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
                })
                .collect();
            Some(MediaRange { essence, params })
        })
        .collect()
}

/// Picks the first acceptable representation of an `Accept` header. Protobuf is never
/// chosen (JSON is offered instead when listed); a missing header means JSON.
pub fn negotiate(accept: Option<&str>) -> Result<Want, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Want::Json);
    };
    for range in media_ranges(accept) {
        let json_like = matches!(
            range.essence.as_str(),
            "application/json" | "*/*" | "application/*"
        );
        if !json_like {
            continue;
        }
        let g = range.params.get("g").map(String::as_str);
        let v = range.params.get("v").cloned().unwrap_or_default();
        match (range.params.get("as").map(String::as_str), g) {
            (None, _) => return Ok(Want::Json),
            (Some("Table"), Some("meta.k8s.io")) if v == "v1" || v == "v1beta1" => {
                return Ok(Want::Table(v));
            }
            (Some("PartialObjectMetadata" | "PartialObjectMetadataList"), Some("meta.k8s.io"))
                if v == "v1" || v == "v1beta1" =>
            {
                return Ok(Want::Metadata(v));
            }
            (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"))
                if v == "v2" || v == "v2beta1" =>
            {
                return Ok(Want::Discovery(v));
            }
            _ => continue,
        }
    }
    Err(ApiError::not_acceptable(format!(
        "only the following media types are accepted: application/json (got {accept:?})"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse_path(path) {
            Some(Route::Resource(r)) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn resource_paths() {
        let r = res("/apis/net.example.io/v1alpha1/namespaces/default/serviceorders/x/status");
        assert_eq!(r.group, "net.example.io");
        assert_eq!(r.namespace.as_deref(), Some("default"));
        assert_eq!(r.plural, "serviceorders");
        assert_eq!(r.name.as_deref(), Some("x"));
        assert_eq!(r.subresource.as_deref(), Some("status"));

        let r = res("/api/v1/namespaces/shop");
        assert_eq!(
            (r.plural.as_str(), r.name.as_deref()),
            ("namespaces", Some("shop"))
        );
        let r = res("/api/v1/namespaces/shop/status");
        assert_eq!(r.subresource.as_deref(), Some("status"));
        assert_eq!(r.namespace, None);
        let r = res("/api/v1/namespaces/shop/configmaps");
        assert_eq!(r.namespace.as_deref(), Some("shop"));
        assert_eq!(r.name, None);
        let r = res("/apis/net.example.io/v1alpha1/serviceorders");
        assert_eq!(r.namespace, None);
        let r = res("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/a.b.c");
        assert_eq!(r.name.as_deref(), Some("a.b.c"));
    }

    #[test]
    fn other_paths() {
        assert_eq!(parse_path("/version"), Some(Route::Version));
        assert_eq!(parse_path("/api"), Some(Route::Api));
        assert_eq!(
            parse_path("/api/v1"),
            Some(Route::GroupVersion(String::new(), "v1".into()))
        );
        assert_eq!(
            parse_path("/openapi/v3/apis/net.example.io/v1alpha1"),
            Some(Route::OpenApiDoc(
                "net.example.io".into(),
                "v1alpha1".into()
            ))
        );
        assert_eq!(parse_path("/nothing/here"), None);
        assert_eq!(parse_path("/api/v1/a/b/c/d/e/f"), None);
    }

    #[test]
    fn query_tolerates_leading_ampersand_and_escapes() {
        let q = Query::parse(Some(
            "&watch=true&fieldSelector=metadata.name%3Dx%2Cb%3Dc&labelSelector=a+in+(b)&x",
        ));
        assert!(q.flag("watch"));
        assert_eq!(q.get("fieldSelector"), Some("metadata.name=x,b=c"));
        assert_eq!(q.get("labelSelector"), Some("a in (b)"));
        assert_eq!(q.get("x"), Some(""));
        assert!(q.int("watch").is_err());
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
        assert_eq!(percent_decode("%", false), "%");
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate(None).unwrap(), Want::Json);
        assert_eq!(
            negotiate(Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")).unwrap(),
            Want::Table("v1".into())
        );
        assert_eq!(
            negotiate(Some(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            ))
            .unwrap(),
            Want::Metadata("v1".into())
        );
        assert_eq!(
            negotiate(Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")).unwrap(),
            Want::Discovery("v2".into())
        );
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf,application/json")).unwrap(),
            Want::Json
        );
        assert_eq!(negotiate(Some("*/*")).unwrap(), Want::Json);
        assert_eq!(
            negotiate(Some("application/json, */*")).unwrap(),
            Want::Json
        );
        assert!(negotiate(Some("application/vnd.kubernetes.protobuf")).is_err());
        assert!(negotiate(Some("application/json;as=Table;v=v9;g=meta.k8s.io")).is_err());
    }
}
