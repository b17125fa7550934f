//! Integration tests: real `qraft` processes in temp dirs, driven through the real client.

mod bad_input;
mod cluster;
mod util;
