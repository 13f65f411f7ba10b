//! [`TextSource`]: long text (a prompt, instructions, a memory entry) given
//! inline or as a file next to the manifest.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Location;

use super::{Document, LoadContext, Text};

/// Text inline, or read from a file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TextSource {
    /// The text itself (`${VAR}` interpolation applies).
    Inline(String),
    /// A file holding the text, relative to the manifest that names it
    /// (taken as written: no interpolation).
    File(FileRef),
}

/// `{file: prompts/x.md}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// Path relative to this manifest; must stay inside the manifest root.
    pub file: String,
}

impl LoadContext<'_> {
    /// The text of a [`TextSource`] of `doc` at `at`: interpolated when
    /// inline, read (confined to the manifest root) when a file; CRLF line
    /// endings become LF. `what` names it in messages ("instruction file").
    pub fn text_source(
        &mut self,
        doc: &Document,
        at: &Location,
        source: &TextSource,
        what: &str,
    ) -> Option<Text> {
        let text = match source {
            TextSource::Inline(s) => {
                let spanned = serde_saphyr::Spanned::new(s.clone(), *at, *at);
                self.text(doc, &spanned)?
            }
            TextSource::File(f) => Text::plain(&self.read_file(doc, at, what, &f.file)?),
        };
        Some(if text.expose().contains('\r') {
            text.map(|s| s.replace("\r\n", "\n"))
        } else {
            text
        })
    }
}
