//! `recpipe sql`: a SnowSQL-like client of the server's SQL API. Interactive (line editing,
//! history, multi-line until `;`), or `-f FILE` / `-q "SQL"`, with `--var NAME=VALUE` for
//! `${NAME}`; results as tables, JSON or CSV. In a script, a failed statement prints the
//! statement and the message and ends the run with a non-zero exit.
//!
//! Several statements give several results: tables each end with their row-count footer, CSV
//! blocks (header line, then rows) each end with an empty line, and JSON is one document (an
//! array of row objects) per statement, one per line.

pub mod client;
pub mod login;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use crate::sql::client::{Outcome, SqlClient, SqlServerArgs};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Args)]
pub struct SqlArgs {
    #[command(flatten)]
    server: SqlServerArgs,
    /// Run the statements of this file.
    #[arg(short = 'f', long = "filename")]
    file: Option<PathBuf>,
    /// Run these statements.
    #[arg(short = 'q', long = "query")]
    query: Option<String>,
    /// `NAME=VALUE` for `${NAME}` placeholders (repeatable).
    #[arg(long = "var", short = 'D', value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// table: boxes with a row-count footer; csv: one block per statement, each followed by an
    /// empty line; json: one JSON array of row objects per statement, one per line.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Run only the statements after the file's `-- step: NAME` comment, up to the next step.
    #[arg(long, requires = "file")]
    step: Option<String>,
    /// Carry the session (role, database, schema, warehouse) over from the previous
    /// `recpipe sql --session` run in this data directory, and keep it for the next.
    #[arg(long)]
    session: bool,
}

/// The statements of step `name` of a script marked with `-- step: NAME` comments.
pub fn step_text(script: &str, name: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut inside = false;
    let mut found = false;
    for line in script.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("-- step:") {
            let this = rest.split_whitespace().next().unwrap_or("");
            inside = this == name;
            found |= inside;
            continue;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !found {
        bail!("the script has no '-- step: {name}' section");
    }
    Ok(out)
}

fn session_file(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("sql-session.json")
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.trim().to_string(), v.to_string())).ok_or_else(|| format!("'{s}' is not NAME=VALUE"))
}

