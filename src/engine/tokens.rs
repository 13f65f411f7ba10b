//! Prompt token counts: how long a prompt is in the unit models bill and
//! limit by. Counted with OpenAI's `o200k_base` encoding (tiktoken-rs), the
//! encoding of GPT-4o, GPT-4.1, GPT-5 and the o-series; for a model of any
//! other family the count is an approximation (other tokenizers differ by
//! some percent on English text), and plans say so.

use serde::Serialize;

/// The encoding every count uses.
pub const ENCODING: &str = "o200k_base";

/// The number of tokens of `text` in [`ENCODING`]. Special-token markers
/// (`<|endoftext|>`) in a prompt are counted as the ordinary text they are.
/// The encoder is built once per process, on first use (about a tenth of a
/// second in a release build), so runs that count nothing pay nothing.
pub fn count(text: &str) -> usize {
    tiktoken_rs::o200k_base_singleton().count_ordinary(text)
}

/// Build the encoder on a thread of its own, so that it is ready (or
/// nearly) when the first count is asked for: a command that will count
/// (`--policy`) calls this first, and loads its manifests meanwhile.
pub fn warm_up() {
    let _ = std::thread::Builder::new()
        .name("tokens".into())
        .spawn(|| count(""));
}

/// Whether [`ENCODING`] is `model`'s own encoding, so a count is exact.
/// `model` may carry a vendor prefix (`openai/gpt-5`).
pub fn exact_for(model: &str) -> bool {
    let name = model.rsplit('/').next().unwrap_or(model).trim();
    let o200k = |n: &str| {
        tiktoken_rs::tokenizer::get_tokenizer(n)
            == Some(tiktoken_rs::tokenizer::Tokenizer::O200kBase)
    };
    // Cadenya names a model `<AI provider key>.<provider>-<model>`
    // (`getting-started-key.openai-gpt-5`).
    o200k(name)
        || name
            .split_once('.')
            .is_some_and(|(_, m)| o200k(m.strip_prefix("openai-").unwrap_or(m)))
}

/// A number with thousands separators: `1,204`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The token counts of a long text a change writes: before (the live text,
/// none when there is none yet) and after (the manifest's text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenCount {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<usize>,
    pub after: usize,
    /// `after - before` (omitted without a before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<i64>,
    pub encoding: &'static str,
    /// True unless the change names a model whose own encoding is
    /// [`ENCODING`].
    pub approximate: bool,
}

impl TokenCount {
    /// The counts of `after` and, when there is one, `before`; approximate
    /// until a model says otherwise ([`TokenCount::for_model`]).
    pub fn of(before: Option<&str>, after: &str) -> Self {
        let before = before.map(count);
        let after = count(after);
        TokenCount {
            delta: before.map(|b| after as i64 - b as i64),
            before,
            after,
            encoding: ENCODING,
            approximate: true,
        }
    }

    /// Exact when `model` uses [`ENCODING`].
    pub fn for_model(&mut self, model: &str) {
        self.approximate = !exact_for(model);
    }

    /// `1,204 -> 1,380 tokens (+176)`; `1,380 tokens` for a new text;
    /// `, approximate (o200k_base)` after it when the model is of another
    /// family or unknown.
    pub fn line(&self) -> String {
        let mut out = match (self.before, self.delta) {
            (Some(b), Some(d)) => format!(
                "{} -> {} tokens ({}{})",
                thousands(b),
                thousands(self.after),
                if d < 0 { "-" } else { "+" },
                thousands(d.unsigned_abs() as usize)
            ),
            _ => format!("{} tokens", thousands(self.after)),
        };
        if self.approximate {
            out.push_str(&format!(", approximate ({})", self.encoding));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_known_by_every_provider_s_name_for_them() {
        for exact in [
            "gpt-4o",
            "openai/gpt-5",
            "getting-started-key.openai-gpt-5",
            "k.gpt-4.1",
        ] {
            assert!(exact_for(exact), "{exact}");
        }
        for other in [
            "gpt-4",
            "anthropic/claude-sonnet-4.6",
            "getting-started-key.anthropic-claude-sonnet-4-6",
            "",
            ".",
        ] {
            assert!(!exact_for(other), "{other}");
        }
    }

    #[test]
    fn counts_are_o200k_base() {
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        // Special-token markers are text, never an error.
        assert!(count("<|endoftext|>") > 1);
    }

    #[test]
    fn lines_say_before_after_and_the_difference() {
        let mut t = TokenCount {
            before: Some(1204),
            after: 1380,
            delta: Some(176),
            encoding: ENCODING,
            approximate: true,
        };
        t.for_model("openai/gpt-5");
        assert_eq!(t.line(), "1,204 -> 1,380 tokens (+176)");
        t.for_model("anthropic/claude-sonnet-4.6");
        assert_eq!(
            t.line(),
            "1,204 -> 1,380 tokens (+176), approximate (o200k_base)"
        );
        let shrink = TokenCount::of(Some("a b c d e f"), "a");
        assert_eq!(shrink.delta, Some(-5));
        assert!(
            shrink.line().starts_with("6 -> 1 tokens (-5)"),
            "{}",
            shrink.line()
        );
        let new = TokenCount::of(None, "hello world");
        assert_eq!(new.line(), "2 tokens, approximate (o200k_base)");
    }

    #[test]
    fn models_of_the_o200k_family_are_exact() {
        for m in ["gpt-4o", "gpt-4.1-mini", "openai/gpt-5", "o3"] {
            assert!(exact_for(m), "{m}");
        }
        for m in ["gpt-4", "anthropic/claude-sonnet-4.6", "llama-3", ""] {
            assert!(!exact_for(m), "{m}");
        }
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
