//! Quoted names match exactly. Snowflake folds unquoted names to upper case and compares names
//! exactly, so `"col"` does not name a column created as `Col` (stored `COL`); the engine
//! compares names case-insensitively and would read `COL`. A statement naming a column in
//! quotes, with a lower-case letter, that only such a case-insensitive match would find is
//! refused as Snowflake refuses it: `000904 invalid identifier`.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Query, Select, SelectItem, Statement, TableFactor, Visit, Visitor};

use super::access::Need;
use crate::session::Session;
use crate::sql::ObjectName;
use crate::WarehouseError;

/// Quoted column references with a lower-case letter, and every name the statement itself
/// gives a column (select aliases, column lists of table aliases and CTEs).
#[derive(Default)]
struct Names {
    quoted: Vec<String>,
    defined: HashSet<String>,
}

impl Visitor for Names {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        let last = match e {
            Expr::Identifier(i) => Some(i),
            Expr::CompoundIdentifier(parts) => parts.last(),
            _ => None,
        };
        if let Some(i) = last.filter(|i| i.quote_style == Some('"') && i.value.chars().any(char::is_lowercase)) {
            self.quoted.push(i.value.clone());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        for item in &s.projection {
            if let SelectItem::ExprWithAlias { alias, .. } = item {
                self.defined.insert(alias.value.clone());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if let Some(w) = &q.with {
            self.defined.extend(w.cte_tables.iter().flat_map(|c| c.alias.columns.iter().map(|c| c.name.value.clone())));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        let alias = match t {
            TableFactor::Table { alias, .. } | TableFactor::Derived { alias, .. } | TableFactor::Function { alias, .. } | TableFactor::TableFunction { alias, .. } | TableFactor::UNNEST { alias, .. } => alias.as_ref(),
            _ => None,
        };
        if let Some(a) = alias {
            self.defined.extend(a.columns.iter().map(|c| c.name.value.clone()));
        }
        ControlFlow::Continue(())
    }
}

impl Session {
    /// Refuses a quoted lower-case column name that names no column exactly but one of a
    /// table the statement reads if compared case-insensitively (see the module docs).
    pub(super) fn check_quoted_columns(&self, st: &Statement, refs: &[(ObjectName, Need)]) -> Result<(), WarehouseError> {
        let mut names = Names::default();
        let _ = st.visit(&mut names);
        let wanted: Vec<&String> = names.quoted.iter().filter(|q| !names.defined.contains(*q)).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut columns = HashSet::new();
        for (name, _) in refs {
            let Ok((d, s, n)) = name.qualify(self.database.as_ref(), self.schema.as_ref()) else { continue };
            let Some((db, schema, table)) = self.resolve_table(&d, &s, &n)? else { continue };
            let mut q = self.conn.prepare_cached("SELECT column_name FROM duckdb_columns() WHERE database_name = ?1 AND schema_name = ?2 AND table_name = ?3")?;
            let rows = q.query_map([db.as_str(), schema.as_str(), table.as_str()], |r| r.get::<_, String>(0))?;
            for c in rows {
                columns.insert(c?);
            }
        }
        for q in wanted {
            let inexact = columns.iter().any(|c| c.eq_ignore_ascii_case(q)) && !columns.contains(q);
            if inexact {
                return Err(WarehouseError::InvalidIdentifier(format!("\"{q}\"")));
            }
        }
        Ok(())
    }
}
