//! What the three mechanisms share: keys and ids, permissions, and the registry.

mod id;
mod perm;
mod registry;

pub use id::{Id, Key};
pub use perm::{Access, Perm};
pub(crate) use registry::{IpcObject, Registry, Removal};
