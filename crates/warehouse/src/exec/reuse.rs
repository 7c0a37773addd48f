//! Result reuse, Snowflake's "persisted query results": a query the session runs again gets
//! the result it got before, without running, while nothing it could read has changed. On by
//! default; `ALTER SESSION SET USE_CACHED_RESULT = FALSE` turns it off.
//!
//! A result is reused only when all of these hold (Snowflake's conditions, as recpipe can
//! know them):
//! - the same session ran the same statement text, character for character, in the same
//!   database and schema (the privilege checks run again every time, before the lookup);
//! - no catalog or data change happened anywhere since (the warehouse's change counter, moved
//!   by every statement that is not a query, is where it was when the result was made);
//! - the query calls no external function and no engine function whose value may change
//!   between runs (`random`, `uuid`, `now`, `nextval`, … as the engine itself classifies them);
//! - the session is not inside its own transaction;
//! - the result is at most 24 hours old and small enough to keep
//!   ([`super::results::small_enough`]).
//!
//! A reused result answers under the new statement's query id, as in Snowflake.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::result::QueryResult;
use crate::sql::lexer::{lex, Tok};
use crate::sql::Ident;

/// How many results a session keeps for reuse.
const KEPT: usize = 16;
/// Snowflake purges persisted results after 24 hours.
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// What a result was made under: equal keys ask for the same result.
#[derive(PartialEq, Eq)]
pub(crate) struct Key {
    /// The statement as the client wrote it, and as the engine runs it.
    text: String,
    sql: String,
    database: Option<Ident>,
    schema: Option<Ident>,
    arrow: bool,
}

impl Key {
    pub(crate) fn new(text: &str, sql: &str, database: Option<&Ident>, schema: Option<&Ident>, arrow: bool) -> Key {
        Key { text: text.to_string(), sql: sql.to_string(), database: database.cloned(), schema: schema.cloned(), arrow }
    }
}

struct Entry {
    key: Key,
    generation: u64,
    made: Instant,
    result: QueryResult,
}

/// A session's reusable results, newest last.
#[derive(Default)]
pub(crate) struct Reusable {
    entries: VecDeque<Entry>,
    /// Statements answered with a kept result.
    pub(crate) hits: u64,
}

impl Reusable {
    /// The result kept for `key` if it was made at `generation` and is young enough.
    pub(crate) fn find(&mut self, key: &Key, generation: u64) -> Option<QueryResult> {
        self.entries.retain(|e| e.generation == generation && e.made.elapsed() < MAX_AGE);
        let found = self.entries.iter().find(|e| e.key == *key).map(|e| e.result.clone());
        self.hits += u64::from(found.is_some());
        found
    }

    /// Whether a result of `generation` is kept for statement text `text` (its other parts of
    /// the key not yet known), or for any text when `text` is `None`.
    pub(crate) fn holds(&self, text: Option<&str>, generation: u64) -> bool {
        self.entries.iter().any(|e| e.generation == generation && text.is_none_or(|t| e.key.text == t))
    }

    /// Keeps `result`, made at `generation`, for `key` (when small enough).
    pub(crate) fn keep(&mut self, key: Key, generation: u64, result: &QueryResult) {
        if !super::results::small_enough(result) {
            return;
        }
        self.entries.retain(|e| e.key != key);
        self.entries.push_back(Entry { key, generation, made: Instant::now(), result: result.clone() });
        if self.entries.len() > KEPT {
            self.entries.pop_front();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// The engine's functions whose value may differ between two runs of one query (stability
/// other than `CONSISTENT` in `duckdb_functions()`), lower-cased.
pub(crate) fn changing_functions(conn: &duckdb::Connection) -> Result<HashSet<String>, crate::WarehouseError> {
    let mut st = conn.prepare("SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE stability IS DISTINCT FROM 'CONSISTENT'")?;
    let names = st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<_, _>>()?;
    Ok(names)
}

/// Whether engine SQL `sql` names none of `changing` (any word counts, called or not: the
/// engine reads some, like `current_date`, without parentheses).
pub(crate) fn stable(sql: &str, changing: &HashSet<String>) -> bool {
    let Ok(toks) = lex(sql) else { return false };
    toks.iter().all(|t| match &t.tok {
        Tok::Word(w) | Tok::Quoted(w) => !changing.contains(&w.to_ascii_lowercase()),
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_results_are_found_by_key_and_generation() {
        let mut r = Reusable::default();
        let db = Ident::quoted("D");
        let result = QueryResult::table(&["A"], vec![vec![Some("1".into())]]);
        r.keep(Key::new("s", "SELECT 1", Some(&db), None, false), 7, &result);
        assert!(r.find(&Key::new("s", "SELECT 1", Some(&db), None, false), 7).is_some());
        assert!(r.find(&Key::new("s", "SELECT 1", None, None, false), 7).is_none(), "another database");
        assert!(r.find(&Key::new("s", "SELECT 1", Some(&db), None, true), 7).is_none(), "another form");
        assert!(r.find(&Key::new("s", "SELECT 2", Some(&db), None, false), 7).is_none());
        assert!(r.find(&Key::new("s", "SELECT 1", Some(&db), None, false), 8).is_none(), "after a change");
        assert!(r.entries.is_empty(), "results of an older generation are dropped");
        for i in 0..KEPT + 3 {
            r.keep(Key::new("s", &format!("SELECT {i}"), None, None, false), 1, &result);
        }
        assert_eq!(r.entries.len(), KEPT);
        assert!(r.find(&Key::new("s", "SELECT 0", None, None, false), 1).is_none(), "the oldest goes first");
        let big = QueryResult::table(&["A"], vec![vec![None]; crate::exec::results::MAX_KEPT_ROWS + 1]);
        r.keep(Key::new("s", "SELECT big", None, None, false), 1, &big);
        assert!(r.find(&Key::new("s", "SELECT big", None, None, false), 1).is_none());
    }

    #[test]
    fn any_word_naming_a_changing_function_makes_a_query_unstable() {
        let changing: HashSet<String> = ["random", "current_date"].into_iter().map(String::from).collect();
        assert!(stable("SELECT a, count(*) FROM t GROUP BY a", &changing));
        assert!(!stable("SELECT RANDOM() FROM t", &changing));
        assert!(!stable("SELECT a FROM t WHERE d < current_date", &changing));
        assert!(!stable("SELECT \"random\"()", &changing));
        assert!(stable("SELECT 'random()'", &changing), "a string is no call");
    }
}
