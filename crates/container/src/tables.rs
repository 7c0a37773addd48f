//! Warehouse tables as the training container sees them: the ratings it reads
//! (`input_table_name`) and the recommendations it writes (`output_table_name`), through a
//! warehouse's SQL API: recpipe's, with a short-lived token the control plane puts in the
//! environment, or any Snowflake account's, with key-pair authentication ([`Connection`]).
//!
//! Table names arrive as text in hyperparameters; they are parsed as SQL identifiers (one to
//! three parts, Snowflake's folding rules) and written back quoted, never spliced as given.

use recommender::Ratings;

use crate::auth::{AuthError, Credentials, KeyPairAuth};
use crate::sqlapi::{SqlApiError, SqlClient};

/// The SQL API's base URL (`http://127.0.0.1:4747`, `https://<account>.snowflakecomputing.com`).
pub const URL_ENV: &str = "RECPIPE_WAREHOUSE_URL";
/// A bearer token for it, valid for the job's lifetime.
pub const TOKEN_ENV: &str = "RECPIPE_WAREHOUSE_TOKEN";
/// `token` (the default: recpipe's bearer token) or `keypair` (Snowflake's key-pair JWT).
pub const AUTH_ENV: &str = "RECPIPE_WAREHOUSE_AUTH";
/// Key pair: the user, the account (default: the first label of the URL's host), the private
/// key as a PEM file or as PEM text, and optionally the role and warehouse statements run in.
pub const USER_ENV: &str = "RECPIPE_WAREHOUSE_USER";
pub const ACCOUNT_ENV: &str = "RECPIPE_WAREHOUSE_ACCOUNT";
pub const KEY_FILE_ENV: &str = "RECPIPE_WAREHOUSE_PRIVATE_KEY_FILE";
pub const KEY_ENV: &str = "RECPIPE_WAREHOUSE_PRIVATE_KEY";
pub const ROLE_ENV: &str = "RECPIPE_WAREHOUSE_ROLE";
pub const WAREHOUSE_ENV: &str = "RECPIPE_WAREHOUSE_WAREHOUSE";

/// Hyperparameters that override those variables, as a SageMaker job is configured: each is
/// the variable's name without `RECPIPE_` in lower case (`warehouse_url`, `warehouse_auth`,
/// `warehouse_user`, `warehouse_account`, `warehouse_private_key_file`, `warehouse_role`,
/// `warehouse_warehouse`). The private key itself is never a hyperparameter (they are shown by
/// DescribeTrainingJob, and hold at most 256 characters): only the path of its file.
pub const HYPERPARAMETERS: &[&str] = &[
    "warehouse_url",
    "warehouse_auth",
    "warehouse_user",
    "warehouse_account",
    "warehouse_private_key_file",
    "warehouse_role",
    "warehouse_warehouse",
];

/// Bytes of SQL text per INSERT statement when writing recommendations (Snowflake refuses
/// statements over 1 MB).
const INSERT_BYTES: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("connecting to the warehouse: {0}")]
    Auth(#[from] AuthError),
    #[error("connecting to the warehouse: {0}")]
    Connect(SqlApiError),
    #[error("table name {given:?}: {why}")]
    BadName { given: String, why: String },
    #[error("reading table {table}: {source}")]
    Read { table: String, source: SqlApiError },
    #[error("table {table}, row {row}: {why}")]
    BadRow { table: String, row: usize, why: String },
    #[error("table {table} has no rows to train on")]
    Empty { table: String },
    #[error("writing table {table}: {source}")]
    Write { table: String, source: SqlApiError },
}

/// A parsed table name: `TABLE`, `SCHEMA.TABLE` or `DB.SCHEMA.TABLE`, each part folded to upper
/// case unless double-quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub parts: Vec<String>,
}

