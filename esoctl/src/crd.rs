//! `esoctl crd`: print the CustomResourceDefinitions of every ESO kind.

use std::process::ExitCode;

use eso_core::api::*;
use kube::CustomResourceExt;

/// Arguments of `esoctl crd`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Yaml)]
    output: Format,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Format {
    Yaml,
    Json,
}

fn crds()
-> Vec<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>
{
    vec![
        ExternalSecret::crd(),
        ClusterExternalSecret::crd(),
        PushSecret::crd(),
        ClusterPushSecret::crd(),
        SecretStore::crd(),
        ClusterSecretStore::crd(),
        ACRAccessToken::crd(),
        BeyondtrustWorkloadCredentialsDynamicSecret::crd(),
        CloudsmithAccessToken::crd(),
        ECRAuthorizationToken::crd(),
        Fake::crd(),
        GCRAccessToken::crd(),
        GithubAccessToken::crd(),
        GitlabDeployToken::crd(),
        QuayAccessToken::crd(),
        Password::crd(),
        SSHKey::crd(),
        STSSessionToken::crd(),
        UUID::crd(),
        VaultDynamicSecret::crd(),
        Webhook::crd(),
        Grafana::crd(),
        MFA::crd(),
        ClusterGenerator::crd(),
        GeneratorState::crd(),
    ]
}

pub(crate) fn run(args: &Args) -> ExitCode {
    let crds = crds();
    let out = match args.output {
        Format::Json => serde_json::to_string_pretty(&crds).map_err(|e| e.to_string()),
        Format::Yaml => serde_saphyr::to_string_multiple(&crds).map_err(|e| e.to_string()),
    };
    match out {
        Ok(s) => {
            print!("{s}");
            if !s.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot encode the CRDs: {e}");
            ExitCode::from(2)
        }
    }
}
