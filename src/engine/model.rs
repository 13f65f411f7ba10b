//! The natures a resource field can have, as types, so a provider's model
//! says what each field is and the diff cannot forget it:
//! - managed or not: `Option<T>`, where `None` (absent from the manifest) is
//!   never compared and never changed;
//! - sensitive: [`Text`](super::manifest::Text), shown masked on both sides;
//! - [`CreateOnly`]: set at creation only, a difference means replace;
//! - [`WriteOnly`]: never read back (a secret), so changes are detected by a
//!   keyed fingerprint and never by reading the value;
//! - server-assigned values (ids, timestamps) live only in wire types.

/// A field set only at creation: a different live value means the object
/// must be replaced (deleted and created again).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateOnly<T>(pub Option<T>);

impl<T: PartialEq + std::fmt::Display> CreateOnly<T> {
    /// `want → have` when managed, known live and different.
    pub fn replace_reason(&self, name: &str, live: Option<&T>) -> Option<String> {
        match (&self.0, live) {
            (Some(want), Some(have)) if want != have => Some(format!("{name} {have} → {want}")),
            _ => None,
        }
    }
}

/// A field the API never returns (a secret value): written at creation, and
/// afterwards only when asked, or when its keyed fingerprint says it changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteOnly<T>(pub Option<T>);