impl TableName {
    pub fn parse(given: &str) -> Result<TableName, TableError> {
        let bad = |why: &str| TableError::BadName { given: given.to_string(), why: why.to_string() };
        let mut parts = Vec::new();
        let mut chars = given.trim().chars().peekable();
        loop {
            let mut part = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            part.push('"');
                        }
                        Some('"') => break,
                        Some(c) => part.push(c),
                        None => return Err(bad("a quoted part is not closed")),
                    }
                }
                if part.is_empty() {
                    return Err(bad("a quoted part is empty"));
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                        part.push(c.to_ascii_uppercase());
                        chars.next();
                    } else {
                        break;
                    }
                }
                match part.chars().next() {
                    None => return Err(bad("expected an identifier (letters, digits, _ and $, or a double-quoted name)")),
                    Some(c) if c.is_ascii_digit() || c == '$' => return Err(bad("an unquoted identifier must start with a letter or _")),
                    _ => {}
                }
            }
            parts.push(part);
            match chars.next() {
                None => break,
                Some('.') => continue,
                Some(c) => return Err(bad(&format!("unexpected {c:?}; a table name is up to three identifiers joined by dots"))),
            }
        }
        if parts.len() > 3 {
            return Err(bad("more than three parts (database.schema.table)"));
        }
        Ok(TableName { parts })
    }

    /// The name as SQL, every part quoted.
    pub fn sql(&self) -> String {
        self.parts.iter().map(|p| format!("\"{}\"", p.replace('"', "\"\""))).collect::<Vec<_>>().join(".")
    }

    /// A sibling table in the same database and schema.
    fn sibling(&self, name: &str) -> TableName {
        let mut parts = self.parts.clone();
        *parts.last_mut().expect("at least one part") = name.to_string();
        TableName { parts }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.parts.join("."))
    }
}

/// How to reach the warehouse, from hyperparameters first, then the environment.
pub struct Connection {
    settings: std::collections::BTreeMap<&'static str, String>,
}

impl Connection {
    /// The settings `hp` and the environment give; `None` when neither names a URL.
    pub fn from(hp: &std::collections::BTreeMap<String, String>) -> Option<Connection> {
        let vars = [URL_ENV, AUTH_ENV, USER_ENV, ACCOUNT_ENV, KEY_FILE_ENV, ROLE_ENV, WAREHOUSE_ENV];
        let mut settings = std::collections::BTreeMap::new();
        for var in vars {
            let key = var.trim_start_matches("RECPIPE_").to_lowercase();
            let value = hp.get(&key).cloned().or_else(|| std::env::var(var).ok()).filter(|v| !v.is_empty());
            if let Some(v) = value {
                settings.insert(var, v);
            }
        }
        settings.contains_key(URL_ENV).then_some(Connection { settings })
    }

    fn get(&self, var: &str) -> Option<&str> {
        self.settings.get(var).map(String::as_str)
    }

    /// A client with the configured credentials; statements run in the configured role and
    /// warehouse (else the user's defaults).
    pub fn connect(&self) -> Result<SqlClient, TableError> {
        let url = self.get(URL_ENV).unwrap_or_default();
        let creds = match self.get(AUTH_ENV).unwrap_or("token").to_ascii_lowercase().as_str() {
            "keypair" | "key_pair" | "snowflake_jwt" => {
                let user = self.get(USER_ENV).ok_or(AuthError::Missing("a user (RECPIPE_WAREHOUSE_USER or hyperparameter warehouse_user)"))?;
                let account = self.get(ACCOUNT_ENV).map(str::to_string).or_else(|| crate::auth::account_of_url(url)).ok_or(AuthError::Missing("an account (RECPIPE_WAREHOUSE_ACCOUNT)"))?;
                let (pem, source) = match (self.get(KEY_FILE_ENV), std::env::var(KEY_ENV).ok().filter(|k| !k.is_empty())) {
                    (Some(path), _) => (crate::auth::read_key_file(path)?, path.to_string()),
                    (None, Some(pem)) => (pem, KEY_ENV.to_string()),
                    (None, None) => return Err(AuthError::Missing("a private key (RECPIPE_WAREHOUSE_PRIVATE_KEY_FILE, hyperparameter warehouse_private_key_file, or RECPIPE_WAREHOUSE_PRIVATE_KEY)").into()),
                };
                let auth = KeyPairAuth::new(&account, user, &pem, &source)?;
                println!("warehouse: {url} as {} by key pair (public key {})", user.to_uppercase(), auth.fingerprint());
                Credentials::KeyPair(Box::new(auth))
            }
            "token" => Credentials::Token(std::env::var(TOKEN_ENV).unwrap_or_default()),
            other => return Err(AuthError::Missing(if other.is_empty() { "an authentication kind" } else { "RECPIPE_WAREHOUSE_AUTH to be token or keypair" }).into()),
        };
        let mut client = SqlClient::with_credentials(url, creds).map_err(TableError::Connect)?;
        let mut context = serde_json::Map::new();
        if let Some(r) = self.get(ROLE_ENV) {
            context.insert("role".into(), r.into());
        }
        if let Some(w) = self.get(WAREHOUSE_ENV) {
            // The client sends context names quoted, as the server spells them.
            let exact = w.strip_prefix('"').and_then(|w| w.strip_suffix('"')).map(str::to_string).unwrap_or_else(|| w.to_uppercase());
            context.insert("warehouse".into(), exact.into());
        }
        if !context.is_empty() {
            client.context = serde_json::Value::Object(context);
        }
        Ok(client)
    }
}

