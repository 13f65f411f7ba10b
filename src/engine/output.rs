//! The one printer: stdout for data, stderr for messages, everything scrubbed
//! of secrets by the run's [`Redactor`], colour decided per stream, and
//! human output stripped of control characters.
//!
//! Text for people may carry names and prompts from manifests and answers
//! from servers; an escape sequence in a prompt must not erase plan lines on
//! a reviewer's terminal. So [`Printer::paint`] never writes an escape
//! character itself: it writes markers, and [`Printer::human`] and
//! [`Printer::message`] turn every real control character into a visible
//! picture (`␛`) before turning the markers into colours. A forged marker can
//! only select one of the few colours below.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use super::redact::Redactor;

/// Where and how a command prints.
#[derive(Debug, Clone)]
pub struct Printer {
    pub redactor: Redactor,
    /// Whether [`Printer::paint`] colours: true when the stream the caller
    /// is building text for is coloured (see [`Printer::for_stderr`]).
    pub color: bool,
    /// Colour decided for standard error alone (messages, errors, traces).
    pub color_err: bool,
    /// When stdout carries machine data (secrets JSON, `-o json`), human
    /// messages must not go there: everything non-data goes to stderr anyway.
    pub quiet_stdout: bool,
}

/// Marks a colour code in painted text (private-use characters).
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
/// The only SGR codes a marker may select.
const CODES: &[&str] = &["0", "1", "2", "31", "32", "33", "36", "7;31", "7;32"];

impl Printer {
    /// Colour is decided per stream: `--no-color` and `NO_COLOR` turn it
    /// off, `CLICOLOR_FORCE` turns it on, otherwise a stream is coloured when
    /// it is a terminal (so `plan > file` on a terminal still colours errors).
    pub fn new(no_color: bool) -> Self {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
        let decide =
            |terminal: bool| !no_color && !set("NO_COLOR") && (set("CLICOLOR_FORCE") || terminal);
        Printer {
            redactor: Redactor::new(),
            color: decide(std::io::stdout().is_terminal()),
            color_err: decide(std::io::stderr().is_terminal()),
            quiet_stdout: false,
        }
    }

    /// This printer, painting for standard error (text shown as a message).
    pub fn for_stderr(&self) -> Printer {
        Printer {
            color: self.color_err,
            ..self.clone()
        }
    }

    /// Machine data on stdout (JSON, a schema, secrets), scrubbed, as is.
    pub fn data(&self, text: &str) {
        if self.quiet_stdout {
            return self.message(text);
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(self.redactor.scrub(text).as_bytes());
        let _ = out.flush();
    }

    /// Text for people on stdout (a plan), scrubbed and neutralized.
    pub fn human(&self, text: &str) {
        if self.quiet_stdout {
            return self.message(text);
        }
        let text = finish(&self.redactor.scrub(text), self.color);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// A message for people on stderr, scrubbed and neutralized.
    pub fn message(&self, text: &str) {
        self.stderr(&finish(&self.redactor.scrub(text), self.color_err));
    }

    /// A report that did its own colouring from neutralized parts (miette's).
    pub fn report(&self, text: &str) {
        self.stderr(&self.redactor.scrub(text));
    }

    fn stderr(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = err.write_all(b"\n");
        }
    }

    /// An error: `error: …`, scrubbed and neutralized.
    pub fn error(&self, err: &dyn std::fmt::Display) {
        let head = self.for_stderr().paint("error:", Style::Red);
        self.message(&format!("{head} {err}"));
    }

    /// Colour `text` when colour is on (with markers; see the module doc).
    /// The same printer, building text without colour (for files).
    pub fn plain(&self) -> Printer {
        Printer {
            color: false,
            ..self.clone()
        }
    }

    pub fn paint(&self, text: &str, style: Style) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match style {
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Cyan => "36",
            Style::Bold => "1",
            Style::Dim => "2",
            Style::RedWord => "7;31",
            Style::GreenWord => "7;32",
        };
        format!("{OPEN}{code}{CLOSE}{text}{OPEN}0{CLOSE}")
    }
}

/// Neutralize control characters, then turn colour markers into SGR codes
/// (or drop them without colour).
fn finish(text: &str, color: bool) -> String {
    let clean = neutralize(text);
    let mut out = String::with_capacity(clean.len());
    let mut rest: &str = &clean;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let after = &rest[at + OPEN.len_utf8()..];
        match after.find(CLOSE) {
            Some(end) => {
                let code = &after[..end];
                if color && CODES.contains(&code) {
                    out.push_str(&format!("\u{1b}[{code}m"));
                }
                rest = &after[end + CLOSE.len_utf8()..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// Whether a character reorders text when displayed (Trojan Source).
pub fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// How a control or bidi character is shown: a control picture (`␛`, `␀`)
/// for C0 and DEL, `<U+0085>` for the rest.
pub fn visible_control(c: char) -> String {
    match c {
        '\u{0}'..='\u{1f}' => {
            char::from_u32(0x2400 + u32::from(c)).map_or_else(String::new, String::from)
        }
        '\u{7f}' => "␡".into(),
        c => format!("<U+{:04X}>", u32::from(c)),
    }
}

/// `text` with every control character but line feed and tab, and every
/// bidi override, made visible. Borrowed when there is nothing to do.
pub fn neutralize(text: &str) -> Cow<'_, str> {
    let bad = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_bidi(c);
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if bad(c) {
                    visible_control(c)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The few styles output uses.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    Green,
    Yellow,
    Red,
    Cyan,
    Bold,
    Dim,
    /// A changed word inside a removed line (reverse video, red).
    RedWord,
    /// A changed word inside an added line (reverse video, green).
    GreenWord,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_cannot_drive_the_terminal_but_our_colours_can() {
        let p = Printer {
            redactor: Redactor::new(),
            color: true,
            color_err: true,
            quiet_stdout: false,
        };
        let hostile = "line\u{1b}[2K\u{1b}[1A erased\r\u{202e}evil\u{0}";
        let painted = format!("{} {hostile}", p.paint("ok", Style::Green));
        let out = finish(&painted, true);
        assert_eq!(
            out,
            "\u{1b}[32mok\u{1b}[0m line␛[2K␛[1A erased␍<U+202E>evil␀"
        );
        // A forged marker selects a colour at most, never another sequence.
        let forged = format!("{OPEN}2J{CLOSE}x{OPEN}31{CLOSE}y");
        assert_eq!(finish(&forged, true), "x\u{1b}[31my");
        assert_eq!(
            finish(&painted, false),
            "ok line␛[2K␛[1A erased␍<U+202E>evil␀"
        );
    }
}
