//! What the declaration and tactic indexes share: one tantivy index in a directory with a
//! metadata file beside its files, built atomically, opened by memory-mapping, searched with
//! queries made of our tokens.
//!
//! Text reaches tantivy already tokenized by [`tokens`](crate::tokens::tokens), joined by single
//! spaces into fields that tantivy's whitespace tokenizer splits again. So indexing and querying
//! cannot disagree about tokens, and an index opens without registering anything of ours.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::error::RetrievalError;
use crate::tokens::tokens;

/// Bumped whenever the schema, the tokenizer's output or the stored JSON changes, so that
/// `open_if_current` sends callers to rebuild instead of searching an index made by other rules.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The metadata file's name inside an index directory.
pub(crate) const META_FILE: &str = "retrieval-meta.json";

/// The field that holds each item as JSON, so that a hit gives back the whole item.
const STORED_FIELD: &str = "json";

/// Indexing memory: one writer thread keeps document order (and so ties) the same on every
/// build; 64 MB keeps a mathlib-sized index in few segments.
const WRITER_THREADS: usize = 1;
const WRITER_MEMORY: usize = 64_000_000;

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    format_version: u32,
    /// Which index this is (`declarations`, `tactics`): opening one as the other is refused.
    kind: String,
    fingerprint: String,
    docs: u64,
}

/// The schema under construction for one kind of index: token fields, exact-match fields, and
/// the stored JSON field every index has.
pub(crate) struct SchemaBuilder(tantivy::schema::SchemaBuilder);

impl SchemaBuilder {
    pub(crate) fn new() -> Self {
        SchemaBuilder(Schema::builder())
    }

    /// A field of space-joined tokens, scored by BM25 (term frequencies and field lengths kept,
    /// positions not: queries are bags of tokens, never phrases).
    pub(crate) fn tokens_field(&mut self, name: &str) {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer("whitespace")
            .set_index_option(IndexRecordOption::WithFreqs);
        self.0
            .add_text_field(name, TextOptions::default().set_indexing_options(indexing));
    }

    /// A field matched only as a whole string (a name, a kind).
    pub(crate) fn exact_field(&mut self, name: &str) {
        self.0.add_text_field(name, STRING);
    }

    pub(crate) fn build(mut self) -> Schema {
        self.0.add_text_field(STORED_FIELD, STORED);
        self.0.build()
    }
}

/// An open index: the memory-mapped tantivy index, its reader and its metadata.
pub(crate) struct Store {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    meta: Meta,
    stored: Field,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// What the metadata file says about a directory.
enum MetaState {
    /// No directory or no metadata file.
    Missing,
    /// A metadata file of another format version (or none we can read a version from).
    OtherFormat(String),
    Current(Meta),
}

impl Store {
    /// Builds an index of `docs` at `dir`, replacing whatever is there, through a sibling
    /// directory renamed into place once complete: a crash leaves the old index, the new one,
    /// or (between the two renames) none, never a half-written one that `open` accepts.
    pub(crate) fn build(
        dir: &Path,
        kind: &str,
        fingerprint: &str,
        schema: Schema,
        docs: impl IntoIterator<Item = TantivyDocument>,
    ) -> Result<Store, RetrievalError> {
        let (parent, name) = split_dir(dir)?;
        fs::create_dir_all(&parent).map_err(io_error("create", &parent))?;
        let temp = parent.join(format!(".{name}.building.{}", unique_suffix()));
        fs::create_dir(&temp).map_err(io_error("create", &temp))?;
        match write_index(&temp, kind, fingerprint, schema, docs) {
            Ok(()) => {}
            Err(err) => {
                // The half-built directory is ours alone; a failure to remove it only leaves
                // a hidden directory that nothing opens.
                let _ = fs::remove_dir_all(&temp);
                return Err(err);
            }
        }
        replace_dir(&temp, dir, &parent, &name)?;
        Store::open(dir, kind)
    }

    /// Opens the index at `dir`, which must have been built by this crate's format for `kind`.
    pub(crate) fn open(dir: &Path, kind: &str) -> Result<Store, RetrievalError> {
        match read_meta(dir)? {
            MetaState::Missing => Err(RetrievalError::BadMetadata {
                path: dir.join(META_FILE),
                problem: "no index here (no metadata file)".to_string(),
            }),
            MetaState::OtherFormat(version) => Err(RetrievalError::BadMetadata {
                path: dir.join(META_FILE),
                problem: format!(
                    "format version {version}, this build reads {FORMAT_VERSION}: rebuild the index"
                ),
            }),
            MetaState::Current(meta) => Store::open_with(dir, kind, meta),
        }
    }

