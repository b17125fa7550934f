//! `qraft token new --role R --name N`: a random access token, and the `[[tokens]]` entry (its
//! SHA-256, never the token) to put in every node's config.

use std::process::ExitCode;

use rand::RngCore;
use serde_json::json;

use super::output;
use qraft_node::auth::Role;
use qraft_node::auth::policy::digest;

#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum TokenAction {
    /// Make a token: 32 random bytes in hex. Prints the token (give it to the client) and the
    /// config entry (give it to every node).
    New {
        /// viewer (read only), producer (submit, read, revoke its own), worker (the worker
        /// protocol) or admin (everything).
        #[arg(long)]
        role: Role,
        /// Who holds it, for the nodes' logs.
        #[arg(long)]
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The config entry for a token you have already (to rotate, or to add a node).
    Hash {
        token: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        name: String,
    },
}

pub fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        TokenAction::New { role, name, json } => {
            let token = new_token();
            if json {
                output::print_json(&json!({
                    "token": token,
                    "name": name,
                    "role": role.name(),
                    "sha256": hex::encode(digest(&token)),
                }));
            } else {
                println!(
                    "token (give it to the client as --token or QRAFT_TOKEN; it is not stored anywhere):"
                );
                println!("  {token}");
                println!("node config entry (add it to every node's config file):");
                print!("{}", entry(&token, role, &name));
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenAction::Hash { token, role, name } => {
            print!("{}", entry(&token, role, &name));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// 32 random bytes in hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The `[[tokens]]` entry of a node config for `token`.
pub fn entry(token: &str, role: Role, name: &str) -> String {
    format!(
        "[[tokens]]\nname = {name:?}\nrole = \"{role}\"\nsha256 = \"{}\"\n",
        hex::encode(digest(token))
    )
}
