//! `recpipe models list|describe|delete`.

use clap::Subcommand;
use serde_json::json;

use crate::client::{print_table, runtime, text, time_text, Client, ServerArgs};

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// List models, newest first.
    List {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        json: bool,
    },
    /// Show one model.
    Describe {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        json: bool,
    },
    /// Delete a model (refused while an endpoint uses it).
    Delete {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn run(cmd: ModelsCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        match cmd {
            ModelsCommand::List { server, json } => {
                let c = Client::new(&server)?;
                let all = c.list_all("ListModels", json!({}), "Models").await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&all)?);
                } else {
                    let rows: Vec<Vec<String>> =
                        all.iter().map(|m| vec![text(&m["ModelName"]), time_text(&m["CreationTime"]), text(&m["ModelArn"])]).collect();
                    print_table(&["NAME", "CREATED", "ARN"], &rows);
                }
                Ok(())
            }
            ModelsCommand::Describe { name, server, json } => {
                let m = Client::new(&server)?.call("DescribeModel", json!({"ModelName": name})).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&m)?);
                } else {
                    print_table(
                        &["FIELD", "VALUE"],
                        &[
                            vec!["Name".into(), text(&m["ModelName"])],
                            vec!["Arn".into(), text(&m["ModelArn"])],
                            vec!["Image".into(), text(&m["PrimaryContainer"]["Image"])],
                            vec!["ModelDataUrl".into(), text(&m["PrimaryContainer"]["ModelDataUrl"])],
                            vec!["ExecutionRoleArn".into(), text(&m["ExecutionRoleArn"])],
                            vec!["Created".into(), time_text(&m["CreationTime"])],
                        ],
                    );
                }
                Ok(())
            }
            ModelsCommand::Delete { name, server } => {
                Client::new(&server)?.call("DeleteModel", json!({"ModelName": name})).await?;
                println!("deleted model {name}");
                Ok(())
            }
        }
    })
}