    /// Opens the index at `dir` if it is of the current format and was built with
    /// `fingerprint`; `None` tells the caller to rebuild.
    pub(crate) fn open_if_current(
        dir: &Path,
        kind: &str,
        fingerprint: &str,
    ) -> Result<Option<Store>, RetrievalError> {
        match read_meta(dir)? {
            MetaState::Current(meta) if meta.fingerprint == fingerprint => {
                Store::open_with(dir, kind, meta).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn open_with(dir: &Path, kind: &str, meta: Meta) -> Result<Store, RetrievalError> {
        if meta.kind != kind {
            return Err(RetrievalError::BadMetadata {
                path: dir.join(META_FILE),
                problem: format!("this is an index of {}, not of {kind}", meta.kind),
            });
        }
        let index = Index::open_in_dir(dir).map_err(tantivy_error("open", dir))?;
        // Manual: the index never changes once built (a rebuild is a new directory), so the
        // reader needs no thread watching for commits.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy_error("open a reader", dir))?;
        let found = reader.searcher().num_docs();
        if found != meta.docs {
            return Err(RetrievalError::BadMetadata {
                path: dir.join(META_FILE),
                problem: format!("{} documents recorded, {found} in the index", meta.docs),
            });
        }
        let stored = stored_field(&index.schema(), dir)?;
        Ok(Store {
            dir: dir.to_path_buf(),
            index,
            reader,
            meta,
            stored,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.meta.docs as usize
    }

    pub(crate) fn fingerprint(&self) -> &str {
        &self.meta.fingerprint
    }

    /// The schema the index was built with (to find its fields).
    pub(crate) fn schema(&self) -> Schema {
        self.index.schema()
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `k` best hits of `query`, best first, each as its stored item.
    pub(crate) fn search<T: DeserializeOwned>(
        &self,
        query: &dyn Query,
        k: usize,
    ) -> Result<Vec<(T, f32)>, RetrievalError> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let hits = searcher
            .search(query, &TopDocs::with_limit(k).order_by_score())
            .map_err(tantivy_error("search", &self.dir))?;
        hits.into_iter()
            .map(|(score, address)| {
                let doc: TantivyDocument = searcher
                    .doc(address)
                    .map_err(tantivy_error("read a stored document", &self.dir))?;
                Ok((self.stored_item(&doc)?, score))
            })
            .collect()
    }

    fn stored_item<T: DeserializeOwned>(&self, doc: &TantivyDocument) -> Result<T, RetrievalError> {
        let bad = |problem: String| RetrievalError::BadDocument {
            path: self.dir.clone(),
            problem,
        };
        let json = doc
            .get_first(self.stored)
            .and_then(|value| value.as_str())
            .ok_or_else(|| bad("no stored JSON".to_string()))?;
        serde_json::from_str(json).map_err(|err| bad(err.to_string()))
    }
}

/// A document holding `item` as JSON in the `stored` field (the field [`stored_field`] finds).
pub(crate) fn stored_document<T: Serialize>(stored: Field, item: &T) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    // Plain structs of strings and numbers always serialize.
    doc.add_text(
        stored,
        serde_json::to_string(item).expect("items serialize to JSON"),
    );
    doc
}

/// The field of `schema` that holds each item as JSON.
pub(crate) fn stored_field(schema: &Schema, dir: &Path) -> Result<Field, RetrievalError> {
    field_of(schema, dir, STORED_FIELD)
}

/// The tokens of `text` as a tokens field holds them.
pub(crate) fn token_text(text: &str) -> String {
    tokens(text).join(" ")
}

/// A query that scores a document by every distinct token of `query_tokens` it has in any of
/// `fields` (each with its boost), BM25 per field, summed: any overlap scores, more and rarer
/// overlap scores more. A token repeated in the query counts once, so that an operator a goal
/// uses ten times does not outweigh the one constant it names. `None` when there are no tokens.
pub(crate) fn any_token_query(
    fields: &[(Field, f32)],
    query_tokens: &[String],
) -> Option<BooleanQuery> {
    let mut seen = HashSet::new();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for token in query_tokens {
        if !seen.insert(token.as_str()) {
            continue;
        }
        for &(field, boost) in fields {
            let term = TermQuery::new(
                Term::from_field_text(field, token),
                IndexRecordOption::WithFreqs,
            );
            let clause: Box<dyn Query> = if boost == 1.0 {
                Box::new(term)
            } else {
                Box::new(BoostQuery::new(Box::new(term), boost))
            };
            clauses.push((Occur::Should, clause));
        }
    }
    (!clauses.is_empty()).then(|| BooleanQuery::new(clauses))
}

/// `scored`, restricted to documents whose exact `field` is one of `values`; the restriction
/// adds nothing to the score, so a hit scores as it would unrestricted.
pub(crate) fn restricted(scored: Box<dyn Query>, field: Field, values: &[&str]) -> BooleanQuery {
    let any_value = BooleanQuery::union(
        values
            .iter()
            .map(|value| {
                Box::new(TermQuery::new(
                    Term::from_field_text(field, value),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>
            })
            .collect(),
    );
    BooleanQuery::new(vec![
        (Occur::Must, scored),
        (
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(any_value), 0.0)),
        ),
    ])
}

/// A query for the documents whose exact `field` is `value`.
pub(crate) fn exact_query(field: Field, value: &str) -> TermQuery {
    TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    )
}

fn write_index(
    temp: &Path,
    kind: &str,
    fingerprint: &str,
    schema: Schema,
    docs: impl IntoIterator<Item = TantivyDocument>,
) -> Result<(), RetrievalError> {
    let index = Index::create_in_dir(temp, schema).map_err(tantivy_error("create", temp))?;
    let mut writer = index
        .writer_with_num_threads::<TantivyDocument>(WRITER_THREADS, WRITER_MEMORY)
        .map_err(tantivy_error("open a writer", temp))?;
    let mut count = 0u64;
    for doc in docs {
        writer
            .add_document(doc)
            .map_err(tantivy_error("add a document", temp))?;
        count += 1;
    }
    writer.commit().map_err(tantivy_error("commit", temp))?;
    writer
        .wait_merging_threads()
        .map_err(tantivy_error("merge segments", temp))?;
    // Written last: a directory with this file holds a complete index.
    let meta = Meta {
        format_version: FORMAT_VERSION,
        kind: kind.to_string(),
        fingerprint: fingerprint.to_string(),
        docs: count,
    };
    let path = temp.join(META_FILE);
    let json = serde_json::to_vec_pretty(&meta).expect("metadata serializes to JSON");
    let mut file = File::create(&path).map_err(io_error("create", &path))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(io_error("write", &path))
}

/// Puts the complete index at `temp` in the place of `dir`.
fn replace_dir(temp: &Path, dir: &Path, parent: &Path, name: &str) -> Result<(), RetrievalError> {
    let old = parent.join(format!(".{name}.old.{}", unique_suffix()));
    let had_old = match fs::rename(dir, &old) {
        Ok(()) => true,
        Err(err) if err.kind() == io::ErrorKind::NotFound => false,
        Err(err) => return Err(io_error("move aside", dir)(err)),
    };
    fs::rename(temp, dir).map_err(io_error("move into place", dir))?;
    // Makes both renames durable; where a file system cannot sync a directory, the index is
    // still complete, only perhaps not yet at its name after a power cut.
    if let Ok(parent_dir) = File::open(parent) {
        let _ = parent_dir.sync_all();
    }
    if had_old {
        // The new index is in place; an old one that will not go away is only disk space.
        let _ = fs::remove_dir_all(&old);
    }
    Ok(())
}

fn read_meta(dir: &Path) -> Result<MetaState, RetrievalError> {
    let path = dir.join(META_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(MetaState::Missing),
        Err(err) => return Err(io_error("read", &path)(err)),
    };
    // The version is read on its own first: another format may have other fields.
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| RetrievalError::BadMetadata {
            path: path.clone(),
            problem: err.to_string(),
        })?;
    match value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(version) if version == u64::from(FORMAT_VERSION) => {}
        Some(version) => return Ok(MetaState::OtherFormat(version.to_string())),
        None => return Ok(MetaState::OtherFormat("unknown".to_string())),
    }
    serde_json::from_value(value)
        .map(MetaState::Current)
        .map_err(|err| RetrievalError::BadMetadata {
            path,
            problem: err.to_string(),
        })
}

pub(crate) fn field_of(schema: &Schema, dir: &Path, name: &str) -> Result<Field, RetrievalError> {
    schema
        .get_field(name)
        .map_err(|_| RetrievalError::BadMetadata {
            path: dir.join(META_FILE),
            problem: format!("the index has no field `{name}`"),
        })
}

/// The parent to build beside and the directory's own name.
fn split_dir(dir: &Path) -> Result<(PathBuf, String), RetrievalError> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| RetrievalError::Io {
            action: "build an index at",
            path: dir.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path has no directory name",
            ),
        })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_string()))
}

/// Distinct for concurrent builders of one directory (process id) and successive builds of
/// one process (time).
fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}.{nanos}", std::process::id())
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> RetrievalError {
    move |source| RetrievalError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn tantivy_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(tantivy::TantivyError) -> RetrievalError {
    move |source| RetrievalError::Tantivy {
        action,
        path: path.to_path_buf(),
        source,
    }
}
