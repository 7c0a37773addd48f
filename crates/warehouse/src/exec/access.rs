//! Table privileges for the statements recpipe hands to DuckDB. Every table a statement names is
//! found in its text (after `FROM`, `JOIN`, `USING`, comma joins, and as the target of `INSERT`,
//! `UPDATE`, `DELETE`, `MERGE`, `TRUNCATE`, `CREATE`, `DROP`, `ALTER`), resolved the way the
//! engine resolves it (case-insensitively, against the session's database and schema), and
//! checked before anything runs. The system roles that administer objects (ACCOUNTADMIN,
//! SYSADMIN and the roles granted them) and a database's owner role may do anything; any other
//! role needs a grant (`SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE` on the table,
//! `CREATE TABLE` on the schema; dropping or altering needs ownership).

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::catalog::{ACCOUNTADMIN, SYSADMIN};
use crate::session::Session;
use crate::sql::lexer::{Tok, Token};
use crate::sql::rewrite::{dotted_name, match_parens};
use crate::sql::{Ident, ObjectName};
use crate::WarehouseError;

/// Words that end a table reference (so they are never taken for an alias).
const NOT_ALIAS: [&str; 40] = [
    "WHERE", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "ON", "USING", "GROUP", "ORDER", "LIMIT",
    "HAVING", "QUALIFY", "UNION", "EXCEPT", "INTERSECT", "MINUS", "WINDOW", "SAMPLE", "TABLESAMPLE", "AT", "BEFORE",
    "CHANGES", "MATCH_RECOGNIZE", "PIVOT", "UNPIVOT", "LATERAL", "SET", "VALUES", "OFFSET", "FETCH", "RETURNING",
    "POSITIONAL", "ASOF", "ANTI", "SEMI", "OUTER", "WHEN",
];

/// What a statement does to one named table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Privilege(&'static str),
    /// `CREATE TABLE` on the schema.
    Create,
    Ownership,
    /// Any privilege on the table (to see its definition).
    Any,
    /// A name a `WITH` clause defines: a table of that name needs `SELECT` all the same (the
    /// scanner does not know the clause's scope), a name of nothing is the clause's own.
    Shadowed,
}

