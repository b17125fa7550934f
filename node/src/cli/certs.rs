//! `qraft certs init DIR` and `qraft certs node DIR NAME`: a cluster CA, and certificates signed
//! by it for nodes (server and peer) and clients, with rcgen. For development and for small
//! clusters; a site with its own PKI issues the same shapes (see README "Securing a cluster").

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{Datelike, Duration as Days, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use qraft_node::auth::policy::NODE_CERT_NAME;

#[derive(clap::Args, Debug)]
pub struct CertsArgs {
    #[command(subcommand)]
    pub action: CertsAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum CertsAction {
    /// Make a new CA in DIR (ca.pem, ca.key) with a node certificate (node.pem, node.key) valid
    /// for localhost, 127.0.0.1, ::1 and every --host, and a client certificate (client.pem,
    /// client.key). Existing files are never overwritten.
    Init {
        dir: PathBuf,
        /// Another name or IP address nodes are reached at (repeat for several).
        #[arg(long = "host", value_name = "HOST")]
        hosts: Vec<String>,
        /// How long the node and client certificates are valid.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Sign one more node certificate (NAME.pem, NAME.key) with the CA in DIR, e.g. one per
    /// machine, each valid for its own --host names.
    Node {
        dir: PathBuf,
        name: String,
        #[arg(long = "host", value_name = "HOST")]
        hosts: Vec<String>,
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
}

const CA_COMMON_NAME: &str = "qraft cluster CA";

pub fn run(args: CertsArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        CertsAction::Init { dir, hosts, days } => {
            init(&dir, &hosts, days)?;
            println!(
                "wrote {}: ca.pem ca.key node.pem node.key client.pem client.key",
                dir.display()
            );
            println!("keep ca.key offline; nodes need ca.pem, node.pem and node.key; clients ca.pem");
            Ok(ExitCode::SUCCESS)
        }
        CertsAction::Node {
            dir,
            name,
            hosts,
            days,
        } => {
            must_be_new(&dir, &name)?;
            let ca_key = std::fs::read_to_string(dir.join("ca.key"))
                .with_context(|| format!("no CA key in {} (run `qraft certs init` first)", dir.display()))?;
            // The CA's own parameters again with its key: the same name and key identifier, so
            // the new certificate chains to ca.pem.
            let issuer = Issuer::new(ca_params(3650)?, KeyPair::from_pem(&ca_key)?);
            issue_node(&dir, &name, &hosts, days, &issuer)?;
            println!("wrote {}: {name}.pem {name}.key", dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes a new CA, a node certificate for `hosts` (and localhost) and a client certificate
/// into `dir`, refusing to overwrite anything.
pub fn init(dir: &Path, hosts: &[String], days: i64) -> anyhow::Result<()> {
    for name in ["ca", "node", "client"] {
        must_be_new(dir, name)?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca_key = KeyPair::generate()?;
    let ca = ca_params(3650)?.self_signed(&ca_key)?;
    write(dir, "ca", &ca.pem(), &ca_key.serialize_pem())?;
    let issuer = Issuer::new(ca_params(3650)?, ca_key);
    issue_node(dir, "node", hosts, days, &issuer)?;
    let client_key = KeyPair::generate()?;
    let mut client = leaf_params(vec![], "qraft client", days)?;
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client.signed_by(&client_key, &issuer)?;
    write(dir, "client", &client.pem(), &client_key.serialize_pem())
}

fn ca_params(days: i64) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, CA_COMMON_NAME);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, days);
    Ok(params)
}

fn leaf_params(names: Vec<String>, common_name: &str, days: i64) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(names)?;
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, days);
    Ok(params)
}

/// A node's certificate serves TLS and presents it to peers, so it is good for both ends, and
/// carries the name that tells a peer from a client.
fn issue_node(
    dir: &Path,
    name: &str,
    hosts: &[String],
    days: i64,
    issuer: &Issuer<'_, KeyPair>,
) -> anyhow::Result<()> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1", NODE_CERT_NAME]
        .into_iter()
        .map(String::from)
        .collect();
    names.extend(hosts.iter().cloned());
    let key = KeyPair::generate()?;
    let mut params = leaf_params(names, &format!("qraft node {name}"), days)?;
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.signed_by(&key, issuer)?;
    write(dir, name, &cert.pem(), &key.serialize_pem())
}

/// Valid from yesterday (clocks differ a little) for `days` days.
fn validity(params: &mut CertificateParams, days: i64) {
    let date = |at: chrono::DateTime<Utc>| rcgen::date_time_ymd(at.year(), at.month() as u8, at.day() as u8);
    let now = Utc::now();
    params.not_before = date(now - Days::days(1));
    params.not_after = date(now + Days::days(days.max(1)));
}

fn must_be_new(dir: &Path, name: &str) -> anyhow::Result<()> {
    for file in [format!("{name}.pem"), format!("{name}.key")] {
        if dir.join(&file).exists() {
            bail!(
                "{} exists already; pick another directory or name",
                dir.join(file).display()
            );
        }
    }
    Ok(())
}

/// Writes NAME.pem and NAME.key; the key readable by its owner only.
fn write(dir: &Path, name: &str, cert: &str, key: &str) -> anyhow::Result<()> {
    std::fs::write(dir.join(format!("{name}.pem")), cert)?;
    let path = dir.join(format!("{name}.key"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(key.as_bytes())?;
    Ok(())
}
