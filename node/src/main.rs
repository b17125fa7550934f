//! The `qraft` binary: its subcommands ([`cli`]) on top of the `qraft_node` library, which the
//! binary uses only through its public API.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

/// mimalloc rather than glibc's malloc: apply allocates and frees small task bodies by the
/// million, often on different threads, which glibc's arenas serve slowly and keep fragmented.
/// Built without transparent huge pages (see the workspace's `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // `qraft node --help` shows each default from its one definition.
    let command =
        cli::Cli::command().mut_subcommand("node", qraft_node::config::defaults::with_defaults_in_help);
    let cli = match cli::Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    cli::init_tracing(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
