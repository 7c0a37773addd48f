//! The one supervisor loop. It wakes when a request commits a row (or every tick), and makes
//! processes follow rows: it starts queued jobs while slots are free (oldest first), delivers
//! stop requests, notices runners that died, and reconciles endpoint fleets. A panic in one
//! pass is logged and the loop goes on; a panic in a job runner fails that job only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use mlapi::{SecondaryStatus, TrainingJobStatus};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::jobs::metrics::Progress;
use crate::jobs::run::{self, StopCause};
use crate::objects::S3Url;
use crate::{now, Mlplane};

struct RunningJob {
    handle: JoinHandle<()>,
    stop: watch::Sender<Option<StopCause>>,
    progress: Arc<Mutex<Progress>>,
}

pub struct Supervisor {
    wake: Arc<Notify>,
    jobs: Mutex<HashMap<String, RunningJob>>,
    task: Mutex<Option<JoinHandle<()>>>,
    stopped: AtomicBool,
}

impl Supervisor {
    pub fn new() -> Supervisor {
        Supervisor { wake: Arc::new(Notify::new()), jobs: Mutex::new(HashMap::new()), task: Mutex::new(None), stopped: AtomicBool::new(false) }
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RunningJob>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn progress(&self, job: &str) -> Option<Progress> {
        self.lock().get(job).map(|r| r.progress.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    pub fn is_running(&self, job: &str) -> bool {
        self.lock().get(job).is_some_and(|r| !r.handle.is_finished())
    }

    /// Stops the loop and every job runner (their processes are killed as the tasks drop).
    pub async fn shutdown(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        if let Some(t) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
        let running: Vec<RunningJob> = self.lock().drain().map(|(_, r)| r).collect();
        for r in running {
            r.handle.abort();
            let _ = r.handle.await;
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Some(t) = self.task.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
        for (_, r) in self.jobs.get_mut().unwrap_or_else(|p| p.into_inner()).drain() {
            r.handle.abort();
        }
    }
}

/// Starts the loop. It holds the plane weakly, so dropping the last `Arc<Mlplane>` ends it.
pub fn start(plane: &Arc<Mlplane>) {
    let weak = Arc::downgrade(plane);
    let wake = plane.supervisor.wake.clone();
    let tick = plane.config.tick;
    let handle = tokio::spawn(async move {
        loop {
            {
                let Some(plane) = weak.upgrade() else { break };
                if plane.supervisor.stopped.load(Ordering::SeqCst) {
                    break;
                }
                match std::panic::AssertUnwindSafe(pass(&plane)).catch_unwind().await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("mlplane supervisor: {e}"),
                    Err(_) => eprintln!("mlplane supervisor: a pass panicked; continuing"),
                }
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(tick) => {}
            }
        }
    });
    *plane.supervisor.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
}

async fn pass(plane: &Arc<Mlplane>) -> Result<()> {
    jobs_pass(plane).await?;
    crate::endpoints::fleet::reconcile(plane).await
}

async fn jobs_pass(plane: &Arc<Mlplane>) -> Result<()> {
    // Runners that ended: a panic fails the job (its row would otherwise stay InProgress).
    let finished: Vec<(String, RunningJob)> = {
        let mut jobs = plane.supervisor.lock();
        let names: Vec<String> = jobs.iter().filter(|(_, r)| r.handle.is_finished()).map(|(n, _)| n.clone()).collect();
        names.into_iter().filter_map(|n| jobs.remove(&n).map(|r| (n, r))).collect()
    };
    for (name, r) in finished {
        if let Err(e) = r.handle.await {
            if e.is_panic() {
                let t = now();
                plane.store.update_job(&name, |j| {
                    if !j.status.is_terminal() {
                        j.end_time = Some(t);
                        j.transition(t, TrainingJobStatus::Failed, SecondaryStatus::Failed, "Training job failed");
                        j.failure_reason = Some("InternalServerError: the job's runner failed unexpectedly; see the server log".into());
                    }
                })?;
            }
        }
    }

    // Stop requests: running jobs get the signal, queued ones end at once.
    for job in plane.store.jobs_with_status(TrainingJobStatus::Stopping)? {
        let delivered = plane.supervisor.lock().get(&job.name).map(|r| r.stop.send_replace(Some(StopCause::Requested))).is_some();
        if !delivered {
            let t = now();
            plane.store.update_job(&job.name, |j| {
                j.end_time = Some(t);
                j.transition(t, TrainingJobStatus::Stopped, SecondaryStatus::Stopped, "Training job stopped before it started");
            })?;
        }
    }

    // The queue, oldest first.
    let queued: Vec<String> = plane
        .store
        .jobs_with_status(TrainingJobStatus::InProgress)?
        .into_iter()
        .filter(|j| j.secondary == SecondaryStatus::Starting)
        .map(|j| j.name)
        .collect();
    let mut jobs = plane.supervisor.lock();
    for name in queued {
        if jobs.len() >= plane.config.max_concurrent_jobs.max(1) {
            break;
        }
        if jobs.contains_key(&name) {
            continue;
        }
        let (stop, stop_rx) = watch::channel(None);
        let progress = Arc::new(Mutex::new(Progress::default()));
        let handle = tokio::spawn(run::run(plane.clone(), name.clone(), stop_rx, progress.clone()));
        jobs.insert(name, RunningJob { handle, stop, progress });
    }
    Ok(())
}

impl Mlplane {
    /// After a restart: jobs that were running fail (their processes died with the server) and
    /// their half-written artifacts are swept; endpoints that were serving are started again,
    /// an interrupted update falls back to the config that was serving.
    pub(crate) async fn recover(&self) -> Result<()> {
        let t = now();
        for status in [TrainingJobStatus::InProgress, TrainingJobStatus::Stopping] {
            for job in self.store.jobs_with_status(status)? {
                if status == TrainingJobStatus::InProgress && job.secondary == SecondaryStatus::Starting {
                    continue; // still queued: it simply runs now
                }
                self.store.update_job(&job.name, |j| {
                    j.end_time = Some(t);
                    j.transition(t, TrainingJobStatus::Failed, SecondaryStatus::Failed, "Training job failed");
                    j.failure_reason = Some("InternalServerError: the server stopped while the job ran".into());
                })?;
                if let Some(out) = job.request.output_data_config.as_ref().and_then(|o| S3Url::parse(&o.s3_output_path).ok()) {
                    let prefix = out.join(&format!("{}/output", job.name));
                    for partial in self.objects.partials(&prefix).await.unwrap_or_default() {
                        let _ = self.objects.delete(&partial).await;
                    }
                }
            }
        }
        for ep in self.store.endpoints()? {
            use mlapi::EndpointStatus::*;
            self.store.update_endpoint(&ep.name, |e| match e.status {
                InService | SystemUpdating => {
                    e.status = SystemUpdating;
                    e.last_modified = t;
                }
                Updating | RollingBack => {
                    e.failure_reason = Some(format!(
                        "The server stopped during the update to endpoint config {}; the endpoint was restored on config {}.",
                        e.pending_config.clone().unwrap_or_default(),
                        e.config_name
                    ));
                    e.pending_config = None;
                    e.status = SystemUpdating;
                    e.last_modified = t;
                }
                Creating | OutOfService | Deleting | Failed | UpdateRollbackFailed => {}
            })?;
            self.fleets.ensure(&ep.name);
        }
        Ok(())
    }
}
