# Routine tasks. `just --list` shows them; each is a plain cargo command underneath.

# Every test of the workspace (the README's test command).
test:
    cargo test --workspace

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# The runnable tour of the message queues.
tour:
    cargo run --release --example tour

# The emulation beside the host kernel (needs root: a private IPC namespace per test).
check-host:
    cargo test -p sysvipc --test differential_msg --test differential_sem --test differential_shm
    cargo test -p sysvipc-host
    cargo test -p sysvipc-check
    cargo test -p sysvipc-syscalls --test compat_differential

# The scenario corpus and SEED's random calls, on the emulation beside the host kernel (root).
diff SEED="1" CALLS="10000":
    cargo build -p sysvipc-cli
    for f in scenarios/*.scn; do target/debug/sysvipc diff "$f" || exit 1; done
    target/debug/sysvipc diff --random {{CALLS}} --seed {{SEED}}

# The performance comparison (emulation, host kernel, plain baseline) and the memory figures;
# ARGS go to criterion (e.g. `--quick`, or a group filter such as `msg_pair`).
bench *ARGS:
    cargo bench -p sysvipc-bench --bench compare -- {{ARGS}}

# Everything CI runs.
ci:
    bash .ci/run

# Run fuzz target TARGET (msg_ops, shm_ops or raw_syscalls) for SECS seconds (needs nightly and
# `cargo install cargo-fuzz`).
fuzz TARGET="msg_ops" SECS="60":
    cd fuzz && cargo +nightly fuzz run {{TARGET}} -- -max_total_time={{SECS}} -timeout=10
