//! Endpoints as real `recpipe container serve` processes under the control plane.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use mlapi::*;

use crate::plane::{alive, fast_config, Plane};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_serves_round_robin_and_restarts_a_killed_process() {
    let p = Plane::open(fast_config()).await;
    let url = p.trained_model("ep-train", "8").await;
    p.model_and_config("m1", "c1", &url, 2).await;
    let err = ApiError::from(p.plane.delete_endpoint_config("nope").await.unwrap_err());
    assert_eq!(err.code, ErrorCode::ValidationException);
    p.plane.create_endpoint(CreateEndpointRequest { endpoint_name: Some("ep".into()), endpoint_config_name: Some("c1".into()), tags: None }).await.unwrap();
    let d = p.plane.describe_endpoint("ep").await.unwrap();
    assert!(matches!(d.endpoint_status, EndpointStatus::Creating | EndpointStatus::InService));
    let d = p.wait_endpoint("ep", |d| d.endpoint_status != EndpointStatus::Creating).await;
    assert_eq!(d.endpoint_status, EndpointStatus::InService, "{:?}", d.failure_reason);
    assert_eq!(d.production_variants[0].current_instance_count, Some(2));

    // Predictions are the model's, and requests alternate between the two processes.
    let unpacked = p.path().join("model-check");
    container::unpack(&p.plane.objects().local_path(&mlplane::S3Url::parse(&url).unwrap()).unwrap(), &unpacked).unwrap();
    let model = recommender::modelfile::load(&unpacked.join("model.rpmf")).unwrap();
    for _ in 0..10 {
        let r = p.invoke("ep", "1,10\n2,20\n").await.unwrap();
        assert_eq!(r.invoked_production_variant, "AllTraffic");
        let got: Vec<f32> = std::str::from_utf8(&r.body).unwrap().lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(got, [model.predict(1, 10).rating, model.predict(2, 20).rating]);
    }
    let served: Vec<u64> = p.plane.endpoint_instances("ep").iter().map(|i| i.served).collect();
    assert_eq!(served, [5, 5]);
    // They were forwarded over each process's owner-only Unix-domain socket.
    for i in p.plane.endpoint_instances("ep") {
        let socket = i.socket.expect("a socket by default");
        assert!(socket.starts_with(p.path().join("endpoints/ep")), "{}", socket.display());
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{}", socket.display());
    }

    // The container's own error comes back as ModelError with its message.
    let err = ApiError::from(p.invoke("ep", "1,ten\n").await.unwrap_err());
    assert_eq!(err.code, ErrorCode::ModelError);
    assert!(err.message.contains("line 1: id \"ten\" is not a number"), "{}", err.message);
    let err = ApiError::from(p.invoke("no-such-ep", "1,1\n").await.unwrap_err());
    assert_eq!(err.code, ErrorCode::ValidationError);

    // Config and model cannot be deleted while the endpoint uses them.
    assert_eq!(ApiError::from(p.plane.delete_endpoint_config("c1").await.unwrap_err()).code, ErrorCode::ResourceInUse);
    assert_eq!(ApiError::from(p.plane.delete_model("m1").await.unwrap_err()).code, ErrorCode::ResourceInUse);

    // Kill one serving process: the endpoint says so, restarts it and recovers.
    let victim = p.plane.endpoint_instances("ep")[0].clone();
    unsafe { libc_kill(victim.pid as i32, 9) };
    let d = p
        .wait_endpoint("ep", |d| {
            d.failure_reason.as_deref().is_some_and(|r| r.contains(&victim.label) && r.contains("restarted"))
                && d.endpoint_status == EndpointStatus::InService
        })
        .await;
    assert!(d.failure_reason.unwrap().contains("signal 9"));
    let now: Vec<_> = p.plane.endpoint_instances("ep");
    assert_eq!(now.len(), 2);
    assert!(now.iter().all(|i| i.pid != victim.pid));
    assert!(now.iter().any(|i| i.label == victim.label), "the replacement keeps its slot: {now:?}");
    for _ in 0..4 {
        p.invoke("ep", "1,10\n").await.unwrap();
    }

    // Delete: the processes go away, then config and model can go too.
    let pids: Vec<u32> = now.iter().map(|i| i.pid).collect();
    p.plane.delete_endpoint("ep").await.unwrap();
    let err = ApiError::from(p.invoke("ep", "1,10\n").await.unwrap_err());
    assert_eq!(err.code, ErrorCode::ValidationError);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while pids.iter().any(|pid| alive(*pid)) {
        assert!(std::time::Instant::now() < deadline, "serving processes still alive after delete");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    p.plane.delete_endpoint_config("c1").await.unwrap();
    p.plane.delete_model("m1").await.unwrap();
    p.plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_go_over_loopback_tcp_when_sockets_are_off() {
    let p = Plane::open(mlplane::MlplaneConfig { unix_sockets: false, ..fast_config() }).await;
    let url = p.trained_model("tcp-train", "8").await;
    p.model_and_config("m1", "c1", &url, 1).await;
    p.plane.create_endpoint(CreateEndpointRequest { endpoint_name: Some("ep".into()), endpoint_config_name: Some("c1".into()), tags: None }).await.unwrap();
    let d = p.wait_endpoint("ep", |d| d.endpoint_status != EndpointStatus::Creating).await;
    assert_eq!(d.endpoint_status, EndpointStatus::InService, "{:?}", d.failure_reason);
    let inst = p.plane.endpoint_instances("ep").remove(0);
    assert_eq!(inst.socket, None);
    assert!(!p.path().join("endpoints/ep").join(&inst.label).join("serve.sock").exists());
    let unpacked = p.path().join("model-check");
    container::unpack(&p.plane.objects().local_path(&mlplane::S3Url::parse(&url).unwrap()).unwrap(), &unpacked).unwrap();
    let model = recommender::modelfile::load(&unpacked.join("model.rpmf")).unwrap();
    for _ in 0..3 {
        let r = p.invoke("ep", "1,10\n").await.unwrap();
        assert_eq!(std::str::from_utf8(&r.body).unwrap().trim().parse::<f32>().unwrap(), model.predict(1, 10).rating);
    }
    assert_eq!(p.plane.endpoint_instances("ep")[0].served, 3);
    p.plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_cannot_load_fails_the_endpoint_with_the_reason() {
    let p = Plane::open(fast_config()).await;
    // A gzip tarball without a model file in it.
    let junk = p.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("README"), "not a model").unwrap();
    let archive = p.path().join("junk.tar.gz");
    container::pack_dir(&junk, &archive).unwrap();
    let url = mlplane::S3Url::parse("s3://models/junk/model.tar.gz").unwrap();
    p.plane.objects().upload(&archive, &url).await.unwrap();

    // CreateModel checks the artifact exists and is a gzip tarball.
    let missing = CreateModelRequest {
        model_name: Some("m-missing".into()),
        primary_container: Some(ContainerDefinition { image: None, model_data_url: Some("s3://models/none/model.tar.gz".into()), environment: None }),
        execution_role_arn: Some(p.role_arn.clone()),
        tags: None,
    };
    let err = ApiError::from(p.plane.create_model(missing).await.unwrap_err());
    assert!(err.message.contains("s3://models/none/model.tar.gz"), "{}", err.message);

    p.model_and_config("m-junk", "c-junk", &url.to_string(), 1).await;
    p.plane.create_endpoint(CreateEndpointRequest { endpoint_name: Some("ep-junk".into()), endpoint_config_name: Some("c-junk".into()), tags: None }).await.unwrap();
    let d = p.wait_endpoint("ep-junk", |d| d.endpoint_status != EndpointStatus::Creating).await;
    assert_eq!(d.endpoint_status, EndpointStatus::Failed);
    let reason = d.failure_reason.unwrap();
    assert!(reason.contains("AllTraffic") && reason.contains("no model found"), "{reason}");
    let err = ApiError::from(p.invoke("ep-junk", "1,1\n").await.unwrap_err());
    assert_eq!(err.code, ErrorCode::ServiceUnavailable);
    p.plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_update_swaps_models_without_a_failed_invocation() {
    let p = Plane::open(fast_config()).await;
    let url_a = p.trained_model("up-a", "4").await;
    let url_b = p.trained_model("up-b", "6").await;
    p.model_and_config("ma", "ca", &url_a, 1).await;
    p.model_and_config("mb", "cb", &url_b, 1).await;
    p.plane.create_endpoint(CreateEndpointRequest { endpoint_name: Some("ep-up".into()), endpoint_config_name: Some("ca".into()), tags: None }).await.unwrap();
    p.wait_endpoint("ep-up", |d| d.endpoint_status == EndpointStatus::InService).await;
    let old_pid = p.plane.endpoint_instances("ep-up")[0].pid;

    // Callers invoke back to back for the whole update.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut callers = Vec::new();
    for _ in 0..3 {
        let (plane, stop, ok, failed) = (p.plane.clone(), stop.clone(), ok.clone(), failed.clone());
        callers.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let r = plane
                    .invoke_endpoint(InvokeEndpointRequest { endpoint_name: "ep-up".into(), content_type: "text/csv".into(), accept: None, body: "1,10\n2,20\n".into() })
                    .await;
                match r {
                    Ok(_) => ok.fetch_add(1, Ordering::SeqCst),
                    Err(e) => {
                        errors.push(e.to_string());
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
            errors
        }));
    }
    let err = ApiError::from(p.plane.update_endpoint(UpdateEndpointRequest { endpoint_name: Some("ep-up".into()), endpoint_config_name: Some("ca".into()) }).await.unwrap_err());
    assert_eq!(err.code, ErrorCode::ValidationException);
    p.plane.update_endpoint(UpdateEndpointRequest { endpoint_name: Some("ep-up".into()), endpoint_config_name: Some("cb".into()) }).await.unwrap();
    let during = p.plane.describe_endpoint("ep-up").await.unwrap();
    assert!(matches!(during.endpoint_status, EndpointStatus::Updating | EndpointStatus::InService));
    let d = p.wait_endpoint("ep-up", |d| d.endpoint_status == EndpointStatus::InService && d.endpoint_config_name == "cb").await;
    assert!(d.failure_reason.is_none(), "{:?}", d.failure_reason);
    // Keep calling until the old process has drained and stopped.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while alive(old_pid) {
        assert!(std::time::Instant::now() < deadline, "the old serving process never stopped");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let mut errors = Vec::new();
    for c in callers {
        errors.extend(c.await.unwrap());
    }
    assert!(errors.is_empty(), "{} failed invocations, e.g. {:?}", errors.len(), errors.first());
    assert!(ok.load(Ordering::SeqCst) > 0);

    // The new model answers now.
    let unpacked = p.path().join("b-check");
    container::unpack(&p.plane.objects().local_path(&mlplane::S3Url::parse(&url_b).unwrap()).unwrap(), &unpacked).unwrap();
    let model_b = recommender::modelfile::load(&unpacked.join("model.rpmf")).unwrap();
    let r = p.invoke("ep-up", "1,10\n").await.unwrap();
    assert_eq!(std::str::from_utf8(&r.body).unwrap().trim().parse::<f32>().unwrap(), model_b.predict(1, 10).rating);
    assert!(p.plane.endpoint_instances("ep-up").iter().all(|i| i.pid != old_pid));
    p.plane.shutdown().await;
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