/// Replaces `${NAME}`; an unknown name is an error naming it.
pub fn substitute(text: &str, vars: &HashMap<String, String>) -> anyhow::Result<String> {
    // Comments are copied as they are, so they may mention ${NAME} freely; placeholders in
    // string literals and in the SQL itself are filled.
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut in_string = false;
    while !rest.is_empty() {
        if !in_string && rest.starts_with("--") {
            let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if !in_string && rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |i| i + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if rest.starts_with("${") {
            let end = rest.find('}').with_context(|| format!("unterminated placeholder at '{}'", &rest[..rest.len().min(20)]))?;
            let name = &rest[2..end];
            match vars.get(name) {
                Some(v) => out.push_str(v),
                None => bail!("variable ${{{name}}} is not defined (pass --var {name}=VALUE)"),
            }
            rest = &rest[end + 1..];
        } else {
            let c = rest.chars().next().expect("not empty");
            if c == '\'' {
                in_string = !in_string;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(out)
}

/// SQL API values rendered for people: epoch timestamps and day-number dates as text.
fn display(value: &Option<String>, ty: &str) -> String {
    let Some(v) = value else { return "NULL".into() };
    match ty {
        "timestamp_ntz" | "timestamp_ltz" | "timestamp_tz" => {
            let (s, frac) = v.split_once('.').unwrap_or((v, "0"));
            match s.parse::<i64>().ok().and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok()) {
                Some(t) => format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:.3}",
                    t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second(), format!("{frac:0<3}")
                ),
                None => v.clone(),
            }
        }
        "date" => match v.parse::<i64>().ok().and_then(|d| time::OffsetDateTime::from_unix_timestamp(d * 86_400).ok()) {
            Some(t) => t.date().to_string(),
            None => v.clone(),
        },
        _ => v.clone(),
    }
}

/// One CSV field (RFC 4180 quoting). An empty string is written `""`, so a row holding one empty
/// value is never an empty line: empty lines separate statements.
fn csv_field(s: &str) -> String {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn render(o: &Outcome, format: Format) -> String {
    let cells: Vec<Vec<String>> = o.rows.iter().map(|r| r.iter().zip(&o.columns).map(|(v, (_, t))| display(v, t)).collect()).collect();
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = o
                .rows
                .iter()
                .map(|r| serde_json::Value::Object(o.columns.iter().zip(r).map(|((n, t), v)| (n.clone(), v.as_ref().map(|_| display(v, t)).into())).collect()))
                .collect();
            serde_json::Value::Array(rows).to_string()
        }
        Format::Csv => {
            let mut s = o.columns.iter().map(|(n, _)| csv_field(n)).collect::<Vec<_>>().join(",");
            for r in &cells {
                s.push('\n');
                s.push_str(&r.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
            }
            s
        }
        Format::Table => {
            let mut w: Vec<usize> = o.columns.iter().map(|(n, _)| n.chars().count()).collect();
            for r in &cells {
                for (i, c) in r.iter().enumerate() {
                    w[i] = w[i].max(c.chars().count());
                }
            }
            let line = |l: char, m: char, r: char| format!("{l}{}{r}", w.iter().map(|n| "-".repeat(n + 2)).collect::<Vec<_>>().join(&m.to_string()));
            let row = |vals: Vec<&str>, nums: &[bool]| {
                let cells: Vec<String> = vals
                    .iter()
                    .enumerate()
                    .map(|(i, v)| if nums[i] { format!(" {v:>width$} ", width = w[i]) } else { format!(" {v:<width$} ", width = w[i]) })
                    .collect();
                format!("|{}|", cells.join("|"))
            };
            let numeric: Vec<bool> = o.columns.iter().map(|(_, t)| t == "fixed" || t == "real").collect();
            let mut s = vec![line('+', '-', '+'), row(o.columns.iter().map(|(n, _)| n.as_str()).collect(), &vec![false; w.len()]), line('|', '+', '|')];
            for r in &cells {
                s.push(row(r.iter().map(String::as_str).collect(), &numeric));
            }
            s.push(line('+', '-', '+'));
            s.join("\n")
        }
    }
}

/// The line under a table: how many rows the statement produced (and how many are shown when
/// not all are) and how long it took, as SnowSQL words it.
pub fn footer(rows: usize, shown: usize, elapsed: std::time::Duration) -> String {
    let shown = if shown < rows { format!(" ({shown} shown)") } else { String::new() };
    format!("{rows} Row(s) produced{shown}. Time Elapsed: {:.3}s", elapsed.as_secs_f64())
}

/// Runs one statement and prints its result: a table with its footer; a CSV block followed by an
/// empty line (so consecutive results stay apart); a JSON array of row objects on one line.
fn run_statement(client: &mut SqlClient, st: &str, format: Format) -> anyhow::Result<()> {
    let t = Instant::now();
    let o = client.execute(st)?;
    println!("{}", render(&o, format));
    match format {
        Format::Table => println!("{}", footer(o.rows.len(), o.rows.len(), t.elapsed())),
        Format::Csv => println!(),
        Format::Json => {}
    }
    Ok(())
}

pub fn run(a: SqlArgs) -> anyhow::Result<()> {
    let mut vars: HashMap<String, String> = a.vars.into_iter().collect();
    let script = match (&a.file, &a.query) {
        (Some(f), _) => Some(std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?),
        (None, Some(q)) => Some(q.clone()),
        (None, None) => None,
    };
    let mut client = crate::sql::client::connect(&a.server)?;
    if a.session {
        if let Ok(saved) = std::fs::read_to_string(session_file(&a.server.data_dir)) {
            client.context = serde_json::from_str(&saved).unwrap_or(serde_json::Value::Null);
        }
    }
    let save_session = |client: &SqlClient| {
        if a.session {
            let _ = std::fs::write(session_file(&a.server.data_dir), client.context.to_string());
        }
    };
    if let Some(text) = script {
        let text = match &a.step {
            Some(step) => step_text(&text, step)?,
            None => text,
        };
        let text = substitute(&text, &vars)?;
        let statements = warehouse::sql::split(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
        for st in statements {
            if let Err(e) = run_statement(&mut client, &st.text, a.format) {
                save_session(&client);
                eprintln!("Statement failed:\n  {}\n{e}", st.text.replace('\n', "\n  "));
                std::process::exit(1);
            }
        }
        save_session(&client);
        return Ok(());
    }
    interactive(&mut client, &mut vars, a.format, &a.server.data_dir)
}

fn interactive(client: &mut SqlClient, vars: &mut HashMap<String, String>, mut format: Format, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let mut rl = rustyline::DefaultEditor::new()?;
    let history = data_dir.join("sql_history");
    let _ = rl.load_history(&history);
    println!("recpipe sql: statements end with ';'. !set format=table|json|csv, !define NAME=VALUE, !quit.");
    let mut buf = String::new();
    loop {
        let ctx = &client.context;
        let prompt = if buf.is_empty() {
            format!(
                "{}#{}@{}.{}> ",
                ctx["role"].as_str().unwrap_or("ADMIN"),
                ctx["warehouse"].as_str().unwrap_or("(no warehouse)"),
                ctx["database"].as_str().unwrap_or("(no database)"),
                ctx["schema"].as_str().unwrap_or("(no schema)")
            )
        } else {
            "    > ".to_string()
        };
        let line = match rl.readline(&prompt) {
            Ok(l) => l,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                buf.clear();
                continue;
            }
            Err(_) => break,
        };
        let trimmed = line.trim();
        if buf.is_empty() && trimmed.starts_with('!') {
            let _ = rl.add_history_entry(trimmed);
            let cmd = trimmed.trim_start_matches('!');
            if cmd == "quit" || cmd == "exit" || cmd == "q" {
                break;
            } else if let Some(v) = cmd.strip_prefix("set ").and_then(|v| v.trim().strip_prefix("format=").or_else(|| v.trim().strip_prefix("output_format="))) {
                format = match v {
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    _ => Format::Table,
                };
            } else if let Some((k, v)) = cmd.strip_prefix("define ").and_then(|d| d.split_once('=')) {
                vars.insert(k.trim().to_string(), v.trim().to_string());
            } else {
                eprintln!("unknown command !{cmd}");
            }
            continue;
        }
        buf.push_str(&line);
        buf.push('\n');
        let complete = warehouse::sql::split(&format!("{buf} ;")).is_ok() && buf.trim_end().ends_with(';');
        if !complete {
            continue;
        }
        let _ = rl.add_history_entry(buf.trim());
        let text = std::mem::take(&mut buf);
        let result = substitute(&text, vars).and_then(|t| {
            let sts = warehouse::sql::split(&t).map_err(|e| anyhow::anyhow!("{e}"))?;
            for st in sts {
                if let Err(e) = run_statement(client, &st.text, format) {
                    eprintln!("{e}");
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            eprintln!("{e}");
        }
    }
    let _ = std::fs::create_dir_all(data_dir);
    let _ = rl.save_history(&history);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_or_named() {
        let vars = HashMap::from([("A".to_string(), "x".to_string())]);
        assert_eq!(substitute("select '${A}'", &vars).unwrap(), "select 'x'");
        let e = substitute("select '${B}'", &vars).unwrap_err().to_string();
        assert!(e.contains("${B}"), "{e}");
        let script = "-- ${NAME} in a comment\ncreate database ${A}; /* ${C} */ select '--${A}';";
        assert_eq!(substitute(script, &vars).unwrap(), "-- ${NAME} in a comment\ncreate database x; /* ${C} */ select '--x';");
    }

    #[test]
    fn steps_are_cut_at_their_markers() {
        let script = "-- header\n-- step: one\nselect 1;\n-- step: two (later)\nselect 2;\nselect 3;\n";
        assert_eq!(step_text(script, "one").unwrap(), "select 1;\n");
        assert_eq!(step_text(script, "two").unwrap(), "select 2;\nselect 3;\n");
        assert!(step_text(script, "three").unwrap_err().to_string().contains("step: three"));
    }

    #[test]
    fn tables_like_snowsql() {
        let o = Outcome { columns: vec![("N".into(), "fixed".into()), ("S".into(), "text".into())], rows: vec![vec![Some("10".into()), None]] };
        let t = render(&o, Format::Table);
        assert!(t.contains("| N  | S    |"), "{t}");
        assert!(t.contains("| 10 | NULL |"), "{t}");
        assert_eq!(render(&o, Format::Csv), "N,S\n10,NULL");
    }

    #[test]
    fn csv_rows_are_never_empty_lines() {
        let o = Outcome { columns: vec![("S".into(), "text".into())], rows: vec![vec![Some(String::new())], vec![Some("a\r\nb".into())]] };
        assert_eq!(render(&o, Format::Csv), "S\n\"\"\n\"a\r\nb\"");
    }

    #[test]
    fn json_is_one_document_on_one_line() {
        let o = Outcome { columns: vec![("N".into(), "fixed".into()), ("S".into(), "text".into())], rows: vec![vec![Some("1".into()), None], vec![Some("2".into()), Some("x\ny".into())]] };
        let doc = render(&o, Format::Json);
        assert!(!doc.contains('\n'), "{doc}");
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v, serde_json::json!([{"N": "1", "S": null}, {"N": "2", "S": "x\ny"}]));
    }

    #[test]
    fn footers_say_rows_and_what_is_shown() {
        let d = std::time::Duration::from_millis(1234);
        assert_eq!(footer(3, 3, d), "3 Row(s) produced. Time Elapsed: 1.234s");
        assert_eq!(footer(20, 8, d), "20 Row(s) produced (8 shown). Time Elapsed: 1.234s");
    }
}
