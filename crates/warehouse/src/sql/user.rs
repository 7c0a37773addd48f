//! `CREATE USER`, `ALTER USER ... SET | UNSET`, `DESCRIBE USER`: the statements' shapes only
//! (which properties exist and what they mean is `exec::users`' business).

use super::ast::{CreateOpts, PropValue, Statement, UserAction};
use super::cursor::Cursor;
use super::lexer::Tok;
use crate::WarehouseError;

/// `KEY = value` pairs until the end of the statement.
fn props(c: &mut Cursor) -> Result<Vec<(String, PropValue)>, WarehouseError> {
    let mut out = Vec::new();
    while !c.at_end() {
        let key = c.ident()?.as_str().to_uppercase();
        c.expect_op("=")?;
        let value = match c.peek() {
            Some(Tok::Str(_)) => PropValue::Text(c.string()?),
            Some(Tok::Number(_)) => PropValue::Number(c.value()?),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => PropValue::Bool(c.boolean()?),
            _ => PropValue::Name(c.object_name()?),
        };
        out.push((key, value));
    }
    Ok(out)
}

/// After `CREATE [OR REPLACE] USER`.
pub(super) fn create_user(c: &mut Cursor, or_replace: bool) -> Result<Statement, WarehouseError> {
    let opts = CreateOpts { or_replace, if_not_exists: c.eat_seq(&["IF", "NOT", "EXISTS"]) };
    let name = c.ident()?;
    Ok(Statement::CreateUser { name, opts, props: props(c)? })
}

/// After `ALTER USER`.
pub(super) fn alter_user(c: &mut Cursor) -> Result<Statement, WarehouseError> {
    let if_exists = c.eat_seq(&["IF", "EXISTS"]);
    let name = c.ident()?;
    let action = if c.eat("SET") {
        UserAction::Set(props(c)?)
    } else if c.eat("UNSET") {
        let mut keys = vec![c.ident()?.as_str().to_uppercase()];
        while c.eat_op(",") {
            keys.push(c.ident()?.as_str().to_uppercase());
        }
        UserAction::Unset(keys)
    } else {
        let what = match c.peek() {
            Some(Tok::Word(w)) => w.to_uppercase(),
            _ => String::new(),
        };
        return Err(WarehouseError::Unsupported(format!("ALTER USER ... {what} (only SET and UNSET)")));
    };
    Ok(Statement::AlterUser { name, if_exists, action })
}

#[cfg(test)]
mod tests {
    use crate::sql::ast::{PropValue, Statement, UserAction};
    use crate::sql::{parse, split};

    fn one(sql: &str) -> Statement {
        parse(&split(sql).unwrap()[0].toks).unwrap()
    }

    #[test]
    fn user_statements_parse_their_properties() {
        let Statement::AlterUser { name, if_exists, action: UserAction::Set(p) } =
            one("alter user if exists svc set rsa_public_key = 'MIIB' disabled = TRUE default_namespace = movielens.\"Public\" default_role = sysadmin")
        else {
            panic!("not an alter user")
        };
        assert_eq!((name.as_str(), if_exists), ("SVC", true));
        assert_eq!(p[0], ("RSA_PUBLIC_KEY".into(), PropValue::Text("MIIB".into())));
        assert_eq!(p[1], ("DISABLED".into(), PropValue::Bool(true)));
        let PropValue::Name(ns) = &p[2].1 else { panic!("{p:?}") };
        assert_eq!(ns.0.iter().map(|i| i.as_str()).collect::<Vec<_>>(), ["MOVIELENS", "Public"]);
        assert_eq!(
            one("alter user svc unset rsa_public_key_2, default_warehouse"),
            Statement::AlterUser { name: crate::sql::Ident::unquoted("svc"), if_exists: false, action: UserAction::Unset(vec!["RSA_PUBLIC_KEY_2".into(), "DEFAULT_WAREHOUSE".into()]) }
        );
        assert!(matches!(one("desc user svc"), Statement::DescribeUser(n) if n.as_str() == "SVC"));
        let Statement::CreateUser { props, .. } = one("create user u password = 'pw-123456' default_role = analyst") else { panic!() };
        assert_eq!(props.len(), 2);
        assert!(parse(&split("alter user u rename to v").unwrap()[0].toks).unwrap_err().to_string().contains("unsupported"));
        assert!(parse(&split("alter user u set disabled").unwrap()[0].toks).is_err());
    }
}
