//! The serving processes behind endpoints. A [`Fleet`] per endpoint holds the route (the healthy
//! processes invocations go to, swapped whole) and the tasks that deploy, restart and drain its
//! processes. An [`Instance`] owns its child: when the last reference drops, the process is
//! killed. The supervisor calls [`reconcile`] on every tick; nothing else starts processes.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use mlapi::{EndpointStatus, ProductionVariant};
use tokio::io::AsyncBufReadExt;
use tokio::process::Child;
use tokio::task::JoinHandle;

use crate::error::{MlplaneError, Result};
use crate::objects::S3Url;
use crate::{now, process, Mlplane};

/// Every endpoint's fleet, by endpoint name.
#[derive(Default)]
pub struct Fleets {
    map: RwLock<HashMap<String, Arc<Fleet>>>,
}

impl Fleets {
    pub fn get(&self, name: &str) -> Option<Arc<Fleet>> {
        self.map.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    pub fn ensure(&self, name: &str) -> Arc<Fleet> {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        map.entry(name.to_string()).or_insert_with(|| Arc::new(Fleet::new(name))).clone()
    }

    pub fn remove(&self, name: &str) -> Option<Arc<Fleet>> {
        self.map.write().unwrap_or_else(|p| p.into_inner()).remove(name)
    }

    fn all(&self) -> Vec<Arc<Fleet>> {
        self.map.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// Stops every process of every fleet (server shutdown).
    pub async fn stop_all(&self) {
        let fleets: Vec<Arc<Fleet>> = self.map.write().unwrap_or_else(|p| p.into_inner()).drain().map(|(_, f)| f).collect();
        futures::future::join_all(fleets.iter().map(|f| f.shutdown(Duration::from_secs(5)))).await;
    }
}

/// One endpoint's processes; see the module documentation.
pub struct Fleet {
    pub name: String,
    route: RwLock<Arc<Vec<Arc<Instance>>>>,
    rr: AtomicUsize,
    next_n: AtomicU32,
    /// A deployment (create, update or recovery) is running.
    deploying: AtomicBool,
    /// Crashed processes being restarted.
    restarting: AtomicUsize,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().unwrap_or_else(|p| p.into_inner()).drain(..) {
            t.abort();
        }
    }
}

/// One `container serve` process.
pub struct Instance {
    /// `<variant>-<n>`, also its directory name under `endpoints/<name>/`.
    pub label: String,
    pub variant: String,
    pub dir: PathBuf,
    pub addr: SocketAddr,
    pub pid: u32,
    /// Keep-alive connections for invocations (over the process's Unix-domain socket when it
    /// has one).
    pub(crate) conns: super::invoke::Conns,
    child: Mutex<Child>,
    pub(crate) inflight: AtomicUsize,
    /// Set before draining: a request that finds it set after counting itself in `inflight`
    /// goes elsewhere, so the drain never stops a process a request is about to use.
    pub(crate) retired: AtomicBool,
    pub(crate) served: AtomicU64,
    /// How long each answered invocation took, as seen from the control plane.
    pub(crate) latencies: super::latency::Latencies,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// The task copying stderr: awaited before a reason is read from the tail.
    stderr_task: Mutex<Option<JoinHandle<()>>>,
    restarts: u32,
}

/// What a caller may see of an instance (tests, the bench, the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    pub label: String,
    pub variant: String,
    pub addr: SocketAddr,
    pub socket: Option<PathBuf>,
    pub pid: u32,
    pub served: u64,
    /// The cumulative latency histogram (see [`super::latency`]).
    pub latencies: Vec<u64>,
}

impl Fleet {
    fn new(name: &str) -> Fleet {
        Fleet {
            name: name.to_string(),
            route: RwLock::new(Arc::new(Vec::new())),
            rr: AtomicUsize::new(0),
            next_n: AtomicU32::new(1),
            deploying: AtomicBool::new(false),
            restarting: AtomicUsize::new(0),
            tasks: Mutex::new(Vec::new()),
        }
    }