fn integral_f64(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

/// One numeric cell of an Arrow column, as an integer or a float.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i64),
    Float(f64),
}

/// Reads numeric cells of one Arrow column; any other column type is refused up front.
struct NumColumn<'a> {
    array: &'a dyn arrow_array::Array,
    read: fn(&dyn arrow_array::Array, usize) -> Num,
}

impl<'a> NumColumn<'a> {
    fn new(array: &'a dyn arrow_array::Array) -> Option<NumColumn<'a>> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::*;
        use arrow_schema::DataType as T;
        let read: fn(&dyn arrow_array::Array, usize) -> Num = match array.data_type() {
            T::Int8 => |a, i| Num::Int(a.as_primitive::<Int8Type>().value(i).into()),
            T::Int16 => |a, i| Num::Int(a.as_primitive::<Int16Type>().value(i).into()),
            T::Int32 => |a, i| Num::Int(a.as_primitive::<Int32Type>().value(i).into()),
            T::Int64 => |a, i| Num::Int(a.as_primitive::<Int64Type>().value(i)),
            T::UInt8 => |a, i| Num::Int(a.as_primitive::<UInt8Type>().value(i).into()),
            T::UInt16 => |a, i| Num::Int(a.as_primitive::<UInt16Type>().value(i).into()),
            T::UInt32 => |a, i| Num::Int(a.as_primitive::<UInt32Type>().value(i).into()),
            T::UInt64 => |a, i| i64::try_from(a.as_primitive::<UInt64Type>().value(i)).map_or(Num::Float(f64::NAN), Num::Int),
            T::Float32 => |a, i| Num::Float(a.as_primitive::<Float32Type>().value(i).into()),
            T::Float64 => |a, i| Num::Float(a.as_primitive::<Float64Type>().value(i)),
            T::Decimal128(_, scale) if *scale == 0 => |a, i| {
                i64::try_from(a.as_primitive::<Decimal128Type>().value(i)).map_or(Num::Float(f64::NAN), Num::Int)
            },
            T::Decimal128(_, _) => |a, i| {
                let T::Decimal128(_, scale) = a.data_type() else { unreachable!("checked above") };
                Num::Float(a.as_primitive::<Decimal128Type>().value(i) as f64 / 10f64.powi(i32::from(*scale)))
            },
            _ => return None,
        };
        Some(NumColumn { array, read })
    }

    fn get(&self, i: usize) -> Option<Num> {
        (!self.array.is_null(i)).then(|| (self.read)(self.array, i))
    }
}

