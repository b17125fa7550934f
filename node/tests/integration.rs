//! Integration tests: real `qraft` processes in temp dirs, driven through the real client.

mod admission;
mod bad_input;
mod cli;
mod cluster;
mod control;
mod faults;
mod flows;
mod http;
mod lifecycle;
mod membership;
mod observability;
mod remote_worker;
mod security;
mod util;
mod workers;
