//! The run loop: owns the terminal, draws from the [`App`], feeds it messages from the keyboard,
//! the fetcher and a ticker, and hands its commands to the fetcher. Nothing here waits on the
//! network: the fetcher and the keyboard reader run elsewhere and report over channels.

mod input;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use qraft_proto::{Client, Credentials};
use ratatui::DefaultTerminal;
use tokio::sync::mpsc;

use crate::app::{App, Command, Msg};
use crate::fetch::Fetcher;
use crate::render;

use self::input::{Input, InputReader};

/// How often ages and the leader flash are redrawn when nothing else happens.
const TICK: Duration = Duration::from_millis(250);

/// What the console was started with, validated.
#[derive(Debug, Clone)]
pub struct Options {
    /// Node addresses, `host:port`.
    pub cluster: Vec<String>,
    pub refresh: Duration,
    pub read_only: bool,
    /// TLS and token for a secured cluster; empty for a plain one.
    pub credentials: Credentials,
}

impl Options {
    /// Checks what clap cannot: a usable address list and a refresh that is not zero.
    pub fn new(cluster: &str, refresh: Duration, read_only: bool) -> anyhow::Result<Options> {
        let cluster: Vec<String> = cluster
            .split(',')
            .map(str::trim)
            .filter(|addr| !addr.is_empty())
            .map(str::to_owned)
            .collect();
        if cluster.is_empty() {
            anyhow::bail!("--cluster needs at least one host:port, e.g. 127.0.0.1:7071");
        }
        if refresh < Duration::from_millis(100) {
            anyhow::bail!("--refresh must be at least 100ms, e.g. --refresh 1s");
        }
        Ok(Options {
            cluster,
            refresh,
            read_only,
            credentials: Credentials::default(),
        })
    }
}

/// Runs the console until the operator quits. The terminal is restored on every way out:
/// here on return (error or not), and by ratatui's panic hook on a panic.
pub async fn run(options: Options) -> anyhow::Result<()> {
    // Checked before the terminal is taken over, so a bad address prints plainly.
    let client =
        Client::with_credentials(&options.cluster, &options.credentials).context("invalid --cluster")?;
    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel();
    let fetcher = Fetcher::spawn(client, options.refresh, msg_tx);

    let mut terminal = match ratatui::try_init() {
        Ok(terminal) => terminal,
        Err(error) => {
            ratatui::restore();
            return Err(error).context("could not set up the terminal");
        }
    };
    let (input_tx, mut input_rx) = mpsc::unbounded_channel();
    let reader = match InputReader::spawn(input_tx) {
        Ok(reader) => reader,
        Err(error) => {
            ratatui::restore();
            return Err(error).context("could not start the keyboard reader");
        }
    };
    let mut app = App::new(options.read_only, Instant::now());
    let result = ui_loop(&mut terminal, &mut app, &mut msg_rx, &mut input_rx, &fetcher).await;
    reader.stop();
    ratatui::restore();
    tracing::info!("console closed");
    result
}

async fn ui_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    messages: &mut mpsc::UnboundedReceiver<Msg>,
    input: &mut mpsc::UnboundedReceiver<Input>,
    fetcher: &Fetcher,
) -> anyhow::Result<()> {
    let mut ticker = tokio::time::interval(TICK);
    loop {
        terminal
            .draw(|frame| render::draw(frame, app))
            .context("could not draw")?;
        let msg = tokio::select! {
            msg = messages.recv() => msg.context("the network worker stopped")?,
            key = input.recv() => match key.context("the keyboard reader stopped")? {
                Input::Key(key) => Msg::Key(key),
                Input::Redraw => Msg::Tick,
                Input::Failed(error) => anyhow::bail!("could not read the keyboard: {error}"),
            },
            _ = ticker.tick() => Msg::Tick,
        };
        let mut batch = vec![msg];
        // Draw once for everything already waiting, not once per message.
        while let Ok(msg) = messages.try_recv() {
            batch.push(msg);
        }
        for msg in batch {
            match app.update(Instant::now(), msg) {
                Some(Command::Quit) => return Ok(()),
                Some(Command::Run(action)) => fetcher.run(action),
                Some(Command::SetTaskFilter(filter)) => fetcher.set_filter(filter),
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_the_cluster_and_check_the_refresh() {
        let options = Options::new(" a:1, b:2 ,,", Duration::from_secs(1), true);
        assert_eq!(
            options.map(|o| o.cluster).ok(),
            Some(vec!["a:1".to_owned(), "b:2".to_owned()])
        );
        assert!(Options::new(" , ", Duration::from_secs(1), false).is_err());
        assert!(Options::new("a:1", Duration::ZERO, false).is_err());
    }
}
