//! The kubeconfig that lets `kubectl` and kube-rs talk to the embedded API server.

use base64::Engine;
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext, Preferences,
};

/// The server URL and credentials a kubeconfig carries. `Debug` leaves the token out.
#[derive(Clone)]
pub struct KubeconfigData {
    /// `https://127.0.0.1:6443` or, with plain HTTP, `http://...`.
    pub server: String,
    /// The CA certificate in PEM form; `None` for plain HTTP.
    pub ca_pem: Option<String>,
    /// The bearer token.
    pub token: String,
}

impl std::fmt::Debug for KubeconfigData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeconfigData")
            .field("server", &self.server)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<certificate>"))
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Name used for the cluster, user and context entries.
pub const CONTEXT: &str = "ferrule";

/// The kubeconfig: one cluster, one user with the bearer token, one context in namespace
/// `default`. `Debug` leaves the token out (kube keeps it in a `SecretString`).
pub fn kubeconfig(data: &KubeconfigData) -> Kubeconfig {
    let certificate_authority_data = data
        .ca_pem
        .as_ref()
        .map(|ca| base64::engine::general_purpose::STANDARD.encode(ca.as_bytes()));
    let user = format!("{CONTEXT}-admin");
    Kubeconfig {
        api_version: Some("v1".to_owned()),
        kind: Some("Config".to_owned()),
        clusters: vec![NamedCluster {
            name: CONTEXT.to_owned(),
            cluster: Some(Cluster {
                server: Some(data.server.clone()),
                certificate_authority_data,
                ..Cluster::default()
            }),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: user.clone(),
            auth_info: Some(AuthInfo {
                token: Some(data.token.clone().into()),
                ..AuthInfo::default()
            }),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: CONTEXT.to_owned(),
            context: Some(Context {
                cluster: CONTEXT.to_owned(),
                user: Some(user),
                namespace: Some("default".to_owned()),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some(CONTEXT.to_owned()),
        preferences: Some(Preferences::default()),
        ..Kubeconfig::default()
    }
}

/// Renders the kubeconfig as YAML.
pub fn render(data: &KubeconfigData) -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(&kubeconfig(data))
}

/// A kube-rs client configuration equivalent to the rendered kubeconfig.
pub async fn client_config(
    data: &KubeconfigData,
) -> Result<kube::Config, kube::config::KubeconfigError> {
    kube::Config::from_custom_kubeconfig(kubeconfig(data), &KubeConfigOptions::default()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rendered_kubeconfig_is_understood_by_kube_rs() {
        let data = KubeconfigData {
            server: "https://127.0.0.1:6443".into(),
            ca_pem: Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into()),
            token: "abc".into(),
        };
        let text = render(&data).unwrap();
        let parsed = kube::config::Kubeconfig::from_yaml(&text).unwrap();
        assert_eq!(parsed.current_context.as_deref(), Some(CONTEXT));
        let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert!(cluster.certificate_authority_data.is_some());
        let plain = KubeconfigData {
            server: "http://127.0.0.1:6443".into(),
            ca_pem: None,
            token: "abc".into(),
        };
        let config = client_config(&plain).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:6443/");
        assert_eq!(config.default_namespace, "default");
    }

    #[test]
    fn rendered_kubeconfig_names_the_user_the_token_and_the_namespace() {
        let data = KubeconfigData {
            server: "https://127.0.0.1:6443".into(),
            ca_pem: Some("PEM".into()),
            token: "tok: \"en\" #1".into(),
        };
        let text = render(&data).unwrap();
        let yaml: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(
            yaml,
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "ferrule", "cluster": {
                    "server": "https://127.0.0.1:6443",
                    "certificate-authority-data": "UEVN"}}],
                "users": [{"name": "ferrule-admin", "user": {"token": "tok: \"en\" #1"}}],
                "contexts": [{"name": "ferrule", "context": {
                    "cluster": "ferrule", "user": "ferrule-admin", "namespace": "default"}}],
                "current-context": "ferrule",
                "preferences": {},
            }),
            "{text}"
        );
        let debug = format!("{:?}", kubeconfig(&data));
        assert!(!debug.contains("tok: "), "{debug}");
    }

    #[test]
    fn debug_leaves_the_token_out() {
        let data = KubeconfigData {
            server: "https://127.0.0.1:6443".into(),
            ca_pem: None,
            token: "5ec2e7-bearer-token".into(),
        };
        let debug = format!("{data:?}");
        assert!(!debug.contains("5ec2e7-bearer-token"), "{debug}");
        assert!(debug.contains("127.0.0.1:6443"), "{debug}");
    }
}
