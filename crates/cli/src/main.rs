//! The `sysvipc` command.
fn main() {}
