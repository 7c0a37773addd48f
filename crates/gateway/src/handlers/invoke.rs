//! `invoke(model_name, user_id, item_id)`: rows grouped by model, one InvokeEndpoint per group
//! (split only where a body would pass the runtime's 5 MB limit), predictions mapped back.

use mlapi::{EndpointStatus, InvokeEndpointRequest};
use serde_json::Value;

use super::{is_not_found, Ctx};
use crate::batch::Row;
use crate::error::GatewayError;

/// SageMaker runtime's InvokeEndpoint payload limit.
const MAX_INVOKE_BODY: usize = 5 * 1024 * 1024;

pub async fn invoke(ctx: &Ctx, rows: &[Row]) -> Result<Vec<Value>, GatewayError> {
    // Groups in order of first appearance: (model, indexes into rows).
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let model = row.args[0].as_str();
        match groups.iter_mut().find(|(m, _)| *m == model) {
            Some((_, idx)) => idx.push(i),
            None => groups.push((model, vec![i])),
        }
    }
    let mut out = vec![Value::Null; rows.len()];
    for (model, idx) in &groups {
        let first_row = rows[idx[0]].number;
        match ctx.sagemaker.describe_endpoint(model).await {
            Ok(d) if d.endpoint_status == EndpointStatus::InService => {}
            Ok(d) => return Err(GatewayError::EndpointNotReady { name: model.to_string(), status: format!("{:?}", d.endpoint_status), row: first_row }),
            Err(e) if is_not_found(&e) => return Err(GatewayError::EndpointNotReady { name: model.to_string(), status: "not deployed (no such endpoint)".into(), row: first_row }),
            Err(e) => return Err(e.into()),
        }
        let mut start = 0;
        while start < idx.len() {
            let mut body = String::new();
            let mut end = start;
            while end < idx.len() {
                let r = &rows[idx[end]];
                let (user, item) = (r.args[1].as_str(), r.args[2].as_str());
                if !body.is_empty() && body.len() + user.len() + item.len() + 2 > MAX_INVOKE_BODY {
                    break;
                }
                body.push_str(user);
                body.push(',');
                body.push_str(item);
                body.push('\n');
                end += 1;
            }
            let resp = ctx
                .sagemaker
                .invoke_endpoint(InvokeEndpointRequest { endpoint_name: model.to_string(), content_type: "text/csv".into(), accept: Some("text/csv".into()), body: body.into() })
                .await?;
            let predictions = parse_predictions(&resp.body, end - start, model)?;
            for (k, p) in predictions.into_iter().enumerate() {
                out[idx[start + k]] = p;
            }
            start = end;
        }
    }
    Ok(out)
}

/// One number per non-empty line (or a JSON array / `{"predictions": [...]}`), exactly `n` of them.
fn parse_predictions(body: &[u8], n: usize, model: &str) -> Result<Vec<Value>, GatewayError> {
    let text = std::str::from_utf8(body).map_err(|_| GatewayError::BadControlPlaneAnswer(format!("endpoint {model} answered non-UTF-8")))?;
    let trimmed = text.trim_start();
    let values: Vec<Value> = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let v: Value = serde_json::from_str(trimmed).map_err(|e| GatewayError::BadControlPlaneAnswer(format!("endpoint {model}: {e}")))?;
        let arr = match v {
            Value::Array(a) => a,
            Value::Object(mut o) => match o.remove("predictions") {
                Some(Value::Array(a)) => a,
                _ => return Err(GatewayError::BadControlPlaneAnswer(format!("endpoint {model}: JSON answer without a predictions array"))),
            },
            _ => Vec::new(),
        };
        arr.into_iter().map(|v| if v.is_number() { Ok(v) } else { Err(GatewayError::BadControlPlaneAnswer(format!("endpoint {model}: prediction {v} is not a number"))) }).collect::<Result<_, _>>()?
    } else {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number).ok_or_else(|| GatewayError::BadControlPlaneAnswer(format!("endpoint {model}: line {l:?} is not a number")))
            })
            .collect::<Result<_, _>>()?
    };
    if values.len() != n {
        return Err(GatewayError::BadControlPlaneAnswer(format!("endpoint {model} answered {} predictions for {n} rows", values.len())));
    }
    Ok(values)
}
