//! Checked suggestions by proof state, the latest few: the lightbulb shows what an earlier
//! request computed, and an editor asks for the same completions again and again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::backend::PoolKey;
use super::lock::lock;
use lean_env::suggest::Suggestions;

/// A proof state: pool, context, statement, steps above the cursor.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub pool: PoolKey,
    pub context: Vec<String>,
    /// Hash of the document's text above the theorem.
    pub above: u64,
    pub statement: String,
    pub steps: Vec<String>,
    pub candidates: usize,
}

const CACHE_SIZE: usize = 64;

#[derive(Default)]
pub struct SuggestionCache {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<CacheKey, Arc<Suggestions>>,
    /// Oldest first, to forget past `CACHE_SIZE`.
    order: VecDeque<CacheKey>,
}

impl SuggestionCache {
    pub fn get(&self, key: &CacheKey) -> Option<Arc<Suggestions>> {
        lock(&self.inner).map.get(key).cloned()
    }

    pub fn remember(&self, key: CacheKey, value: Arc<Suggestions>) {
        let mut cache = lock(&self.inner);
        if cache.map.insert(key.clone(), value).is_none() {
            cache.order.push_back(key);
            while cache.order.len() > CACHE_SIZE {
                if let Some(old) = cache.order.pop_front() {
                    cache.map.remove(&old);
                }
            }
        }
    }
}
