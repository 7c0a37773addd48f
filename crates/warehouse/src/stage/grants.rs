//! `GRANT | REVOKE <privileges> ON STAGE | FILE FORMAT <name> TO | FROM [ROLE] <role>` and
//! `SHOW GRANTS ON STAGE | FILE FORMAT <name>`. An internal stage takes READ (list, get, copy
//! from, query) and WRITE (put, remove, copy into; only once READ is held); an external stage
//! USAGE; a file format USAGE. `ALL [PRIVILEGES]` is the kind's full set. The grants live in the
//! catalog's `grants` table under the object's `DB.SCHEMA.NAME`, beside those of tables.

use crate::catalog::{ACCOUNTADMIN, SECURITYADMIN};
use crate::result::QueryResult;
use crate::session::Session;
use crate::sql::lexer::{Tok, Token};
use crate::sql::{Ident, ObjectName};
use crate::WarehouseError;

use super::objects::{FILE_FORMAT, STAGE};
use super::{name_at, word};

/// A grant or revoke of privileges on a stage or file format.
#[derive(Debug, PartialEq)]
pub(crate) struct StageGrant {
    pub privileges: Vec<String>,
    pub kind: &'static str,
    pub name: ObjectName,
    pub role: Ident,
    pub revoke: bool,
}

/// The object kind at `toks[i]` (`STAGE` or `FILE FORMAT`) and the index after it.
fn kind_at(toks: &[Token], i: usize) -> Option<(&'static str, usize)> {
    match (word(toks, i).as_str(), word(toks, i + 1).as_str()) {
        ("STAGE", _) => Some((STAGE, i + 1)),
        ("FILE", "FORMAT") => Some((FILE_FORMAT, i + 2)),
        _ => None,
    }
}

/// `GRANT ... ON STAGE|FILE FORMAT ...` (or `REVOKE`), if `toks` is one; other grants are not ours.
pub(crate) fn grant(toks: &[Token]) -> Result<Option<StageGrant>, WarehouseError> {
    let revoke = match word(toks, 0).as_str() {
        "GRANT" => false,
        "REVOKE" => true,
        _ => return Ok(None),
    };
    let Some(on) = toks.iter().position(|t| t.tok.is_kw("ON")) else { return Ok(None) };
    let Some((kind, mut i)) = kind_at(toks, on + 1) else { return Ok(None) };
    let mut privileges = Vec::new();
    for t in &toks[1..on] {
        match &t.tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("PRIVILEGES") && privileges.last().is_some_and(|p| p == "ALL") => {}
            Tok::Word(w) => privileges.push(w.to_uppercase()),
            Tok::Op(o) if o == "," => {}
            _ => return Err(WarehouseError::Syntax("a privilege is expected after GRANT".into())),
        }
    }
    if privileges.is_empty() {
        return Err(WarehouseError::Syntax("a privilege is expected after GRANT".into()));
    }
    let (name, _) = name_at(toks, &mut i)?;
    let to = if revoke { "FROM" } else { "TO" };
    if word(toks, i) != to {
        return Err(WarehouseError::Syntax(format!("{to} is expected after the {} name", kind.to_lowercase())));
    }
    i += 1;
    match word(toks, i).as_str() {
        "ROLE" => i += 1,
        "SHARE" | "USER" => return Err(WarehouseError::Unsupported(format!("privileges on a {} granted to a {}", kind.to_lowercase(), word(toks, i).to_lowercase()))),
        _ => {}
    }
    let role = toks.get(i).and_then(|t| Ident::from_tok(&t.tok)).ok_or_else(|| WarehouseError::Syntax("a role name is expected".into()))?;
    i += 1;
    if word(toks, i) == "WITH" || word(toks, i) == "CASCADE" || word(toks, i) == "RESTRICT" {
        i = toks.len();
    }
    if let Some(t) = toks.get(i) {
        return Err(WarehouseError::Syntax(format!("unexpected '{}' after the role", super::syntax::render(std::slice::from_ref(t)))));
    }
    Ok(Some(StageGrant { privileges, kind, name, role, revoke }))
}

/// `SHOW GRANTS ON STAGE|FILE FORMAT name`, if `toks` is one.
pub(crate) fn show_grants_on(toks: &[Token]) -> Result<Option<(&'static str, ObjectName)>, WarehouseError> {
    if word(toks, 0) != "SHOW" || word(toks, 1) != "GRANTS" || word(toks, 2) != "ON" {
        return Ok(None);
    }
    let Some((kind, mut i)) = kind_at(toks, 3) else { return Ok(None) };
    let (name, _) = name_at(toks, &mut i)?;
    Ok(Some((kind, name)))
}

/// The catalog's kind for grants on `kind`.
fn grant_kind(kind: &str) -> &'static str {
    if kind == STAGE {
        "STAGE"
    } else {
        "FILE_FORMAT"
    }
}

