//! The session parameters recpipe has, with the values every session runs with: the login
//! response sends them to the drivers (which read their behaviour from them) and `SHOW
//! PARAMETERS` lists them. A session can change `USE_CACHED_RESULT` (`ALTER SESSION SET`); the
//! others are fixed (`ALTER SESSION SET QUERY_TAG` is accepted and labels nothing).

use serde_json::{json, Value};

/// A parameter's value type, as `SHOW PARAMETERS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Boolean,
    Number,
    String,
}

pub(crate) struct Parameter {
    pub name: &'static str,
    /// The value every recpipe session has.
    pub value: &'static str,
    /// Snowflake's default, where recpipe's value differs from it.
    pub default: &'static str,
    pub kind: Kind,
    pub description: &'static str,
}

const fn p(name: &'static str, value: &'static str, default: &'static str, kind: Kind, description: &'static str) -> Parameter {
    Parameter { name, value, default, kind, description }
}

pub(crate) const SESSION_PARAMETERS: &[Parameter] = &[
    p("AUTOCOMMIT", "true", "true", Kind::Boolean, "Each statement outside an explicit transaction commits on its own."),
    p("BINARY_OUTPUT_FORMAT", "HEX", "HEX", Kind::String, "How binary values are written as text."),
    p("CLIENT_PREFETCH_THREADS", "4", "4", Kind::Number, "Threads a driver uses to fetch result chunks."),
    p("CLIENT_RESULT_CHUNK_SIZE", "160", "160", Kind::Number, "Largest result chunk in MB a driver fetches."),
    p("CLIENT_SESSION_KEEP_ALIVE", "false", "false", Kind::Boolean, "Whether a driver keeps an idle session alive."),
    // Bound arrays stay inline in the request instead of being uploaded to a stage.
    p("CLIENT_STAGE_ARRAY_BINDING_THRESHOLD", "2147483647", "65280", Kind::Number, "Bound rows above which a driver uploads binds to a stage."),
    p("DATE_OUTPUT_FORMAT", "YYYY-MM-DD", "YYYY-MM-DD", Kind::String, "How DATE values are written as text."),
    p("QUERY_CONTEXT_CACHE_SIZE", "5", "5", Kind::Number, "Entries of the query context a driver keeps."),
    p("QUERY_TAG", "", "", Kind::String, "A label for the session's queries (accepted, not recorded)."),
    p("TIMESTAMP_LTZ_OUTPUT_FORMAT", "", "", Kind::String, "How TIMESTAMP_LTZ values are written (empty: TIMESTAMP_OUTPUT_FORMAT)."),
    p("TIMESTAMP_NTZ_OUTPUT_FORMAT", "YYYY-MM-DD HH24:MI:SS.FF3", "YYYY-MM-DD HH24:MI:SS.FF3", Kind::String, "How TIMESTAMP_NTZ values are written as text."),
    p("TIMESTAMP_OUTPUT_FORMAT", "YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM", "YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM", Kind::String, "How timestamps are written as text."),
    p("TIMESTAMP_TZ_OUTPUT_FORMAT", "", "", Kind::String, "How TIMESTAMP_TZ values are written (empty: TIMESTAMP_OUTPUT_FORMAT)."),
    p("TIMEZONE", "UTC", "America/Los_Angeles", Kind::String, "The session's time zone."),
    p("TIME_OUTPUT_FORMAT", "HH24:MI:SS", "HH24:MI:SS", Kind::String, "How TIME values are written as text."),
    p("USE_CACHED_RESULT", "true", "true", Kind::Boolean, "Whether a repeated query may get the session's earlier result for it."),
];

impl Parameter {
    /// The value as the login response carries it (booleans and numbers as JSON ones).
    pub fn json(&self) -> Value {
        match self.kind {
            Kind::Boolean => json!(self.value == "true"),
            Kind::Number => self.value.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(self.value)),
            Kind::String => json!(self.value),
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Boolean => "BOOLEAN",
            Kind::Number => "NUMBER",
            Kind::String => "STRING",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_their_types() {
        for p in SESSION_PARAMETERS {
            match p.kind {
                Kind::Boolean => assert!(p.json().is_boolean(), "{}", p.name),
                Kind::Number => assert!(p.json().is_i64(), "{}", p.name),
                Kind::String => assert!(p.json().is_string(), "{}", p.name),
            }
        }
        let names: Vec<&str> = SESSION_PARAMETERS.iter().map(|p| p.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "kept in name order, as SHOW PARAMETERS lists them");
    }
}
