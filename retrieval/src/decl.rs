//! The declaration index: every declaration of an environment, found by how much its statement
//! and name share with a goal.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::TantivyDocument;
use tantivy::query::Query;
use tantivy::schema::{Field, Schema};

use crate::error::RetrievalError;
use crate::store::{
    SchemaBuilder, Store, any_token_query, exact_query, field_of, restricted, stored_document,
    stored_field, token_text,
};
use crate::tokens::tokens;

/// One declaration of a Lean environment, as Lean prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declaration {
    /// The full name, e.g. `nat.succ_le_iff`.
    pub name: String,
    /// `theorem`, `definition`, `constant` or `axiom` (any string; [`DeclIndex::search_kinds`]
    /// matches it exactly).
    pub kind: String,
    /// The type as Lean pretty-prints it, e.g. `∀ {n m : ℕ}, n.succ ≤ m ↔ n < m`.
    pub statement: String,
    /// The file that declares it, where known (relative to the project, as the caller chose).
    pub path: Option<String>,
    /// Where in `path` the declaration starts, as the exporter reports it.
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// The index kind recorded in the metadata, so a tactic index is never opened as this one.
const KIND: &str = "declarations";

const NAME: &str = "name";
const DECL_KIND: &str = "kind";
const STATEMENT: &str = "statement";
const NAME_TOKENS: &str = "name_tokens";

/// A BM25 index of declarations on disk (memory-mapped), searched by the tokens of a goal.
#[derive(Debug)]
pub struct DeclIndex {
    store: Store,
    fields: Fields,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    name: Field,
    kind: Field,
    statement: Field,
    name_tokens: Field,
    stored: Field,
}

impl Fields {
    fn schema() -> Schema {
        let mut builder = SchemaBuilder::new();
        builder.exact_field(NAME);
        builder.exact_field(DECL_KIND);
        builder.tokens_field(STATEMENT);
        builder.tokens_field(NAME_TOKENS);
        builder.build()
    }

    fn of(schema: &Schema, dir: &Path) -> Result<Fields, RetrievalError> {
        Ok(Fields {
            name: field_of(schema, dir, NAME)?,
            kind: field_of(schema, dir, DECL_KIND)?,
            statement: field_of(schema, dir, STATEMENT)?,
            name_tokens: field_of(schema, dir, NAME_TOKENS)?,
            stored: stored_field(schema, dir)?,
        })
    }

    fn document(&self, decl: &Declaration) -> TantivyDocument {
        let mut doc = stored_document(self.stored, decl);
        doc.add_text(self.name, &decl.name);
        doc.add_text(self.kind, &decl.kind);
        doc.add_text(self.statement, token_text(&decl.statement));
        doc.add_text(self.name_tokens, token_text(&decl.name));
        doc
    }
}

impl DeclIndex {
    /// Builds the index of `decls` at `dir` (replacing what is there, atomically), recording
    /// `fingerprint` (whatever identifies the environment, e.g. the project's commit and Lean
    /// version) for [`DeclIndex::open_if_current`].
    pub fn build(
        dir: &Path,
        decls: impl IntoIterator<Item = Declaration>,
        fingerprint: &str,
    ) -> Result<DeclIndex, RetrievalError> {
        let schema = Fields::schema();
        let fields = Fields::of(&schema, dir)?;
        let docs = decls.into_iter().map(|decl| fields.document(&decl));
        DeclIndex::from_store(Store::build(dir, KIND, fingerprint, schema, docs)?)
    }

    /// Opens the declaration index at `dir`, whatever its fingerprint.
    pub fn open(dir: &Path) -> Result<DeclIndex, RetrievalError> {
        DeclIndex::from_store(Store::open(dir, KIND)?)
    }

    /// Opens the index at `dir` if it is of this crate's current format and was built with
    /// `fingerprint`; `None` (nothing there, an older format, another fingerprint) means the
    /// caller should [`build`](DeclIndex::build) it.
    pub fn open_if_current(
        dir: &Path,
        fingerprint: &str,
    ) -> Result<Option<DeclIndex>, RetrievalError> {
        Store::open_if_current(dir, KIND, fingerprint)?
            .map(DeclIndex::from_store)
            .transpose()
    }

    fn from_store(store: Store) -> Result<DeclIndex, RetrievalError> {
        let fields = Fields::of(&store.schema(), store.dir())?;
        Ok(DeclIndex { store, fields })
    }

    /// The `k` declarations whose statements and names best match `query` (a printed goal or
    /// tactic state, or any Lean text), best first, with their BM25 scores. Any shared token
    /// counts. A read error of the index (its files damaged after opening) gives no hits; use
    /// [`DeclIndex::try_search`] to see it.
    pub fn search(&self, query: &str, k: usize) -> Vec<(Declaration, f32)> {
        self.try_search(query, k, None).unwrap_or_default()
    }

    /// [`DeclIndex::search`] among the declarations whose kind is one of `kinds` (none when
    /// `kinds` is empty). Scores are those of the unrestricted search (up to float rounding):
    /// the restriction filters, it does not score.
    pub fn search_kinds(&self, query: &str, k: usize, kinds: &[&str]) -> Vec<(Declaration, f32)> {
        self.try_search(query, k, Some(kinds)).unwrap_or_default()
    }

    /// [`DeclIndex::search`], restricted to `kinds` when given, with read errors reported.
    pub fn try_search(
        &self,
        query: &str,
        k: usize,
        kinds: Option<&[&str]>,
    ) -> Result<Vec<(Declaration, f32)>, RetrievalError> {
        let fields = [(self.fields.statement, 1.0), (self.fields.name_tokens, 1.0)];
        let Some(scored) = any_token_query(&fields, &tokens(query)) else {
            return Ok(Vec::new());
        };
        match kinds {
            None => self.store.search(&scored, k),
            Some([]) => Ok(Vec::new()),
            Some(kinds) => {
                let query = restricted(Box::new(scored) as Box<dyn Query>, self.fields.kind, kinds);
                self.store.search(&query, k)
            }
        }
    }

    /// The declaration called exactly `name`, if any (with a name given twice at build, one
    /// of them). A read error gives `None`; [`DeclIndex::try_get`] reports it.
    pub fn get(&self, name: &str) -> Option<Declaration> {
        self.try_get(name).ok().flatten()
    }

    /// [`DeclIndex::get`] with read errors reported.
    pub fn try_get(&self, name: &str) -> Result<Option<Declaration>, RetrievalError> {
        let hits = self.store.search(&exact_query(self.fields.name, name), 1)?;
        Ok(hits.into_iter().next().map(|(decl, _)| decl))
    }

    /// How many declarations the index holds.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fingerprint the index was built with.
    pub fn fingerprint(&self) -> &str {
        self.store.fingerprint()
    }
}