    pub fn route(&self) -> Arc<Vec<Arc<Instance>>> {
        self.route.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_route(&self, new: Vec<Arc<Instance>>) -> Arc<Vec<Arc<Instance>>> {
        std::mem::replace(&mut *self.route.write().unwrap_or_else(|p| p.into_inner()), Arc::new(new))
    }

    fn edit_route(&self, f: impl FnOnce(&mut Vec<Arc<Instance>>)) {
        let mut guard = self.route.write().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Arc<Instance>> = guard.as_ref().clone();
        f(&mut v);
        *guard = Arc::new(v);
    }

    /// The next instance in round-robin order, if any is healthy.
    pub(crate) fn pick(&self, route: &[Arc<Instance>]) -> Option<Arc<Instance>> {
        if route.is_empty() {
            return None;
        }
        let i = self.rr.fetch_add(1, Ordering::Relaxed) % route.len();
        Some(route[i].clone())
    }

    pub fn instances(&self) -> Vec<InstanceInfo> {
        self.route()
            .iter()
            .map(|i| InstanceInfo {
                label: i.label.clone(),
                variant: i.variant.clone(),
                addr: i.addr,
                socket: i.conns.socket().map(Path::to_path_buf),
                pid: i.pid,
                served: i.served.load(Ordering::Relaxed),
                latencies: i.latencies.snapshot(),
            })
            .collect()
    }

    fn busy(&self) -> bool {
        self.deploying.load(Ordering::SeqCst) || self.restarting.load(Ordering::SeqCst) > 0
    }

    fn spawn_task(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(tokio::spawn(fut));
    }

    /// Aborts the fleet's tasks and stops its processes (SIGTERM, then SIGKILL after `grace`).
    pub async fn shutdown(&self, grace: Duration) {
        for t in self.tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            t.abort();
        }
        let old = self.set_route(Vec::new());
        futures::future::join_all(old.iter().map(|i| i.stop(grace))).await;
    }
}

