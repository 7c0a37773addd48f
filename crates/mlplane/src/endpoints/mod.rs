//! Models, endpoint configs and endpoints: the API operations. Each commits its row; the
//! supervisor's [`fleet::reconcile`] makes the processes match.

pub mod fleet;
pub mod invoke;
pub mod latency;
mod upstream;

use mlapi::names::{validate_name, validate_role_arn};
use mlapi::*;

use crate::error::{null_field, validation_errors, MlplaneError, Result};
use crate::jobs::{paginate, sort_rows};
use crate::objects::S3Url;
use crate::store::{enum_str, ConfigRow, EndpointRow, ModelRow};
use crate::{now, validate, Mlplane};

fn required<'a>(v: &'a Option<String>, field: &str, errors: &mut Vec<String>) -> &'a str {
    match v {
        Some(s) => s,
        None => {
            errors.push(null_field(field));
            ""
        }
    }
}

fn name_check(field: &str, name: &str, errors: &mut Vec<String>) {
    if !name.is_empty() {
        if let Err(e) = validate_name(field, name) {
            errors.push(e.message.trim_start_matches("1 validation error detected: ").to_string());
        }
    }
}

fn check(errors: Vec<String>) -> Result<()> {
    validation_errors(errors).map_or(Ok(()), Err)
}

impl Mlplane {
    fn endpoint_not_found(&self, name: &str) -> MlplaneError {
        MlplaneError::Validation(format!("Could not find endpoint \"{}\".", self.arn("endpoint", name)))
    }

    pub async fn create_model(&self, req: CreateModelRequest) -> Result<CreateModelResponse> {
        let mut errors = Vec::new();
        let name = required(&req.model_name, "modelName", &mut errors).to_string();
        name_check("modelName", &name, &mut errors);
        let role = required(&req.execution_role_arn, "executionRoleArn", &mut errors).to_string();
        if !role.is_empty() {
            if let Err(e) = validate_role_arn("executionRoleArn", &role) {
                errors.push(e.message.trim_start_matches("1 validation error detected: ").to_string());
            }
        }
        let url = req.primary_container.as_ref().and_then(|c| c.model_data_url.clone());
        if url.is_none() {
            errors.push(null_field("primaryContainer.modelDataUrl"));
        }
        check(errors)?;
        validate::execution_role(&self.iam, &role)?;
        let url_text = url.unwrap_or_default();
        let parsed = S3Url::parse(&url_text)?;
        let bad = |why: &str| MlplaneError::Validation(format!("Could not access model data at {url_text}. {why}"));
        if !parsed.key.ends_with(".tar.gz") {
            return Err(bad("ModelDataUrl must name a .tar.gz archive."));
        }
        if self.objects.head(&parsed).await?.is_none() {
            return Err(bad("Please ensure that the object exists and that the role has s3:GetObject permissions on it."));
        }
        let magic = self.objects.first_bytes(&parsed, 2).await?;
        if magic.as_ref() != [0x1f, 0x8b] {
            return Err(bad("The object is not a gzip-compressed tar archive."));
        }
        let arn = self.arn("model", &name);
        let row = ModelRow { name, arn: arn.clone(), request: req, creation_time: now() };
        if !self.store.insert_model(&row)? {
            return Err(MlplaneError::Validation(format!("Cannot create already existing model \"{arn}\".")));
        }
        Ok(CreateModelResponse { model_arn: arn })
    }

    pub async fn describe_model(&self, name: &str) -> Result<DescribeModelResponse> {
        let m = self
            .store
            .model(name)?
            .ok_or_else(|| MlplaneError::Validation(format!("Could not find model \"{}\".", self.arn("model", name))))?;
        Ok(DescribeModelResponse {
            model_name: m.name,
            model_arn: m.arn,
            primary_container: m.request.primary_container.unwrap_or_default(),
            execution_role_arn: m.request.execution_role_arn.unwrap_or_default(),
            creation_time: m.creation_time,
        })
    }

