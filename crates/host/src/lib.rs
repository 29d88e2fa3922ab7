//! System V IPC on the host kernel.
