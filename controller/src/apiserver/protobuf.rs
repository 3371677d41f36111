//! A minimal decoder for the Kubernetes protobuf encoding, enough for what `kubectl create
//! namespace|configmap|secret` and `kubectl auth can-i|whoami` send: the `k8s\0` envelope
//! (`runtime.Unknown`) holding a v1 Namespace, ConfigMap or Secret, or a self review. Decodes into the JSON form. Unknown fields are skipped;
//! every length is checked against the remaining input, so malformed bytes give an error,
//! never a panic.

use base64::Engine;
use serde_json::{Map, Value, json};

/// The magic prefix of Kubernetes protobuf bodies.
pub const MAGIC: &[u8] = b"k8s\0";

/// A malformed or unsupported protobuf body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    /// The body does not start with `k8s\0`.
    #[error("missing k8s protobuf envelope")]
    NoEnvelope,
    /// The bytes end in the middle of a field.
    #[error("truncated protobuf message")]
    Truncated,
    /// A varint is longer than 10 bytes.
    #[error("malformed varint")]
    BadVarint,
    /// A wire type this decoder does not know (groups are not used by Kubernetes).
    #[error("unsupported wire type {0}")]
    BadWireType(u8),
    /// A string field is not UTF-8.
    #[error("string field is not valid UTF-8")]
    BadUtf8,
    /// The envelope holds a kind this server cannot decode from protobuf.
    #[error(
        "protobuf bodies are only accepted for v1 Namespace, ConfigMap, Secret and the self reviews, not {0}"
    )]
    UnsupportedKind(String),
}

#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32,
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let (&b, rest) = self.buf.split_first().ok_or(ProtobufError::Truncated)?;
            self.buf = rest;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::BadVarint)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtobufError> {
        if n > self.buf.len() {
            return Err(ProtobufError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The next (field number, value), or `None` at the end.
    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, ProtobufError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        let field = match (key & 7) as u8 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Field::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| ProtobufError::Truncated)?;
                Field::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Field::Fixed32
            }
            w => return Err(ProtobufError::BadWireType(w)),
        };
        Ok(Some((number, field)))
    }
}

fn string(bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::BadUtf8)
}

/// A `map<string, string>` or `map<string, bytes>` entry.
fn map_entry(bytes: &[u8]) -> Result<(String, Vec<u8>), ProtobufError> {
    let mut r = Reader::new(bytes);
    let (mut key, mut value) = (String::new(), Vec::new());
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => key = string(b)?,
            (2, Field::Bytes(b)) => value = b.to_vec(),
            _ => {}
        }
    }
    Ok((key, value))
}

fn insert_nonempty(map: &mut Map<String, Value>, key: &str, value: String) {
    if !value.is_empty() {
        map.insert(key.to_string(), Value::String(value));
    }
}

