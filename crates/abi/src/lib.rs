//! Linux System V IPC ABI.
#![no_std]
