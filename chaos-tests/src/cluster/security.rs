//! The cluster's security in a chaos run: plain (nodes told `insecure`, since namespace
//! addresses are not loopback), or `--tls`: a CA and node certificate made by `qraft certs
//! init` for the nodes' addresses, and an admin token the harness's clients present.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use qraft_proto::{Credentials, TlsFiles};
use serde::Deserialize;

/// What the nodes are configured with, and what the harness's clients present.
#[derive(Clone, Debug)]
pub struct Security {
    /// The nodes' config file section.
    pub node_config: String,
    pub credentials: Credentials,
}

#[derive(Deserialize)]
struct NewToken {
    token: String,
    sha256: String,
}

impl Security {
    pub fn plain() -> Security {
        Security {
            node_config: "insecure = true\n".into(),
            credentials: Credentials::default(),
        }
    }

    /// Certificates in `dir` valid for `hosts`, and a fresh admin token.
    pub fn tls(qraft: &Path, dir: &Path, hosts: &[String]) -> anyhow::Result<Security> {
        let certs = dir.join("certs");
        let mut init = Command::new(qraft);
        init.args(["certs", "init"]).arg(&certs);
        for host in hosts {
            init.args(["--host", host]);
        }
        run(&mut init, "qraft certs init")?;
        let mut token = Command::new(qraft);
        token.args([
            "token",
            "new",
            "--role",
            "admin",
            "--name",
            "chaos-harness",
            "--json",
        ]);
        let token: NewToken =
            serde_json::from_slice(&run(&mut token, "qraft token new")?).context("qraft token new --json")?;
        let path = |name: &str| certs.join(name).display().to_string();
        let node_config = format!(
            "[tls]\nca = {:?}\ncert = {:?}\nkey = {:?}\n\n[[tokens]]\nname = \"chaos-harness\"\nrole = \"admin\"\nsha256 = {:?}\n",
            path("ca.pem"),
            path("node.pem"),
            path("node.key"),
            token.sha256
        );
        let files = TlsFiles {
            ca: Some(certs.join("ca.pem")),
            ..TlsFiles::default()
        };
        Ok(Security {
            node_config,
            credentials: Credentials::load(&files, Some(token.token))?,
        })
    }
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<Vec<u8>> {
    let output = command.output().with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(output.stdout)
}