    pub async fn list_models(&self, req: ListRequest) -> Result<ListModelsResponse> {
        let mut rows: Vec<ModelRow> = self
            .store
            .models()?
            .into_iter()
            .filter(|m| req.name_contains.as_ref().is_none_or(|n| m.name.to_lowercase().contains(&n.to_lowercase())))
            .filter(|m| req.creation_time_after.is_none_or(|t| m.creation_time > t))
            .filter(|m| req.creation_time_before.is_none_or(|t| m.creation_time < t))
            .collect();
        sort_rows(&mut rows, &req, |m| (m.name.clone(), m.creation_time, String::new(), 0))?;
        let (page, next_token) = paginate(rows, &req)?;
        Ok(ListModelsResponse {
            models: page.into_iter().map(|m| ModelSummary { model_name: m.name, model_arn: m.arn, creation_time: m.creation_time }).collect(),
            next_token,
        })
    }

    /// Refused while an endpoint serves (or is moving to) a config that uses the model.
    pub async fn delete_model(&self, name: &str) -> Result<()> {
        match self.store.delete_model(name)? {
            Ok(true) => Ok(()),
            Ok(false) => Err(MlplaneError::Validation(format!("Could not find model \"{}\".", self.arn("model", name)))),
            Err(ep) => Err(MlplaneError::InUse(format!("Cannot delete model {name}: endpoint {ep} is using it."))),
        }
    }

    pub async fn create_endpoint_config(&self, req: CreateEndpointConfigRequest) -> Result<CreateEndpointConfigResponse> {
        let mut errors = Vec::new();
        let name = required(&req.endpoint_config_name, "endpointConfigName", &mut errors).to_string();
        name_check("endpointConfigName", &name, &mut errors);
        match &req.production_variants {
            None => errors.push(null_field("productionVariants")),
            Some(v) if v.is_empty() || v.len() > 10 => errors.push(format!(
                "Value '[]' at 'productionVariants' failed to satisfy constraint: Member must have length between 1 and 10 (found {})",
                v.len()
            )),
            Some(vs) => {
                let mut seen = std::collections::BTreeSet::new();
                for (i, v) in vs.iter().enumerate() {
                    name_check(&format!("productionVariants.{}.member.variantName", i + 1), &v.variant_name, &mut errors);
                    if !seen.insert(v.variant_name.clone()) {
                        errors.push(format!("Value '{}' at 'productionVariants.{}.member.variantName' failed to satisfy constraint: Variant names must be unique", v.variant_name, i + 1));
                    }
                    if v.initial_instance_count == Some(0) {
                        errors.push(format!("Value '0' at 'productionVariants.{}.member.initialInstanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1", i + 1));
                    }
                }
            }
        }
        check(errors)?;
        for v in req.production_variants.iter().flatten() {
            if self.store.model(&v.model_name)?.is_none() {
                return Err(MlplaneError::Validation(format!("Could not find model \"{}\".", self.arn("model", &v.model_name))));
            }
        }
        let arn = self.arn("endpoint-config", &name);
        let row = ConfigRow { name, arn: arn.clone(), request: req, creation_time: now() };
        if !self.store.insert_config(&row)? {
            return Err(MlplaneError::Validation(format!("Cannot create already existing endpoint configuration \"{arn}\".")));
        }
        Ok(CreateEndpointConfigResponse { endpoint_config_arn: arn })
    }

    pub async fn describe_endpoint_config(&self, name: &str) -> Result<DescribeEndpointConfigResponse> {
        let c = self.store.config(name)?.ok_or_else(|| {
            MlplaneError::Validation(format!("Could not find endpoint configuration \"{}\".", self.arn("endpoint-config", name)))
        })?;
        Ok(DescribeEndpointConfigResponse {
            endpoint_config_name: c.name,
            endpoint_config_arn: c.arn,
            production_variants: c.request.production_variants.unwrap_or_default(),
            creation_time: c.creation_time,
        })
    }

