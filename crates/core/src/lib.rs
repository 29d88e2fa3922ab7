//! In-process emulation of the Linux System V IPC subsystem.
#![forbid(unsafe_code)]
