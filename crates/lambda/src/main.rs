//! `bootstrap`: the Lambda function of `provided.al2023` serving `train`, `deploy`, `invoke` and
//! `describe`. Configuration: `RECPIPE_<KEY>` for each key of `config.dev.yml`, `RECPIPE_FUNCTION`
//! (optional: the route decides), the AWS region and credentials Lambda provides, and
//! `AWS_ENDPOINT_URL[_SAGEMAKER]` to point SageMaker elsewhere.

use std::sync::Arc;

use awsplane::{AwsConfig, AwsSageMaker};
use gateway::Function;
use lambda::runtime::RuntimeApi;
use lambda::{config_from_env, App};

fn app() -> Result<App, String> {
    let config = config_from_env(|k| std::env::var(k).ok())?;
    let function = match std::env::var("RECPIPE_FUNCTION").ok().filter(|f| !f.is_empty()) {
        Some(f) => Some(Function::from_name(&f).ok_or_else(|| format!("RECPIPE_FUNCTION '{f}' is not one of train, deploy, invoke, describe"))?),
        None => None,
    };
    let aws = AwsConfig::from_env(None, None).map_err(|e| e.to_string())?;
    let sagemaker = AwsSageMaker::new(&aws).map_err(|e| e.to_string())?;
    Ok(App::new(Arc::new(sagemaker), config, function))
}

fn main() -> std::process::ExitCode {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        eprintln!("bootstrap: AWS_LAMBDA_RUNTIME_API is not set (this binary runs inside AWS Lambda)");
        return std::process::ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bootstrap: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let runtime = RuntimeApi::new(&api);
        let app = match app() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("bootstrap: {e}");
                let _ = runtime.init_error(&e).await;
                return std::process::ExitCode::FAILURE;
            }
        };
        let e = runtime.serve(&app).await;
        eprintln!("bootstrap: {e}");
        std::process::ExitCode::FAILURE
    })
}