    pub async fn list_endpoint_configs(&self, req: ListRequest) -> Result<ListEndpointConfigsResponse> {
        let mut rows: Vec<ConfigRow> = self
            .store
            .configs()?
            .into_iter()
            .filter(|m| req.name_contains.as_ref().is_none_or(|n| m.name.to_lowercase().contains(&n.to_lowercase())))
            .collect();
        sort_rows(&mut rows, &req, |m| (m.name.clone(), m.creation_time, String::new(), 0))?;
        let (page, next_token) = paginate(rows, &req)?;
        Ok(ListEndpointConfigsResponse {
            endpoint_configs: page
                .into_iter()
                .map(|c| EndpointConfigSummary { endpoint_config_name: c.name, endpoint_config_arn: c.arn, creation_time: c.creation_time })
                .collect(),
            next_token,
        })
    }

    /// Refused while an endpoint uses the config.
    pub async fn delete_endpoint_config(&self, name: &str) -> Result<()> {
        match self.store.delete_config(name)? {
            Ok(true) => Ok(()),
            Ok(false) => Err(MlplaneError::Validation(format!(
                "Could not find endpoint configuration \"{}\".",
                self.arn("endpoint-config", name)
            ))),
            Err(ep) => Err(MlplaneError::InUse(format!("Cannot delete endpoint configuration {name}: endpoint {ep} is using it."))),
        }
    }

    pub async fn create_endpoint(&self, req: CreateEndpointRequest) -> Result<CreateEndpointResponse> {
        let mut errors = Vec::new();
        let name = required(&req.endpoint_name, "endpointName", &mut errors).to_string();
        name_check("endpointName", &name, &mut errors);
        let config = required(&req.endpoint_config_name, "endpointConfigName", &mut errors).to_string();
        check(errors)?;
        if self.store.config(&config)?.is_none() {
            return Err(MlplaneError::Validation(format!(
                "Could not find endpoint configuration \"{}\".",
                self.arn("endpoint-config", &config)
            )));
        }
        let arn = self.arn("endpoint", &name);
        let t = now();
        let row = EndpointRow {
            name: name.clone(),
            arn: arn.clone(),
            config_name: config,
            pending_config: None,
            status: EndpointStatus::Creating,
            failure_reason: None,
            creation_time: t,
            last_modified: t,
        };
        if !self.store.insert_endpoint(&row)? {
            return Err(MlplaneError::Validation(format!("Cannot create already existing endpoint \"{arn}\".")));
        }
        self.fleets.ensure(&name);
        self.supervisor.wake();
        Ok(CreateEndpointResponse { endpoint_arn: arn })
    }

    /// Updating → InService: new processes start, traffic moves once they are healthy, the old
    /// ones drain and stop. Only an InService endpoint can be updated, and to another config.
    pub async fn update_endpoint(&self, req: UpdateEndpointRequest) -> Result<UpdateEndpointResponse> {
        let mut errors = Vec::new();
        let name = required(&req.endpoint_name, "endpointName", &mut errors).to_string();
        let config = required(&req.endpoint_config_name, "endpointConfigName", &mut errors).to_string();
        check(errors)?;
        if self.store.config(&config)?.is_none() {
            return Err(MlplaneError::Validation(format!(
                "Could not find endpoint configuration \"{}\".",
                self.arn("endpoint-config", &config)
            )));
        }
        let t = now();
        let (row, refused) = self
            .store
            .update_endpoint(&name, |e| {
                if e.status != EndpointStatus::InService {
                    return Some(format!("Cannot update in-progress endpoint \"{}\" (status {}).", e.arn, enum_str(&e.status)));
                }
                if e.config_name == config {
                    return Some(format!(
                        "Cannot update endpoint \"{}\" to endpoint configuration {config}: it already uses it; create a new endpoint configuration.",
                        e.arn
                    ));
                }
                e.status = EndpointStatus::Updating;
                e.pending_config = Some(config.clone());
                e.last_modified = t;
                None
            })?
            .ok_or_else(|| self.endpoint_not_found(&name))?;
        if let Some(why) = refused {
            return Err(MlplaneError::Validation(why));
        }
        self.supervisor.wake();
        Ok(UpdateEndpointResponse { endpoint_arn: row.arn })
    }

