//! The platforms twinform manages, side by side. Each implements
//! [`Provider`](crate::engine::provider::Provider); none imports another.

pub mod cadenya;
pub mod twig;
pub mod twin;

use std::sync::Arc;

use crate::engine::bound::erase;
use crate::engine::session::Providers;

/// Every provider of this build, in the order plans list them.
pub fn all() -> Providers {
    vec![
        Arc::from(erase(twin::Twin)),
        Arc::from(erase(twig::Twig)),
        Arc::from(erase(cadenya::Cadenya)),
    ]
}

/// The provider a command means when it names none (`--provider`'s
/// default): the original one, whose forms predate the others.
pub const DEFAULT: &str = "twin";

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_is_the_one_original_provider() {
        let all = super::all();
        let original: Vec<&str> = all
            .iter()
            .filter(|p| p.info().original)
            .map(|p| p.info().name)
            .collect();
        assert_eq!(original, [super::DEFAULT]);
    }
}
