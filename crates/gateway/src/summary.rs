//! The deploy summary in the Serverless Framework's shape (`sls deploy` / `sls info`).

use crate::store::Deployment;
use crate::Function;

/// `Service Information` block: service, stage, region, stack, endpoints and functions.
pub fn summary(d: &Deployment, base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let mut s = format!(
        "Service Information\nservice: {}\nstage: {}\nregion: {}\nstack: {}-{}\napi id: {}\nbucket: {}\napi keys:\n  None\nendpoints:\n",
        d.service, d.stage, d.config.region, d.service, d.stage, d.api_id, d.config.bucket_name()
    );
    for f in Function::ALL {
        s.push_str(&format!("  POST - {base}/{}/{}/{}\n", d.api_id, d.stage, f.name()));
    }
    s.push_str("functions:\n");
    for f in Function::ALL {
        s.push_str(&format!("  {}: {}-{}-{}\n", f.name(), d.service, d.stage, f.name()));
    }
    s.push_str("layers:\n  None\n");
    s
}