fn timestamp(bytes: &[u8]) -> Result<Option<String>, ProtobufError> {
    let mut r = Reader::new(bytes);
    let mut seconds: i64 = 0;
    while let Some((n, f)) = r.next()? {
        if let (1, Field::Varint(v)) = (n, f) {
            seconds = v as i64;
        }
    }
    if seconds == 0 {
        return Ok(None);
    }
    Ok(chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

fn owner_reference(bytes: &[u8]) -> Result<Value, ProtobufError> {
    let mut r = Reader::new(bytes);
    let mut o = Map::new();
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => insert_nonempty(&mut o, "kind", string(b)?),
            (3, Field::Bytes(b)) => insert_nonempty(&mut o, "name", string(b)?),
            (4, Field::Bytes(b)) => insert_nonempty(&mut o, "uid", string(b)?),
            (5, Field::Bytes(b)) => insert_nonempty(&mut o, "apiVersion", string(b)?),
            (6, Field::Varint(v)) => {
                o.insert("controller".into(), json!(v != 0));
            }
            (7, Field::Varint(v)) => {
                o.insert("blockOwnerDeletion".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    Ok(Value::Object(o))
}

fn object_meta(bytes: &[u8]) -> Result<Value, ProtobufError> {
    let mut r = Reader::new(bytes);
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut owners = Vec::new();
    let mut finalizers = Vec::new();
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => insert_nonempty(&mut m, "name", string(b)?),
            (2, Field::Bytes(b)) => insert_nonempty(&mut m, "generateName", string(b)?),
            (3, Field::Bytes(b)) => insert_nonempty(&mut m, "namespace", string(b)?),
            (5, Field::Bytes(b)) => insert_nonempty(&mut m, "uid", string(b)?),
            (6, Field::Bytes(b)) => insert_nonempty(&mut m, "resourceVersion", string(b)?),
            (8, Field::Bytes(b)) => {
                if let Some(ts) = timestamp(b)? {
                    m.insert("creationTimestamp".into(), Value::String(ts));
                }
            }
            (11, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                labels.insert(k, Value::String(string(&v)?));
            }
            (12, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                annotations.insert(k, Value::String(string(&v)?));
            }
            (13, Field::Bytes(b)) => owners.push(owner_reference(b)?),
            (14, Field::Bytes(b)) => finalizers.push(Value::String(string(b)?)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !owners.is_empty() {
        m.insert("ownerReferences".into(), Value::Array(owners));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(m))
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn config_map(bytes: &[u8], o: &mut Map<String, Value>) -> Result<(), ProtobufError> {
    let mut r = Reader::new(bytes);
    let (mut data, mut binary) = (Map::new(), Map::new());
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                o.insert("metadata".into(), object_meta(b)?);
            }
            (2, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                data.insert(k, Value::String(string(&v)?));
            }
            (3, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                binary.insert(k, b64(&v));
            }
            (4, Field::Varint(v)) => {
                o.insert("immutable".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    if !data.is_empty() {
        o.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        o.insert("binaryData".into(), Value::Object(binary));
    }
    Ok(())
}

fn secret(bytes: &[u8], o: &mut Map<String, Value>) -> Result<(), ProtobufError> {
    let mut r = Reader::new(bytes);
    let (mut data, mut string_data) = (Map::new(), Map::new());
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                o.insert("metadata".into(), object_meta(b)?);
            }
            (2, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                data.insert(k, b64(&v));
            }
            (3, Field::Bytes(b)) => insert_nonempty(o, "type", string(b)?),
            (4, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                string_data.insert(k, Value::String(string(&v)?));
            }
            (5, Field::Varint(v)) => {
                o.insert("immutable".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    if !data.is_empty() {
        o.insert("data".into(), Value::Object(data));
    }
    if !string_data.is_empty() {
        o.insert("stringData".into(), Value::Object(string_data));
    }
    Ok(())
}

fn namespace(bytes: &[u8], o: &mut Map<String, Value>) -> Result<(), ProtobufError> {
    let mut r = Reader::new(bytes);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                o.insert("metadata".into(), object_meta(b)?);
            }
            (2, Field::Bytes(b)) => {
                let mut spec = Reader::new(b);
                let mut finalizers = Vec::new();
                while let Some((n, f)) = spec.next()? {
                    if let (1, Field::Bytes(x)) = (n, f) {
                        finalizers.push(Value::String(string(x)?));
                    }
                }
                if !finalizers.is_empty() {
                    o.insert("spec".into(), json!({ "finalizers": finalizers }));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A message of string fields, named by field number.
fn strings(bytes: &[u8], names: &[(u64, &str)]) -> Result<Value, ProtobufError> {
    let mut o = Map::new();
    let mut r = Reader::new(bytes);
    while let Some((n, f)) = r.next()? {
        if let (Some((_, name)), Field::Bytes(b)) = (names.iter().find(|(k, _)| *k == n), f) {
            insert_nonempty(&mut o, name, string(b)?);
        }
    }
    Ok(Value::Object(o))
}

/// A self review: metadata (1) and, for the authorization reviews, a spec (2).
fn self_review(bytes: &[u8], kind: &str, o: &mut Map<String, Value>) -> Result<(), ProtobufError> {
    let mut r = Reader::new(bytes);
    while let Some((n, f)) = r.next()? {
        match (n, f, kind) {
            (1, Field::Bytes(b), _) => {
                o.insert("metadata".into(), object_meta(b)?);
            }
            (2, Field::Bytes(b), "SelfSubjectAccessReview") => {
                let mut spec = Map::new();
                let mut s = Reader::new(b);
                while let Some((n, f)) = s.next()? {
                    match (n, f) {
                        (1, Field::Bytes(x)) => {
                            let attrs = strings(
                                x,
                                &[
                                    (1, "namespace"),
                                    (2, "verb"),
                                    (3, "group"),
                                    (4, "version"),
                                    (5, "resource"),
                                    (6, "subresource"),
                                    (7, "name"),
                                ],
                            )?;
                            spec.insert("resourceAttributes".into(), attrs);
                        }
                        (2, Field::Bytes(x)) => {
                            let attrs = strings(x, &[(1, "path"), (2, "verb")])?;
                            spec.insert("nonResourceAttributes".into(), attrs);
                        }
                        _ => {}
                    }
                }
                o.insert("spec".into(), Value::Object(spec));
            }
            (2, Field::Bytes(b), "SelfSubjectRulesReview") => {
                o.insert("spec".into(), strings(b, &[(1, "namespace")])?);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Decodes a `k8s\0`-prefixed body into the JSON form of the object it holds.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoEnvelope)?;
    let mut r = Reader::new(envelope);
    let (mut api_version, mut kind, mut raw): (String, String, &[u8]) =
        (String::new(), String::new(), &[]);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                let mut tm = Reader::new(b);
                while let Some((n, f)) = tm.next()? {
                    match (n, f) {
                        (1, Field::Bytes(x)) => api_version = string(x)?,
                        (2, Field::Bytes(x)) => kind = string(x)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let mut o = Map::new();
    o.insert("apiVersion".into(), Value::String(api_version.clone()));
    o.insert("kind".into(), Value::String(kind.clone()));
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "ConfigMap") => config_map(raw, &mut o)?,
        ("v1", "Secret") => secret(raw, &mut o)?,
        ("v1", "Namespace") => namespace(raw, &mut o)?,
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview" | "SelfSubjectRulesReview")
        | ("authentication.k8s.io/v1", "SelfSubjectReview") => self_review(raw, &kind, &mut o)?,
        _ => {
            return Err(ProtobufError::UnsupportedKind(format!(
                "{api_version} {kind}"
            )));
        }
    }
    Ok(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        hex::decode(s).unwrap()
    }

    // Captured from `kubectl create configmap cfg2 -n shop --from-literal=a=1 --from-literal=b=two`.
    const CONFIGMAP: &str = "6b3873000a0f0a0276311209436f6e6669674d6170122c0a180a046366673212001a0473686f7022002a0032003800420012060a016112013112080a0162120374776f1a002200";
    // `kubectl create secret generic s2 -n shop --from-literal=user=admin --from-literal=pw=p@ss`.
    const SECRET: &str = "6b3873000a0c0a027631120653656372657412350a160a02733212001a0473686f7022002a00320038004200120a0a027077120470407373120d0a0475736572120561646d696e1a001a002200";
    // `kubectl create namespace newns2`.
    const NAMESPACE: &str = "6b3873000a0f0a02763112094e616d657370616365121e0a160a066e65776e733212001a0022002a0032003800420012001a020a001a002200";

    #[test]
    fn decodes_kubectl_configmap() {
        let v = decode(&unhex(CONFIGMAP)).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "cfg2", "namespace": "shop"},
                   "data": {"a": "1", "b": "two"}})
        );
    }

    #[test]
    fn decodes_kubectl_secret_with_base64_data() {
        let v = decode(&unhex(SECRET)).unwrap();
        assert_eq!(v["metadata"]["name"], "s2");
        assert_eq!(v["data"]["user"], "YWRtaW4=");
        assert_eq!(v["data"]["pw"], "cEBzcw==");
        assert!(v.get("type").is_none());
    }

    #[test]
    fn decodes_kubectl_namespace() {
        let v = decode(&unhex(NAMESPACE)).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "newns2"}})
        );
    }

    fn field(n: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(n << 3) | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_self_subject_access_review() {
        let attrs = [
            field(1, b"x"),
            field(2, b"create"),
            field(3, b"bss.ferrule.dev"),
            field(5, b"subscriptions"),
        ]
        .concat();
        let raw = field(2, &field(1, &attrs));
        let type_meta = [
            field(1, b"authorization.k8s.io/v1"),
            field(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v["spec"]["resourceAttributes"],
            json!({"namespace": "x", "verb": "create", "group": "bss.ferrule.dev", "resource": "subscriptions"})
        );
        let non_resource = field(
            2,
            &field(2, &[field(1, b"/healthz"), field(2, b"get")].concat()),
        );
        let body = [
            MAGIC.to_vec(),
            field(1, &type_meta),
            field(2, &non_resource),
        ]
        .concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v["spec"]["nonResourceAttributes"],
            json!({"path": "/healthz", "verb": "get"})
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode(b"{}"), Err(ProtobufError::NoEnvelope));
        let mut truncated = unhex(CONFIGMAP);
        truncated.truncate(30);
        assert_eq!(decode(&truncated), Err(ProtobufError::Truncated));
        assert_eq!(
            decode(&[b'k', b'8', b's', 0, 0x0b]),
            Err(ProtobufError::BadWireType(3))
        );
        let pod = b"k8s\0\x0a\x09\x0a\x02v1\x12\x03Pod";
        assert!(matches!(
            decode(pod),
            Err(ProtobufError::UnsupportedKind(_))
        ));
        assert_eq!(
            decode(b"k8s\0\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            Err(ProtobufError::BadVarint)
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut body = MAGIC.to_vec();
            body.extend(tail);
            let _ = decode(&body);
        }

        #[test]
        fn never_panics_on_mutated_messages(pos in 0usize..80, byte in any::<u8>()) {
            let mut body = unhex(CONFIGMAP);
            let i = pos % body.len();
            body[i] = byte;
            let _ = decode(&body);
        }
    }
}