/// The tables (as written) a statement reads or writes, with what each needs.
pub(super) fn table_refs(toks: &[Token]) -> Result<Vec<(ObjectName, Need)>, WarehouseError> {
    let parens = match_parens(toks)?;
    let mut out = Vec::new();
    let mut targets = HashSet::new();
    // A write target right after the statement's leading words.
    let kw = |i: usize, k: &str| toks.get(i).is_some_and(|t| t.tok.is_kw(k));
    let mut target = |at: usize, needs: &[Need], out: &mut Vec<(ObjectName, Need)>| {
        let mut at = at;
        while ["IF", "NOT", "EXISTS", "ONLY"].iter().any(|k| kw(at, k)) {
            at += 1;
        }
        if let Some((name, _)) = dotted_name(toks, at) {
            targets.insert(at);
            out.extend(needs.iter().map(|n| (name.clone(), *n)));
        }
    };
    let first = toks.first().map(|t| &t.tok);
    if first.is_some_and(|t| t.is_kw("INSERT")) {
        let into = (1..toks.len().min(4)).find(|&i| kw(i, "INTO")).unwrap_or(1);
        target(into + 1, &[Need::Privilege("INSERT")], &mut out);
    } else if first.is_some_and(|t| t.is_kw("UPDATE")) {
        target(1, &[Need::Privilege("UPDATE")], &mut out);
    } else if first.is_some_and(|t| t.is_kw("DELETE")) && kw(1, "FROM") {
        target(2, &[Need::Privilege("DELETE")], &mut out);
    } else if first.is_some_and(|t| t.is_kw("MERGE")) && kw(1, "INTO") {
        target(2, &[Need::Privilege("INSERT"), Need::Privilege("UPDATE"), Need::Privilege("DELETE")], &mut out);
    } else if first.is_some_and(|t| t.is_kw("TRUNCATE")) {
        target(if kw(1, "TABLE") { 2 } else { 1 }, &[Need::Privilege("TRUNCATE")], &mut out);
    } else if first.is_some_and(|t| t.is_kw("CREATE") || t.is_kw("DROP") || t.is_kw("ALTER")) {
        if let Some(k) = (1..toks.len().min(6)).find(|&i| kw(i, "TABLE") || kw(i, "VIEW")) {
            let need = if first.is_some_and(|t| t.is_kw("CREATE")) { Need::Create } else { Need::Ownership };
            target(k + 1, &[need], &mut out);
            // `create or replace` replaces an existing table: its owner's right.
            if need == Need::Create && kw(1, "OR") {
                target(k + 1, &[Need::Ownership], &mut out);
            }
        }
    }

    // Names that a WITH clause defines shadow tables of the same one-part name.
    let mut ctes = HashSet::new();
    if toks.iter().any(|t| t.tok.is_kw("WITH")) {
        for i in 0..toks.len().saturating_sub(2) {
            if let Some(id) = Ident::from_tok(&toks[i].tok) {
                let mut j = i + 1;
                if toks[j].tok.is_op("(") {
                    j = parens.get(&j).map_or(j, |c| c + 1);
                }
                if kw(j, "AS") && toks.get(j + 1).is_some_and(|t| t.tok.is_op("(")) {
                    ctes.insert(id);
                }
            }
        }
    }

    // `extract(year from ts)`, `trim(both 'x' from s)`: FROM inside these calls names no table.
    let mut enclosing: Vec<usize> = Vec::new();
    let mut in_call_from = vec![false; toks.len()];
    for (i, t) in toks.iter().enumerate() {
        if t.tok.is_op("(") {
            enclosing.push(i);
        } else if t.tok.is_op(")") {
            enclosing.pop();
        } else if t.tok.is_kw("FROM") {
            let callee = enclosing.last().and_then(|&o| o.checked_sub(1)).map(|f| &toks[f].tok);
            in_call_from[i] = callee.is_some_and(|c| ["EXTRACT", "TRIM", "SUBSTRING", "OVERLAY", "POSITION"].iter().any(|k| c.is_kw(k)));
        }
    }
    for (i, t) in toks.iter().enumerate() {
        if !(t.tok.is_kw("FROM") || t.tok.is_kw("JOIN") || t.tok.is_kw("USING")) || in_call_from[i] {
            continue;
        }
        let mut j = i + 1;
        loop {
            if kw(j, "LATERAL") || kw(j, "ONLY") {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| t.tok.is_op("(")) {
                // A subquery: its own FROMs are visited by this loop.
                j = parens.get(&j).map_or(toks.len(), |c| c + 1);
            } else if let Some((name, end)) = dotted_name(toks, j) {
                if toks.get(end).is_some_and(|t| t.tok.is_op("(")) {
                    j = parens.get(&end).map_or(toks.len(), |c| c + 1); // a table function
                } else {
                    let cte = name.0.len() == 1 && ctes.contains(&name.0[0]);
                    if !targets.contains(&j) {
                        out.push((name, if cte { Need::Shadowed } else { Need::Privilege("SELECT") }));
                    }
                    j = end;
                }
            } else {
                break;
            }
            // An alias, with or without AS, maybe with column names.
            if kw(j, "AS") {
                j += 2;
            } else if matches!(toks.get(j).map(|t| &t.tok), Some(Tok::Word(w)) if !NOT_ALIAS.iter().any(|k| w.eq_ignore_ascii_case(k)))
                || matches!(toks.get(j).map(|t| &t.tok), Some(Tok::Quoted(_)))
            {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| t.tok.is_op("(")) && !kw(j.wrapping_sub(1), "USING") {
                j = parens.get(&j).map_or(toks.len(), |c| c + 1);
            }
            if toks.get(j).is_some_and(|t| t.tok.is_op(",")) {
                j += 1;
            } else {
                break;
            }
        }
    }
    Ok(out)
}

