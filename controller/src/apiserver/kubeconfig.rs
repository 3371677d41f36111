//! The kubeconfig that lets `kubectl` and kube-rs talk to the embedded API server.

use base64::Engine;

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

fn quoted(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::Value::String(s.to_string()).to_string()
}

/// Renders the kubeconfig YAML.
pub fn render(data: &KubeconfigData) -> String {
    let mut cluster = format!("    server: {}\n", quoted(&data.server));
    if let Some(ca) = &data.ca_pem {
        let encoded = base64::engine::general_purpose::STANDARD.encode(ca.as_bytes());
        cluster.push_str(&format!("    certificate-authority-data: {encoded}\n"));
    }
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {CONTEXT}\n  cluster:\n{cluster}\
         users:\n\
         - name: {CONTEXT}-admin\n  user:\n    token: {token}\n\
         contexts:\n\
         - name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n    user: {CONTEXT}-admin\n    namespace: default\n\
         current-context: {CONTEXT}\n\
         preferences: {{}}\n",
        token = quoted(&data.token),
    )
}

/// A kube-rs client configuration equivalent to the rendered kubeconfig.
pub async fn client_config(
    data: &KubeconfigData,
) -> Result<kube::Config, kube::config::KubeconfigError> {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&render(data))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
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
        let text = render(&data);
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