impl Session {
    pub(crate) fn grant_on_stage(&mut self, g: StageGrant) -> Result<QueryResult, WarehouseError> {
        let cat = self.wh.catalog();
        if !cat.role_exists(g.role.as_str())? {
            return Err(WarehouseError::not_found("Role", g.role.as_str()));
        }
        let o = self.usable_object(g.kind, &g.name)?;
        let roles = self.effective_roles()?;
        if !(roles.contains(ACCOUNTADMIN) || roles.contains(SECURITYADMIN) || roles.contains(&o.owner)) {
            return Err(WarehouseError::Insufficient { kind: if g.kind == STAGE { "stage" } else { "file format" }, name: o.key() });
        }
        let allowed: &[&str] = match (g.kind, o.external().is_some()) {
            (STAGE, false) => &["READ", "WRITE"],
            _ => &["USAGE"],
        };
        let mut privileges = Vec::new();
        for p in &g.privileges {
            match p.as_str() {
                "ALL" => privileges.extend(allowed.iter().map(|a| a.to_string())),
                "OWNERSHIP" => return Err(WarehouseError::Unsupported(format!("transferring the ownership of a {}", g.kind.to_lowercase()))),
                p if allowed.contains(&p) => privileges.push(p.to_string()),
                p => {
                    let what = match (g.kind, o.external().is_some()) {
                        (STAGE, false) => "an internal stage (READ, WRITE)",
                        (STAGE, true) => "an external stage (USAGE)",
                        _ => "a file format (USAGE)",
                    };
                    return Err(WarehouseError::Invalid(format!("Invalid privilege {p} on {what}")));
                }
            }
        }
        let kind = grant_kind(g.kind);
        let key = o.key();
        if g.revoke {
            // Without READ a role cannot hold WRITE: revoking READ takes WRITE with it.
            if privileges.iter().any(|p| p == "READ") && !privileges.iter().any(|p| p == "WRITE") && allowed.contains(&"WRITE") {
                privileges.push("WRITE".into());
            }
            for p in &privileges {
                cat.revoke(p, kind, &key, g.role.as_str())?;
            }
        } else {
            let holds_read = cat.has_privilege(&[g.role.as_str().to_string()].into_iter().collect(), "READ", kind, &key)?;
            if privileges.iter().any(|p| p == "WRITE") && !privileges.iter().any(|p| p == "READ") && !holds_read {
                return Err(WarehouseError::Invalid(format!(
                    "WRITE on stage '{key}' is granted to a role that holds READ on it: grant READ to role {} first",
                    g.role
                )));
            }
            for p in &privileges {
                cat.grant(p, kind, &key, g.role.as_str(), &self.role)?;
            }
        }
        Ok(QueryResult::status("Statement executed successfully."))
    }

    /// `SHOW GRANTS ON STAGE|FILE FORMAT name`: its owner's OWNERSHIP, then the grants on it.
    pub(crate) fn show_grants_on_stage(&mut self, kind: &'static str, name: &ObjectName) -> Result<QueryResult, WarehouseError> {
        let o = self.usable_object(kind, name)?;
        let gk = grant_kind(kind);
        let s = |v: String| Some(v);
        let mut rows = vec![vec![
            s(crate::exec::show_ts(o.created)),
            s("OWNERSHIP".into()),
            s(gk.into()),
            s(o.key()),
            s("ROLE".into()),
            s(o.owner.clone()),
            s("true".into()),
            s(o.owner.clone()),
        ]];
        for g in self.wh.catalog().grants(None, Some((gk, &o.key())))? {
            rows.push(vec![s(crate::exec::show_ts(g.created)), s(g.privilege), s(g.kind), s(g.object), s("ROLE".into()), s(g.grantee), s("false".into()), s(g.granted_by)]);
        }
        Ok(QueryResult::table(&["created_on", "privilege", "granted_on", "name", "granted_to", "grantee_name", "grant_option", "granted_by"], rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::lexer::lex;

    #[test]
    fn grants_on_stages_parse_and_others_pass_by() {
        let g = grant(&lex("grant read, write on stage db.s.st to role loader").unwrap()).unwrap().unwrap();
        assert_eq!(g.privileges, ["READ", "WRITE"]);
        assert_eq!((g.kind, g.name.to_string().as_str(), g.role.as_str(), g.revoke), (STAGE, "DB.S.ST", "LOADER", false));
        let g = grant(&lex("revoke all privileges on stage st from loader").unwrap()).unwrap().unwrap();
        assert_eq!((g.privileges.as_slice(), g.revoke), (["ALL".to_string()].as_slice(), true));
        let g = grant(&lex("grant usage on file format ff to role r").unwrap()).unwrap().unwrap();
        assert_eq!(g.kind, FILE_FORMAT);
        assert!(grant(&lex("grant select on table t to role r").unwrap()).unwrap().is_none());
        assert!(grant(&lex("grant role r to user u").unwrap()).unwrap().is_none());
        assert!(grant(&lex("grant read on stage st to role r extra").unwrap()).is_err());
        assert!(grant(&lex("grant read on stage st").unwrap()).is_err());
        let (kind, name) = show_grants_on(&lex("show grants on stage s.st").unwrap()).unwrap().unwrap();
        assert_eq!((kind, name.to_string().as_str()), (STAGE, "S.ST"));
        assert!(show_grants_on(&lex("show grants on table t").unwrap()).unwrap().is_none());
    }
}