/// `select userid, movieid, rating from <table>` into ratings: in the SQL API's Arrow form when
/// the server offers it (no value is rendered as text on the way), else from its JSON
/// partitions (Snowflake's).
pub fn read_ratings(client: &mut SqlClient, table: &TableName) -> Result<Ratings, TableError> {
    let sql = format!("select userid, movieid, rating from {}", table.sql());
    if !client.arrow_results() {
        let out = client.execute(&sql).map_err(|source| TableError::Read { table: table.to_string(), source })?;
        return ratings_from_text(table, &out.rows);
    }
    let out = client.query_arrow(&sql).map_err(|source| TableError::Read { table: table.to_string(), source })?;
    let total = out.batches.iter().map(|b| b.num_rows()).sum();
    let mut ratings = recommender::load::RatingsBuilder::with_capacity(total);
    let mut row = 0usize;
    for batch in &out.batches {
        if batch.num_columns() != 3 {
            return Err(TableError::BadRow { table: table.to_string(), row: row + 1, why: format!("expected 3 columns, got {}", batch.num_columns()) });
        }
        let mut cols = Vec::with_capacity(3);
        for (c, name) in ["USERID", "MOVIEID", "RATING"].into_iter().enumerate() {
            let array = batch.column(c).as_ref();
            let col = NumColumn::new(array).ok_or_else(|| TableError::BadRow {
                table: table.to_string(),
                row: row + 1,
                why: format!("{name} has type {}, not a number", array.data_type()),
            })?;
            cols.push(col);
        }
        for i in 0..batch.num_rows() {
            row += 1;
            let bad = |why: String| TableError::BadRow { table: table.to_string(), row, why };
            let cell = |c: usize, name: &str| cols[c].get(i).ok_or_else(|| bad(format!("{name} is null")));
            let id = |c: usize, name: &str| match cell(c, name)? {
                Num::Int(v) => Ok(v),
                Num::Float(v) => integral_f64(v).ok_or_else(|| bad(format!("{name} {v} is not an integer"))),
            };
            let (user, item) = (id(0, "USERID")?, id(1, "MOVIEID")?);
            let rating = match cell(2, "RATING")? {
                Num::Int(v) => v as f32,
                Num::Float(v) => v as f32,
            };
            if !rating.is_finite() {
                return Err(bad(format!("RATING {rating} is not a number")));
            }
            ratings.push(user, item, rating);
        }
    }
    if ratings.is_empty() {
        return Err(TableError::Empty { table: table.to_string() });
    }
    Ok(ratings.finish())
}

/// Ratings from rows of text (`USERID`, `MOVIEID`, `RATING` as the SQL API's JSON renders them).
fn ratings_from_text(table: &TableName, rows: &[Vec<Option<String>>]) -> Result<Ratings, TableError> {
    let mut ratings = recommender::load::RatingsBuilder::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let bad = |why: String| TableError::BadRow { table: table.to_string(), row: i + 1, why };
        if r.len() != 3 {
            return Err(bad(format!("expected 3 columns, got {}", r.len())));
        }
        let cell = |c: usize, name: &str| r[c].as_deref().ok_or_else(|| bad(format!("{name} is null")));
        let number = |c: usize, name: &str| -> Result<f64, TableError> {
            let text = cell(c, name)?;
            text.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| bad(format!("{name} {text:?} is not a number")))
        };
        let id = |c: usize, name: &str| -> Result<i64, TableError> {
            let v = number(c, name)?;
            integral_f64(v).ok_or_else(|| bad(format!("{name} {v} is not an integer")))
        };
        ratings.push(id(0, "USERID")?, id(1, "MOVIEID")?, number(2, "RATING")? as f32);
    }
    if ratings.is_empty() {
        return Err(TableError::Empty { table: table.to_string() });
    }
    Ok(ratings.finish())
}