    pub async fn describe_endpoint(&self, name: &str) -> Result<DescribeEndpointResponse> {
        let name = mlapi::names::name_of(name);
        let e = self.store.endpoint(name)?.ok_or_else(|| self.endpoint_not_found(name))?;
        let route = self.fleets.get(name).map(|f| f.route()).unwrap_or_default();
        let variants = match self.store.config(&e.config_name)? {
            Some(c) => c
                .request
                .production_variants
                .unwrap_or_default()
                .into_iter()
                .map(|v| ProductionVariantSummary {
                    current_instance_count: Some(route.iter().filter(|i| i.variant == v.variant_name).count() as u32),
                    desired_instance_count: Some(v.initial_instance_count.unwrap_or(1)),
                    variant_name: v.variant_name,
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(DescribeEndpointResponse {
            endpoint_name: e.name,
            endpoint_arn: e.arn,
            endpoint_config_name: e.config_name,
            production_variants: variants,
            endpoint_status: e.status,
            failure_reason: e.failure_reason,
            creation_time: e.creation_time,
            last_modified_time: e.last_modified,
        })
    }

    pub async fn list_endpoints(&self, req: ListRequest) -> Result<ListEndpointsResponse> {
        let status = match &req.status_equals {
            Some(s) => Some(crate::store::enum_parse::<EndpointStatus>(s).map_err(|_| {
                MlplaneError::Validation(format!("1 validation error detected: Value '{s}' at 'statusEquals' failed to satisfy constraint: Member must satisfy enum value set"))
            })?),
            None => None,
        };
        let mut rows: Vec<EndpointRow> = self
            .store
            .endpoints()?
            .into_iter()
            .filter(|e| status.is_none_or(|s| e.status == s))
            .filter(|e| req.name_contains.as_ref().is_none_or(|n| e.name.to_lowercase().contains(&n.to_lowercase())))
            .filter(|e| req.creation_time_after.is_none_or(|t| e.creation_time > t))
            .filter(|e| req.creation_time_before.is_none_or(|t| e.creation_time < t))
            .collect();
        sort_rows(&mut rows, &req, |e| (e.name.clone(), e.creation_time, enum_str(&e.status), 0))?;
        let (page, next_token) = paginate(rows, &req)?;
        Ok(ListEndpointsResponse {
            endpoints: page
                .into_iter()
                .map(|e| EndpointSummary {
                    endpoint_name: e.name,
                    endpoint_arn: e.arn,
                    creation_time: e.creation_time,
                    last_modified_time: e.last_modified,
                    endpoint_status: e.status,
                })
                .collect(),
            next_token,
        })
    }

    /// Removes the row at once (invocations stop being routed); the supervisor stops the
    /// processes.
    pub async fn delete_endpoint(&self, name: &str) -> Result<()> {
        if !self.store.delete_endpoint(name)? {
            return Err(self.endpoint_not_found(name));
        }
        if let Some(f) = self.fleets.remove(name) {
            tokio::spawn(async move { f.shutdown(std::time::Duration::from_secs(30)).await });
        }
        self.supervisor.wake();
        Ok(())
    }

    /// The healthy serving processes of an endpoint (tests, the bench, the CLI).
    pub fn endpoint_instances(&self, name: &str) -> Vec<fleet::InstanceInfo> {
        self.fleets.get(name).map(|f| f.instances()).unwrap_or_default()
    }
}
