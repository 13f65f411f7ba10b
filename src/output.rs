//! The one printer: stdout for data, stderr for messages, everything scrubbed
//! of secrets by the run's [`Redactor`], colour only on a terminal.

use std::io::{IsTerminal, Write};

use crate::redact::Redactor;

/// Where and how a command prints.
#[derive(Debug, Clone)]
pub struct Printer {
    pub redactor: Redactor,
    pub color: bool,
    pub verbose: bool,
    /// When stdout carries machine data (secrets JSON, `-o json`), human
    /// messages must not go there: everything non-data goes to stderr anyway.
    pub quiet_stdout: bool,
}

impl Printer {
    pub fn new(no_color: bool, verbose: bool) -> Self {
        let color = !no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal();
        Printer {
            redactor: Redactor::new(),
            color,
            verbose,
            quiet_stdout: false,
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

    /// A message only shown with `-v`.
    pub fn trace(&self, text: &str) {
        if self.verbose {
            self.message(text);
        }
    }

    /// An error: `error: …` plus its chain, scrubbed.
    pub fn error(&self, err: &dyn std::fmt::Display) {
        self.message(&format!("{} {err}", self.paint("error:", Style::Red)));
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
