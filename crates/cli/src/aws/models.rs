//! `recpipe models list|describe|delete`.

use clap::Subcommand;
use serde_json::{json, Value};

use crate::aws::client::{runtime, text, time_text, Client};
use crate::aws::resource::{DeleteArgs, DescribeArgs, ListArgs, Resource};

pub const MODELS: Resource = Resource {
    noun: "model",
    stem: "Model",
    list: ("ListModels", "Models"),
    name_field: "ModelName",
    columns: &["NAME", "CREATED", "ARN"],
    row: |m: &Value| vec![text(&m["ModelName"]), time_text(&m["CreationTime"]), text(&m["ModelArn"])],
    fields: |m: &Value| {
        vec![
            vec!["Name".into(), text(&m["ModelName"])],
            vec!["Arn".into(), text(&m["ModelArn"])],
            vec!["Image".into(), text(&m["PrimaryContainer"]["Image"])],
            vec!["ModelDataUrl".into(), text(&m["PrimaryContainer"]["ModelDataUrl"])],
            vec!["ExecutionRoleArn".into(), text(&m["ExecutionRoleArn"])],
            vec!["Created".into(), time_text(&m["CreationTime"])],
        ]
    },
};

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// List models, newest first.
    List(ListArgs),
    /// Show one model.
    Describe(DescribeArgs),
    /// Delete a model (refused while an endpoint uses it).
    Delete(DeleteArgs),
}

pub fn run(cmd: ModelsCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        match cmd {
            ModelsCommand::List(a) => MODELS.list(&Client::new(&a.server)?, json!({}), a.json).await,
            ModelsCommand::Describe(a) => MODELS.describe(&a).await,
            ModelsCommand::Delete(a) => MODELS.delete(&a).await,
        }
    })
}