impl Session {
    /// Refuses the statement unless the current role may do what it does to every table it
    /// names. Names that resolve to no table are left to the engine (it reports them). Returns
    /// the existing tables the statement drops, replaces or renames (`D.S.T`): their grants go
    /// once it has run, so a new table of the same name starts without them.
    pub(super) fn check_table_access(&self, toks: &[Token]) -> Result<Vec<String>, WarehouseError> {
        let refs = table_refs(toks)?;
        let mut replaced = Vec::new();
        let ends_grants = toks.first().is_some_and(|t| !t.tok.is_kw("ALTER")) || toks.iter().any(|t| t.tok.is_kw("RENAME"));
        for (name, need) in &refs {
            if *need == Need::Ownership && ends_grants {
                if let Ok((d, s, n)) = name.qualify(self.database.as_ref(), self.schema.as_ref()) {
                    if let Some((db, schema, table)) = self.resolve_table(&d, &s, &n)? {
                        replaced.push(format!("{db}.{schema}.{table}"));
                    }
                }
            }
        }
        self.require_tables(&refs)?;
        Ok(replaced)
    }

    /// `DESCRIBE TABLE` and the like: the current role must hold some privilege on the table.
    pub(super) fn require_table_visible(&self, name: &ObjectName) -> Result<(), WarehouseError> {
        self.require_tables(&[(name.clone(), Need::Any)])
    }

    fn require_tables(&self, refs: &[(ObjectName, Need)]) -> Result<(), WarehouseError> {
        if refs.is_empty() {
            return Ok(());
        }
        // The engine's own catalog views and files: no role reads them, however named.
        for (name, _) in refs.iter().filter(|(_, need)| matches!(need, Need::Privilege("SELECT") | Need::Shadowed | Need::Any)) {
            let qualified = name.qualify(self.database.as_ref(), self.schema.as_ref());
            let resolved = match &qualified {
                Ok((d, s, n)) => self.resolve_table(d, s, n)?.is_some(),
                Err(_) => false,
            };
            if !resolved && self.reaches_engine_internals(name)? {
                let shown = qualified.map_or_else(|_| name.to_string(), |(d, s, n)| format!("{d}.{s}.{n}"));
                return Err(WarehouseError::not_found("Object", shown));
            }
        }
        let roles = self.effective_roles()?;
        if roles.contains(ACCOUNTADMIN) || roles.contains(SYSADMIN) {
            return Ok(());
        }
        let owners: HashMap<String, String> = self.wh.catalog().databases()?.into_iter().map(|d| (d.0, d.2)).collect();
        for (name, need) in refs {
            let Ok((d, s, n)) = name.qualify(self.database.as_ref(), self.schema.as_ref()) else { continue };
            let owner = |db: &str| owners.get(db).is_some_and(|o| roles.contains(o));
            if *need == Need::Create {
                if let Some((db, schema)) = self.resolve_schema(&d, &s)? {
                    if !owner(&db) && !self.has(&roles, "CREATE TABLE", "SCHEMA", &format!("{db}.{schema}"))? {
                        return Err(WarehouseError::Insufficient { kind: "schema", name: format!("{db}.{schema}") });
                    }
                }
                continue;
            }
            let Some((db, schema, table)) = self.resolve_table(&d, &s, &n)? else { continue };
            if owner(&db) {
                continue;
            }
            let key = format!("{db}.{schema}.{table}");
            let holds = |p: &str| -> Result<bool, WarehouseError> { Ok(self.has(&roles, p, "TABLE", &key)? || self.has(&roles, p, "VIEW", &key)?) };
            let anything = || ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"].iter().try_fold(false, |acc, p| Ok::<_, WarehouseError>(acc || holds(p)?));
            let allowed = match need {
                Need::Privilege(p) => holds(p)?,
                Need::Shadowed => holds("SELECT")?,
                Need::Any => anything()?,
                Need::Ownership | Need::Create => false,
            };
            if !allowed {
                return Err(if anything()? {
                    WarehouseError::Insufficient { kind: "table", name: key }
                } else {
                    WarehouseError::not_found("Object", key)
                });
            }
        }
        Ok(())
    }

    /// Whether the current role sees every object of database `db` (a system role or its owner).
    pub(super) fn sees_whole_database(&self, db: &str) -> Result<bool, WarehouseError> {
        let roles = self.effective_roles()?;
        if roles.contains(ACCOUNTADMIN) || roles.contains(SYSADMIN) {
            return Ok(true);
        }
        Ok(self.wh.catalog().databases()?.into_iter().any(|d| d.0.eq_ignore_ascii_case(db) && roles.contains(&d.2)))
    }

