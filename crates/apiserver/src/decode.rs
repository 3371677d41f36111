//! Decoding request bodies: JSON, YAML and Kubernetes protobuf for objects; the patch
//! formats are told apart by their media type. Every failure is a clean `Status`.

use serde_json::Value;

use super::protobuf;
use super::status::ApiError;

/// Largest request body accepted, as in Kubernetes (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json` (also the default when no type is given).
    Json,
    /// `application/yaml`.
    Yaml,
    /// `application/vnd.kubernetes.protobuf`.
    Protobuf,
    /// `application/merge-patch+json`.
    MergePatch,
    /// `application/json-patch+json`.
    JsonPatch,
    /// `application/strategic-merge-patch+json`.
    StrategicMergePatch,
    /// `application/apply-patch+yaml` (server-side apply).
    ApplyPatch,
}

/// Maps a `Content-Type` header to a body format.
pub fn body_format(content_type: Option<&str>) -> Result<BodyFormat, ApiError> {
    let essence = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Ok(match essence.as_str() {
        "" | "application/json" | "*/*" => BodyFormat::Json,
        "application/yaml" | "application/x-yaml" | "text/yaml" => BodyFormat::Yaml,
        "application/vnd.kubernetes.protobuf" => BodyFormat::Protobuf,
        "application/merge-patch+json" => BodyFormat::MergePatch,
        "application/json-patch+json" => BodyFormat::JsonPatch,
        "application/strategic-merge-patch+json" => BodyFormat::StrategicMergePatch,
        "application/apply-patch+yaml" | "application/apply-patch+json" => BodyFormat::ApplyPatch,
        _ => return Err(ApiError::unsupported_media_type(&essence)),
    })
}

/// Parses JSON text into a value.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })
}

/// Parses YAML (or JSON, which is YAML) text into a value; one document only.
pub fn parse_yaml(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the YAML body is not valid UTF-8"))?;
    if text.trim_start().starts_with('{')
        && let Ok(v) = serde_json::from_str(text)
    {
        return Ok(v);
    }
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))
}

/// Decodes an object body (create and update).
pub fn decode_object(format: BodyFormat, body: &[u8]) -> Result<Value, ApiError> {
    let value = match format {
        BodyFormat::Json => parse_json(body)?,
        BodyFormat::Yaml => parse_yaml(body)?,
        BodyFormat::Protobuf => protobuf::decode(body)
            .map_err(|e| ApiError::bad_request(format!("protobuf body: {e}")))?,
        _ => {
            return Err(ApiError::unsupported(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
            ));
        }
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON or YAML object",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn content_types() {
        assert_eq!(body_format(None).unwrap(), BodyFormat::Json);
        assert_eq!(
            body_format(Some("application/json; charset=utf-8")).unwrap(),
            BodyFormat::Json
        );
        assert_eq!(
            body_format(Some("application/apply-patch+yaml")).unwrap(),
            BodyFormat::ApplyPatch
        );
        assert_eq!(body_format(Some("text/html")).unwrap_err().code, 415);
    }

    #[test]
    fn objects_from_each_format() {
        let json = decode_object(BodyFormat::Json, br#"{"a": 1}"#).unwrap();
        assert_eq!(json["a"], 1);
        let yaml = decode_object(BodyFormat::Yaml, b"a: 1\nb:\n  c: x\n").unwrap();
        assert_eq!(yaml["b"]["c"], "x");
        let e = decode_object(BodyFormat::Json, b"{nope").unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            decode_object(BodyFormat::Json, b"[1]").unwrap_err().code,
            400
        );
        assert_eq!(
            decode_object(BodyFormat::Yaml, b"a: [").unwrap_err().code,
            400
        );
        assert_eq!(
            decode_object(BodyFormat::Protobuf, b"{}").unwrap_err().code,
            400
        );
        assert_eq!(
            decode_object(BodyFormat::MergePatch, b"{}")
                .unwrap_err()
                .code,
            415
        );
    }

    proptest! {
        #[test]
        fn decoders_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            for f in [BodyFormat::Json, BodyFormat::Yaml, BodyFormat::Protobuf] {
                let _ = decode_object(f, &body);
            }
        }

        #[test]
        fn yaml_text_never_panics(text in "[a-z:{}\\[\\]&*!|>\\-# \n'\"]{0,200}") {
            let _ = parse_yaml(text.as_bytes());
        }
    }
}
