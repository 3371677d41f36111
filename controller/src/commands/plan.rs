//! `ferrule plan -f <file or folder>`: reads the running system through a kubeconfig, plans
//! the manifests, prints the result; writes nothing anywhere.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use ferrule_provisioning::plan::cluster::plan_documents;
use ferrule_provisioning::plan::manifests::{files, load};
use ferrule_provisioning::plan::report;
use ferrule_render::{ProfileSet, Renderer};

/// Output format of `ferrule plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// Options of `ferrule plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Manifest files or folders (their *.yaml, *.yml and *.json files), as for kubectl apply.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Kubeconfig of the running system (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, env = "FERRULE_PLAN_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace of documents that name none.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// A folder of device profiles overriding and extending the built-in ones.
    #[arg(long, env = "FERRULE_PROFILES_DIR")]
    pub profiles: Option<PathBuf>,
    /// A folder of templates for those profiles.
    #[arg(long, env = "FERRULE_TEMPLATES_DIR")]
    pub templates: Option<PathBuf>,
}

/// Runs `ferrule plan`; returns the report to print.
pub async fn run(args: PlanArgs) -> anyhow::Result<String> {
    let profiles = ProfileSet::load(args.profiles.as_deref(), args.templates.as_deref())
        .context("loading device profiles")?;
    let renderer = Arc::new(Renderer::new(profiles).context("compiling templates")?);
    let docs = load(&files(&args.files)?, &args.namespace)?;
    let client = crate::client::client(args.kubeconfig.as_deref()).await?;
    let plans = plan_documents(&client, &renderer, &docs).await?;
    Ok(match args.output {
        Output::Text => report::text(&renderer, &plans),
        Output::Json => report::json(&plans),
    })
}
