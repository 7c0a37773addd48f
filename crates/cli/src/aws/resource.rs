//! The one shape of `list`, `describe` and `delete` for the control plane's resources (training
//! jobs, models, endpoints): the same arguments, the same table or `--json` output, one
//! paginating `List*` call. A [`Resource`] names the operations and how its rows look.

use clap::Args;
use serde_json::{json, Value};

use crate::aws::client::{print_table, Client, ServerArgs};

/// `list [--json]`.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long)]
    pub json: bool,
}

/// `describe NAME [--json]`.
#[derive(Args)]
pub struct DescribeArgs {
    pub name: String,
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long)]
    pub json: bool,
}

/// `delete NAME`.
#[derive(Args)]
pub struct DeleteArgs {
    pub name: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// One kind of resource of the SageMaker API.
pub struct Resource {
    /// In messages: `model`, `endpoint`, `training job`.
    pub noun: &'static str,
    /// The operations' stem: `Model` gives `DescribeModel` and `DeleteModel`.
    pub stem: &'static str,
    /// The `List*` operation and the member of its answer that holds the items.
    pub list: (&'static str, &'static str),
    /// The request member naming one resource (`ModelName`).
    pub name_field: &'static str,
    /// The list table's headings and one item's row.
    pub columns: &'static [&'static str],
    pub row: fn(&Value) -> Vec<String>,
    /// The describe table's (field, value) rows.
    pub fields: fn(&Value) -> Vec<Vec<String>>,
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

impl Resource {
    /// Every item `request` selects (all pages), as a table or JSON.
    pub async fn list(&self, c: &Client, request: Value, as_json: bool) -> anyhow::Result<()> {
        let all = c.list_all(self.list.0, request, self.list.1).await?;
        if as_json {
            return print_json(&all);
        }
        print_table(self.columns, &all.iter().map(self.row).collect::<Vec<_>>());
        Ok(())
    }

    pub async fn describe(&self, a: &DescribeArgs) -> anyhow::Result<()> {
        let v = self.describe_value(&Client::new(&a.server)?, &a.name).await?;
        if a.json {
            return print_json(&v);
        }
        print_table(&["FIELD", "VALUE"], &(self.fields)(&v));
        Ok(())
    }

    /// The `Describe*` answer for `name`.
    pub async fn describe_value(&self, c: &Client, name: &str) -> anyhow::Result<Value> {
        c.call(&format!("Describe{}", self.stem), json!({ self.name_field: name })).await
    }

    pub async fn delete(&self, a: &DeleteArgs) -> anyhow::Result<()> {
        Client::new(&a.server)?.call(&format!("Delete{}", self.stem), json!({ self.name_field: &a.name })).await?;
        println!("deleted {} {}", self.noun, a.name);
        Ok(())
    }
}