    fn has(&self, roles: &BTreeSet<String>, privilege: &str, kind: &str, key: &str) -> Result<bool, WarehouseError> {
        self.wh.catalog().has_privilege(roles, privilege, kind, key)
    }

    /// The table or view the engine would read for `d.s.n` (names match case-insensitively
    /// there), as the catalog spells it.
    pub(super) fn resolve_table(&self, d: &Ident, s: &Ident, n: &Ident) -> Result<Option<(String, String, String)>, WarehouseError> {
        let mut st = self.conn.prepare(
            "SELECT database_name, schema_name, table_name FROM duckdb_tables() WHERE lower(database_name) = lower(?1) AND lower(schema_name) = lower(?2) AND lower(table_name) = lower(?3) \
             UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal AND lower(database_name) = lower(?1) AND lower(schema_name) = lower(?2) AND lower(view_name) = lower(?3)",
        )?;
        let mut rows = st.query([d.as_str(), s.as_str(), n.as_str()])?;
        Ok(match rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
            None => None,
        })
    }

    fn resolve_schema(&self, d: &Ident, s: &Ident) -> Result<Option<(String, String)>, WarehouseError> {
        let mut st = self.conn.prepare("SELECT database_name, schema_name FROM duckdb_schemas() WHERE lower(database_name) = lower(?1) AND lower(schema_name) = lower(?2)")?;
        let mut rows = st.query([d.as_str(), s.as_str()])?;
        Ok(match rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?)),
            None => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(sql: &str) -> Vec<(String, Need)> {
        let toks = crate::sql::lexer::lex(sql).unwrap();
        table_refs(&toks).unwrap().into_iter().map(|(n, need)| (n.to_string(), need)).collect()
    }

    const SEL: Need = Need::Privilege("SELECT");

    #[test]
    fn reads_are_found_everywhere_a_table_can_be_named() {
        assert_eq!(
            refs("select * from ratings r, movies as m join db.s.links l on l.id = m.id where r.x in (select y from other)"),
            vec![("RATINGS".into(), SEL), ("MOVIES".into(), SEL), ("DB.S.LINKS".into(), SEL), ("OTHER".into(), SEL)]
        );
        assert_eq!(refs("select * from range(10) t(i), (select 1) x, \"Quoted\""), vec![("Quoted".into(), SEL)]);
        assert_eq!(
            refs("with r as (select * from ratings), s (a) as (select 1) select * from r join s using (a)"),
            vec![("RATINGS".into(), SEL), ("R".into(), Need::Shadowed), ("S".into(), Need::Shadowed)]
        );
        assert_eq!(refs("select 1"), vec![]);
        assert_eq!(refs("select extract(year from ts), trim(both 'x' from s) from t"), vec![("T".into(), SEL)]);
    }

    #[test]
    fn write_targets_need_their_privilege() {
        assert_eq!(refs("insert into t select * from u"), vec![("T".into(), Need::Privilege("INSERT")), ("U".into(), SEL)]);
        assert_eq!(refs("delete from t where a in (select a from u)"), vec![("T".into(), Need::Privilege("DELETE")), ("U".into(), SEL)]);
        assert_eq!(refs("update t set a = 1"), vec![("T".into(), Need::Privilege("UPDATE"))]);
        assert_eq!(refs("truncate table if exists t"), vec![("T".into(), Need::Privilege("TRUNCATE"))]);
        assert_eq!(refs("create table t as (select * from u)"), vec![("T".into(), Need::Create), ("U".into(), SEL)]);
        assert_eq!(refs("create or replace table t (a int)"), vec![("T".into(), Need::Create), ("T".into(), Need::Ownership)]);
        assert_eq!(refs("drop table if exists d.s.t"), vec![("D.S.T".into(), Need::Ownership)]);
        assert_eq!(refs("alter table t rename to u"), vec![("T".into(), Need::Ownership)]);
    }
}