/// Replaces the rows of `table` (`USERID int, TOP_10_RECOMMENDATIONS variant`, created if
/// missing) with `rows`: the rows go into a staging table first, then one transaction swaps them
/// in, so readers see either the old recommendations or all of the new ones.
pub fn write_recommendations(client: &mut SqlClient, table: &TableName, rows: &[(i64, Vec<i64>)], stage_suffix: &str) -> Result<(), TableError> {
    let werr = |source| TableError::Write { table: table.to_string(), source };
    let suffix: String = stage_suffix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    let stage = table.sibling(&format!("RECPIPE_STAGE_{suffix}"));
    let columns = "(userid int, top_10_recommendations variant)";
    client.execute(&format!("create table if not exists {} {columns}", table.sql())).map_err(werr)?;
    client.execute(&format!("create or replace table {} {columns}", stage.sql())).map_err(werr)?;
    let result = (|| {
        let head = format!("insert into {} select column1, parse_json(column2) from values ", stage.sql());
        let mut sql = String::new();
        for (user, items) in rows {
            use std::fmt::Write as _;
            if sql.is_empty() {
                sql.push_str(&head);
            } else {
                sql.push_str(", ");
            }
            let list: Vec<String> = items.iter().map(i64::to_string).collect();
            let _ = write!(sql, "({user}, '[{}]')", list.join(","));
            if sql.len() >= INSERT_BYTES {
                client.execute(&sql)?;
                sql.clear();
            }
        }
        if !sql.is_empty() {
            client.execute(&sql)?;
        }
        let (t, s) = (table.sql(), stage.sql());
        client.execute_many(
            &format!(
                "begin transaction; delete from {t}; insert into {t} (userid, top_10_recommendations) select userid, top_10_recommendations from {s}; commit"
            ),
            4,
        )
    })();
    let dropped = client.execute(&format!("drop table if exists {}", stage.sql()));
    result.map_err(werr)?;
    dropped.map_err(werr)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_and_quote() {
        let t = TableName::parse("MOVIELENS.PUBLIC.ratings_train_data").unwrap();
        assert_eq!(t.parts, ["MOVIELENS", "PUBLIC", "RATINGS_TRAIN_DATA"]);
        assert_eq!(t.sql(), r#""MOVIELENS"."PUBLIC"."RATINGS_TRAIN_DATA""#);
        let q = TableName::parse(r#"db."My ""odd"" table""#).unwrap();
        assert_eq!(q.parts, ["DB", r#"My "odd" table"#]);
        assert_eq!(q.sql(), r#""DB"."My ""odd"" table""#);
        assert_eq!(q.sibling("X").sql(), r#""DB"."X""#);
    }

    #[test]
    fn injection_and_junk_are_refused_by_name() {
        for (given, why) in [
            ("t; drop table x", "unexpected ';'"),
            ("a.b.c.d", "more than three parts"),
            ("", "expected an identifier"),
            ("1abc", "must start with a letter"),
            ("\"open", "not closed"),
            ("a..b", "expected an identifier"),
            ("\"\"", "quoted part is empty"),
        ] {
            let e = TableName::parse(given).unwrap_err().to_string();
            assert!(e.contains(why), "{given:?}: {e}");
        }
    }

    #[test]
    fn integral_accepts_whole_floats_only() {
        assert_eq!(integral_f64(42.0), Some(42));
        assert_eq!(integral_f64(42.5), None);
        assert_eq!(integral_f64(f64::NAN), None);
        assert_eq!(integral_f64(1e300), None);
    }

    #[test]
    fn numeric_arrow_columns_are_read_and_others_refused() {
        use arrow_array::{Decimal128Array, Float32Array, Int32Array, StringArray};
        let ints = Int32Array::from(vec![Some(7), None]);
        let c = NumColumn::new(&ints).unwrap();
        assert_eq!((c.get(0), c.get(1)), (Some(Num::Int(7)), None));
        let dec = Decimal128Array::from(vec![1234]).with_precision_and_scale(38, 0).unwrap();
        assert_eq!(NumColumn::new(&dec).unwrap().get(0), Some(Num::Int(1234)));
        let scaled = Decimal128Array::from(vec![45]).with_precision_and_scale(38, 1).unwrap();
        assert_eq!(NumColumn::new(&scaled).unwrap().get(0), Some(Num::Float(4.5)));
        let floats = Float32Array::from(vec![3.5]);
        assert_eq!(NumColumn::new(&floats).unwrap().get(0), Some(Num::Float(3.5)));
        assert!(NumColumn::new(&StringArray::from(vec!["1"])).is_none());
    }
}
