//! The one printer: stdout for data, stderr for messages, everything scrubbed
//! of secrets by the run's [`Redactor`], colour only on a terminal.

use std::io::{IsTerminal, Write};

use crate::redact::Redactor;

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

    /// Data on stdout (a plan, JSON, a schema), scrubbed.
    pub fn data(&self, text: &str) {
        if self.quiet_stdout {
            return self.message(text);
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(self.redactor.scrub(text).as_bytes());
        let _ = out.flush();
    }

    /// A message for people on stderr, scrubbed.
    pub fn message(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(self.redactor.scrub(text).as_bytes());
        if !text.ends_with('\n') {
            let _ = err.write_all(b"\n");
        }
    }

    /// An error: `error: …` plus its chain, scrubbed.
    pub fn error(&self, err: &dyn std::fmt::Display) {
        let head = self.for_stderr().paint("error:", Style::Red);
        self.message(&format!("{head} {err}"));
    }

    /// Colour `text` when colour is on.
    pub fn paint(&self, text: &str, style: Style) -> String {
        if !self.color {
            return text.to_string();
        }
        use owo_colors::OwoColorize;
        match style {
            Style::Green => text.green().to_string(),
            Style::Yellow => text.yellow().to_string(),
            Style::Red => text.red().to_string(),
            Style::Cyan => text.cyan().to_string(),
            Style::Bold => text.bold().to_string(),
            Style::Dim => text.dimmed().to_string(),
        }
    }
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
}
