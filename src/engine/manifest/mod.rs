//! The manifest language, provider-neutral: files and documents with their
//! positions ([`load`]), located problems ([`diagnostic`]), `${VAR}`
//! interpolation ([`interpolate`]), the generic document tree used to find
//! every unknown field ([`node`]), the JSON Schema assembly ([`schema`]) and
//! [`Text`], a manifest string that knows what of it may be shown.

pub mod diagnostic;
pub mod docpath;
pub mod edit;
pub mod files;
pub mod interpolate;
pub mod load;
pub mod node;
pub mod schema;
mod source;
mod text;
pub mod uses;
pub mod variables;

pub use diagnostic::{Problem, SourceFile};
pub use load::{Document, Identities, LoadContext};
pub use source::{FileRef, TemplateRef, TextSource};
pub use text::Text;

/// The outcome of loading a tree: each provider's desired state (when no
/// document had an error) and every problem found.
pub struct Validated<D> {
    pub desired: Option<D>,
    pub problems: Vec<Problem>,
}

/// For `#[serde(default, deserialize_with = "present")]`: a field that is
/// present (even as `null`) becomes `Some`, so "absent" (`None`: not managed)
/// and "null" (`Some(None)`: make sure there is none) stay distinct.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A document as YAML (export writes manifests through this, so every YAML
/// call stays in the manifest module).
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    serde_saphyr::to_string(value).unwrap_or_default()
}
