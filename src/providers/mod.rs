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
