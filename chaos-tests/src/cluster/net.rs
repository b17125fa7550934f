//! Real network faults: each node in its own network namespace, joined to the harness by a veth
//! pair on one bridge, and cut with iptables inside the node's namespace. Only the suite's own
//! namespaces and addresses (a /24 in 10.213.0.0/16, picked per run) are ever touched.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

const PREFIX: &str = "qc";

/// The namespaces, veths and bridge of one run, removed when dropped.
#[derive(Debug)]
pub struct Net {
    tag: String,
    nodes: usize,
    /// This run's /24, `10.213.X`: node `i` is `.i`, the bridge (the harness's side) `.254`.
    /// Per run, so two suites on one machine do not share addresses.
    subnet: String,
}

fn run(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("cannot run {}", args[0]))?;
    if !output.status.success() {
        bail!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Whether this process may create network namespaces and run iptables: tried, not guessed.
pub fn available() -> Result<(), String> {
    let name = format!("{PREFIX}probe{}", std::process::id());
    let probe = run(&["ip", "netns", "add", &name])
        .and_then(|()| run(&["ip", "netns", "exec", &name, "iptables", "-L", "-n"]));
    let _ = run(&["ip", "netns", "del", &name]);
    probe.map_err(|e| e.to_string())
}

impl Net {
    /// Creates the bridge and one namespace per node, on a /24 no other interface uses. What
    /// earlier runs left behind when they died (their process is gone) is removed first.
    pub fn create(nodes: usize) -> anyhow::Result<Net> {
        remove_leftovers();
        let pid = std::process::id();
        let net = Net {
            tag: pid.to_string(),
            nodes,
            subnet: free_subnet(pid)?,
        };
        let bridge = net.bridge();
        run(&["ip", "link", "add", &bridge, "type", "bridge"])?;
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{}.254/24", net.subnet),
            "dev",
            &bridge,
        ])?;
        run(&["ip", "link", "set", &bridge, "up"])?;
        for i in 1..=nodes {
            let ns = net.namespace(i);
            let (outside, inside) = (net.veth(i, 'h'), net.veth(i, 'n'));
            run(&["ip", "netns", "add", &ns])?;
            run(&[
                "ip", "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ])?;
            run(&["ip", "link", "set", &inside, "netns", &ns])?;
            run(&["ip", "link", "set", &outside, "master", &bridge])?;
            run(&["ip", "link", "set", &outside, "up"])?;
            let exec = ["ip", "netns", "exec", ns.as_str()];
            run(&[
                &exec[..],
                &["ip", "addr", "add", &format!("{}/24", net.ip(i)), "dev", &inside],
            ]
            .concat())?;
            run(&[&exec[..], &["ip", "link", "set", &inside, "up"]].concat())?;
            run(&[&exec[..], &["ip", "link", "set", "lo", "up"]].concat())?;
        }
        Ok(net)
    }

    pub fn ip(&self, node: usize) -> String {
        format!("{}.{node}", self.subnet)
    }

    pub fn namespace(&self, node: usize) -> String {
        format!("{PREFIX}{}n{node}", self.tag)
    }

    fn bridge(&self) -> String {
        format!("{PREFIX}{}br", self.tag)
    }

    fn veth(&self, node: usize, side: char) -> String {
        format!("{PREFIX}{}{side}{node}", self.tag)
    }

    fn iptables(&self, node: usize, rule: &[&str]) -> anyhow::Result<()> {
        let ns = self.namespace(node);
        // -w: wait for the xtables lock rather than fail when another program holds it.
        run(&[&["ip", "netns", "exec", ns.as_str(), "iptables", "-w"][..], rule].concat())
    }

    /// `node` stops receiving anything from `from` (its own packets still go out).
    pub fn drop_from(&self, node: usize, from: usize) -> anyhow::Result<()> {
        self.iptables(node, &["-A", "INPUT", "-s", &self.ip(from), "-j", "DROP"])
    }

    /// No traffic either way between the two sides; the harness still reaches everyone.
    pub fn partition(&self, side_a: &[usize], side_b: &[usize]) -> anyhow::Result<()> {
        for a in side_a {
            for b in side_b {
                self.drop_from(*a, *b)?;
                self.drop_from(*b, *a)?;
            }
        }
        Ok(())
    }

    /// Every node drops this share of the packets it receives from its peers.
    pub fn lossy(&self, probability: f64) -> anyhow::Result<()> {
        let probability = format!("{probability}");
        for node in 1..=self.nodes {
            for peer in (1..=self.nodes).filter(|p| *p != node) {
                self.iptables(
                    node,
                    &[
                        "-A",
                        "INPUT",
                        "-s",
                        &self.ip(peer),
                        "-m",
                        "statistic",
                        "--mode",
                        "random",
                        "--probability",
                        &probability,
                        "-j",
                        "DROP",
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// Removes every rule: the network is whole again.
    pub fn heal(&self) -> anyhow::Result<()> {
        for node in 1..=self.nodes {
            self.iptables(node, &["-F"])?;
        }
        Ok(())
    }

    fn remove(&self) {
        for i in 1..=self.nodes {
            let _ = run(&["ip", "netns", "del", &self.namespace(i)]);
            let _ = run(&["ip", "link", "del", &self.veth(i, 'h')]);
        }
        let _ = run(&["ip", "link", "del", &self.bridge()]);
    }
}

/// The first `10.213.X.0/24`, starting from one picked by `pid`, that no interface on this
/// machine has an address in.
fn free_subnet(pid: u32) -> anyhow::Result<String> {
    for offset in 0..250 {
        let subnet = format!("10.213.{}", (pid + offset) % 250 + 1);
        let used = Command::new("ip")
            .args(["-4", "-o", "addr", "show", "to", &format!("{subnet}.0/24")])
            .output()
            .context("cannot run ip")?;
        if used.stdout.is_empty() {
            return Ok(subnet);
        }
    }
    bail!("every 10.213.X.0/24 is in use on this machine")
}

/// The pid a namespace or link of ours is named after (`qc<pid>n1`, `qc<pid>br`, ...).
fn owner(name: &str) -> Option<u32> {
    let digits: String = name
        .strip_prefix(PREFIX)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Namespaces and links of runs whose process is gone (killed before it could clean up).
fn remove_leftovers() {
    let dead = |name: &str| owner(name).is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
    let listed = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    };
    for line in listed(&["netns", "list"]).lines() {
        if let Some(name) = line.split_whitespace().next().filter(|name| dead(name)) {
            let _ = run(&["ip", "netns", "del", name]);
        }
    }
    // `N: name@peer: <...>` or `N: name: <...>`; deleting a veth's end deletes the pair.
    for line in listed(&["-o", "link", "show"]).lines() {
        let name = line
            .split(':')
            .nth(1)
            .map(|n| n.trim().split('@').next().unwrap_or_default());
        if let Some(name) = name.filter(|name| dead(name)) {
            let _ = run(&["ip", "link", "del", name]);
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.remove();
    }
}