impl Instance {
    /// SIGTERM, then SIGKILL after `grace`.
    async fn stop(&self, grace: Duration) {
        let pid = self.pid;
        // SAFETY: kill(2) on our own child; if it was reaped already the pid check below fails.
        if self.child.lock().unwrap_or_else(|p| p.into_inner()).try_wait().ok().flatten().is_none() {
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let exited = self.child.lock().unwrap_or_else(|p| p.into_inner()).try_wait().ok().flatten().is_some();
            if exited {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = self.child.lock().unwrap_or_else(|p| p.into_inner()).start_kill();
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn exited(&self) -> Option<std::process::ExitStatus> {
        self.child.lock().unwrap_or_else(|p| p.into_inner()).try_wait().ok().flatten()
    }

    fn stderr_reason(&self) -> Option<String> {
        let tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        tail.iter().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim().trim_start_matches("Error: ").to_string())
    }
}

/// Starts one serving process in `dir` (its `model/` already extracted) and returns once it has
/// printed its address. Health is checked separately ([`wait_healthy`]).
async fn start_instance(plane: &Mlplane, endpoint: &str, variant: &str, label: &str, dir: &Path, restarts: u32) -> Result<Instance> {
    let log = plane.data_dir.join("endpoints").join(endpoint).join("log");
    // A socket path must fit `sun_path` (108 bytes with its NUL); a longer one means TCP.
    let socket = dir.join("serve.sock");
    let socket = (plane.config.unix_sockets && socket.as_os_str().len() < 100).then_some(socket);
    let mut args: Vec<&std::ffi::OsStr> = ["container", "serve", "--port", "0"].iter().map(std::ffi::OsStr::new).collect();
    if let Some(s) = &socket {
        args.extend([std::ffi::OsStr::new("--socket"), s.as_os_str()]);
    }
    let mut child = process::spawn(&plane.binary, &args, dir, &[])?;
    let pid = child.id().unwrap_or(0);
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let stderr_task;
    {
        let tail = tail.clone();
        let prefix = label.to_string();
        let log_err = log.clone();
        stderr_task = process::tee(stderr, &log_err, move |line| {
            let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
            if t.len() == 20 {
                t.pop_front();
            }
            t.push_back(line.to_string());
            let _ = &prefix;
        });
    }
    let mut reader = tokio::io::BufReader::new(stdout);
    let mut line = String::new();
    let (mut addr, mut unix) = (None, None);
    while addr.is_none() || (socket.is_some() && unix.is_none()) {
        line.clear();
        let n = tokio::time::timeout(plane.config.health_deadline, reader.read_line(&mut line))
            .await
            .map_err(|_| MlplaneError::Internal(format!("serving process {label} did not print its address")))?
            .map_err(MlplaneError::io("reading a serving process's output"))?;
        if n == 0 {
            let status = child.wait().await.map_err(MlplaneError::io("waiting for a serving process"))?;
            let _ = tokio::time::timeout(Duration::from_secs(2), stderr_task).await;
            let why = tail.lock().unwrap_or_else(|p| p.into_inner()).iter().rev().find(|l| !l.trim().is_empty()).cloned().unwrap_or_default();
            return Err(MlplaneError::Internal(format!("the serving process exited with {} before listening: {why}", process::describe_exit(status))));
        }
        if let Some(a) = line.trim().strip_prefix("listening on http://") {
            addr = Some(a.parse::<SocketAddr>().map_err(|e| MlplaneError::Internal(format!("serving process printed a bad address {a:?}: {e}")))?);
        } else if let Some(p) = line.trim_end_matches(['\r', '\n']).strip_prefix("listening on unix:") {
            unix = Some(PathBuf::from(p));
        }
    }
    let addr = addr.expect("the loop ends with an address");
    drop(process::tee(reader, &log, |_| {}));
    Ok(Instance {
        label: label.to_string(),
        variant: variant.to_string(),
        dir: dir.to_path_buf(),
        addr,
        pid,
        conns: super::invoke::Conns::new(addr, unix),
        child: Mutex::new(child),
        inflight: AtomicUsize::new(0),
        retired: AtomicBool::new(false),
        served: AtomicU64::new(0),
        latencies: Default::default(),
        stderr_tail: tail,
        stderr_task: Mutex::new(Some(stderr_task)),
        restarts,
    })
}

/// Waits until `/ping` answers 200, the process exits (its stderr says why) or the deadline.
async fn wait_healthy(plane: &Mlplane, inst: &Instance) -> std::result::Result<(), String> {
    let deadline = tokio::time::Instant::now() + plane.config.health_deadline;
    let ping: hyper::Uri = format!("http://{}/ping", inst.addr).parse().expect("uri");
    loop {
        if let Some(status) = inst.exited() {
            let task = inst.stderr_task.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(task) = task {
                let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
            }
            let why = inst.stderr_reason().unwrap_or_else(|| "no message".into());
            return Err(format!("the serving process {} exited with {}: {why}", inst.label, process::describe_exit(status)));
        }
        if plane.client.ping(&ping).await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the serving process {} did not pass the ping health check within {} seconds",
                inst.label,
                plane.config.health_deadline.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Makes the model archive of `variant` available locally: the object itself for the local
/// store, else a download into `endpoints/<name>/models/`.
async fn model_archive(plane: &Mlplane, endpoint: &str, v: &ProductionVariant) -> Result<PathBuf> {
    let model = plane
        .store
        .model(&v.model_name)?
        .ok_or_else(|| MlplaneError::Validation(format!("Could not find model \"{}\".", plane.arn("model", &v.model_name))))?;
    let url_text = model.request.primary_container.and_then(|c| c.model_data_url).unwrap_or_default();
    let url = S3Url::parse(&url_text)?;
    if let Some(p) = plane.objects.local_path(&url) {
        if p.is_file() {
            return Ok(p);
        }
    }
    let to = plane.data_dir.join("endpoints").join(endpoint).join("models").join(format!("{}.tar.gz", v.model_name));
    plane.objects.download(&url, &to).await?;
    Ok(to)
}

/// Starts and health-checks every process a config asks for. On any failure the processes
/// started so far are dropped (killed) and the reason returned.
async fn bring_up(plane: &Arc<Mlplane>, fleet: &Fleet, config_name: &str) -> std::result::Result<Vec<Arc<Instance>>, String> {
    let endpoint = fleet.name.as_str();
    let config = match plane.store.config(config_name) {
        Ok(Some(c)) => c,
        Ok(None) => return Err(format!("the endpoint config {config_name} no longer exists")),
        Err(e) => return Err(e.to_string()),
    };
    let mut started = Vec::new();
    for v in config.request.production_variants.iter().flatten() {
        let archive = model_archive(plane, endpoint, v).await.map_err(|e| format!("model {}: {e}", v.model_name))?;
        for _ in 0..v.initial_instance_count.unwrap_or(1).max(1) {
            let label = format!("{}-{}", v.variant_name, fleet.next_n.fetch_add(1, Ordering::SeqCst));
            let dir = plane.data_dir.join("endpoints").join(endpoint).join(&label);
            let (archive, model_dir) = (archive.clone(), dir.join("model"));
            let _ = std::fs::remove_dir_all(&dir);
            let unpacked = tokio::task::spawn_blocking(move || container::unpack(&archive, &model_dir)).await;
            match unpacked {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("model {}: cannot extract {}: {e}", v.model_name, v.model_name)),
                Err(e) => return Err(format!("extracting model {}: {e}", v.model_name)),
            }
            let inst = start_instance(plane, endpoint, &v.variant_name, &label, &dir, 0).await.map_err(|e| e.to_string())?;
            started.push(Arc::new(inst));
        }
    }
    let checks = futures::future::join_all(started.iter().map(|i| wait_healthy(plane, i))).await;
    if let Some(Err(why)) = checks.into_iter().find(|r| r.is_err()) {
        let variant = started.first().map(|i| i.variant.clone()).unwrap_or_default();
        return Err(format!("The primary container for production variant {variant} did not pass the ping health check: {why}"));
    }
    Ok(started)
}

/// How a deployment was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deploy {
    Create,
    Update,
    Recover,
}

async fn deploy(plane: Arc<Mlplane>, fleet: Arc<Fleet>, kind: Deploy) {
    let name = fleet.name.clone();
    let Ok(Some(row)) = plane.store.endpoint(&name) else {
        fleet.deploying.store(false, Ordering::SeqCst);
        return;
    };
    let target = match kind {
        Deploy::Update => row.pending_config.clone().unwrap_or_else(|| row.config_name.clone()),
        Deploy::Create | Deploy::Recover => row.config_name.clone(),
    };
    if kind != Deploy::Update {
        let dir = plane.data_dir.join("endpoints").join(&name);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
    let outcome = bring_up(&plane, &fleet, &target).await;
    let t = now();
    match (kind, outcome) {
        (Deploy::Create | Deploy::Recover, Ok(instances)) => {
            fleet.set_route(instances);
            let _ = plane.store.update_endpoint(&name, |e| {
                e.status = EndpointStatus::InService;
                if kind == Deploy::Create {
                    e.failure_reason = None;
                }
                e.last_modified = t;
            });
        }
        (Deploy::Create | Deploy::Recover, Err(why)) => {
            let _ = plane.store.update_endpoint(&name, |e| {
                e.status = EndpointStatus::Failed;
                e.failure_reason = Some(why);
                e.last_modified = t;
            });
        }
        (Deploy::Update, Ok(instances)) => {
            // Traffic moves only now that every new process is healthy; the old ones finish
            // what they are answering, then stop.
            let old = fleet.set_route(instances);
            let _ = plane.store.update_endpoint(&name, |e| {
                e.status = EndpointStatus::InService;
                e.config_name = target.clone();
                e.pending_config = None;
                e.failure_reason = None;
                e.last_modified = t;
            });
            fleet.deploying.store(false, Ordering::SeqCst);
            drain(&plane, old).await;
            return;
        }
        (Deploy::Update, Err(why)) => {
            let _ = plane.store.update_endpoint(&name, |e| {
                e.status = EndpointStatus::InService;
                e.failure_reason = Some(format!("Update to endpoint config {target} failed and the endpoint kept config {}: {why}", e.config_name));
                e.pending_config = None;
                e.last_modified = t;
            });
        }
    }
    fleet.deploying.store(false, Ordering::SeqCst);
}

/// Waits for requests in flight on `old` to finish (at most the drain timeout), then stops the
/// processes and removes their directories.
async fn drain(plane: &Mlplane, old: Arc<Vec<Arc<Instance>>>) {
    for i in old.iter() {
        i.retired.store(true, Ordering::SeqCst);
    }
    let deadline = tokio::time::Instant::now() + plane.config.drain_timeout;
    while old.iter().any(|i| i.inflight.load(Ordering::SeqCst) > 0) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    futures::future::join_all(old.iter().map(|i| i.stop(Duration::from_secs(30)))).await;
    for i in old.iter() {
        let _ = std::fs::remove_dir_all(&i.dir);
    }
}

/// Restarts a crashed process in its directory, backing off between attempts, until it is
/// healthy; then it rejoins the route and the endpoint goes back InService.
async fn restart(plane: Arc<Mlplane>, fleet: Arc<Fleet>, dead: Arc<Instance>, exit: String) {
    let mut attempt = dead.restarts + 1;
    loop {
        let backoff = plane.config.restart_backoff.saturating_mul(1 << (attempt - 1).min(16)).min(plane.config.restart_max);
        tokio::time::sleep(backoff).await;
        let started = start_instance(&plane, &fleet.name, &dead.variant, &dead.label, &dead.dir, attempt).await;
        let outcome = match started {
            Ok(inst) => {
                let inst = Arc::new(inst);
                wait_healthy(&plane, &inst).await.map(|_| inst)
            }
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(inst) => {
                fleet.edit_route(|r| r.push(inst));
                let t = now();
                let _ = plane.store.update_endpoint(&fleet.name, |e| {
                    if e.status == EndpointStatus::SystemUpdating {
                        e.status = EndpointStatus::InService;
                    }
                    e.failure_reason = Some(format!(
                        "Serving process {} exited with {exit}; it was restarted (restart {attempt}) and is healthy again.",
                        dead.label
                    ));
                    e.last_modified = t;
                });
                fleet.restarting.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            Err(why) => {
                let t = now();
                let _ = plane.store.update_endpoint(&fleet.name, |e| {
                    e.failure_reason = Some(format!(
                        "Serving process {} exited with {exit}; restart {attempt} failed ({why}); retrying.",
                        dead.label
                    ));
                    e.last_modified = t;
                });
                attempt += 1;
            }
        }
    }
}

/// One supervisor pass over the endpoints: start what rows ask for, restart what crashed, tear
/// down what was deleted.
pub(crate) async fn reconcile(plane: &Arc<Mlplane>) -> Result<()> {
    let rows = plane.store.endpoints()?;
    let names: std::collections::HashSet<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    for fleet in plane.fleets.all() {
        if !names.contains(fleet.name.as_str()) {
            if let Some(f) = plane.fleets.remove(&fleet.name) {
                let plane = plane.clone();
                tokio::spawn(async move {
                    f.shutdown(Duration::from_secs(30)).await;
                    let dir = plane.data_dir.join("endpoints").join(&f.name);
                    if let Ok(entries) = std::fs::read_dir(&dir) {
                        for e in entries.flatten().filter(|e| e.path().is_dir()) {
                            let _ = std::fs::remove_dir_all(e.path());
                        }
                    }
                });
            }
        }
    }
    for row in rows {
        let fleet = plane.fleets.ensure(&row.name);
        // Crashed processes leave the route at once and are restarted.
        let dead: Vec<(Arc<Instance>, std::process::ExitStatus)> =
            fleet.route().iter().filter_map(|i| i.exited().map(|s| (i.clone(), s))).collect();
        for (inst, status) in dead {
            fleet.edit_route(|r| r.retain(|i| !Arc::ptr_eq(i, &inst)));
            fleet.restarting.fetch_add(1, Ordering::SeqCst);
            let exit = process::describe_exit(status);
            let t = now();
            plane.store.update_endpoint(&row.name, |e| {
                if e.status == EndpointStatus::InService {
                    e.status = EndpointStatus::SystemUpdating;
                }
                e.failure_reason = Some(format!("Serving process {} exited with {exit}; restarting it.", inst.label));
                e.last_modified = t;
            })?;
            fleet.spawn_task(restart(plane.clone(), fleet.clone(), inst, exit));
        }
        if fleet.busy() {
            continue;
        }
        let kind = match row.status {
            EndpointStatus::Creating => Some(Deploy::Create),
            EndpointStatus::Updating => Some(Deploy::Update),
            EndpointStatus::SystemUpdating if fleet.route().is_empty() => Some(Deploy::Recover),
            _ => None,
        };
        if let Some(kind) = kind {
            fleet.deploying.store(true, Ordering::SeqCst);
            fleet.spawn_task(deploy(plane.clone(), fleet.clone(), kind));
        }
    }
    Ok(())
}
