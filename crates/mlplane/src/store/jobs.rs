//! Training-job rows.

use mlapi::{
    CreateTrainingJobRequest, MetricData, SecondaryStatus, SecondaryStatusTransition, TrainingJobStatus,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{enum_parse, enum_str, from_json, to_json, Store};
use crate::error::Result;

/// One training job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub seq: i64,
    pub name: String,
    pub arn: String,
    pub status: TrainingJobStatus,
    pub secondary: SecondaryStatus,
    pub failure_reason: Option<String>,
    pub request: CreateTrainingJobRequest,
    pub creation_time: f64,
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub last_modified: f64,
    pub transitions: Vec<SecondaryStatusTransition>,
    pub metrics: Vec<MetricData>,
    pub model_artifacts: Option<String>,
    pub stop_requested: bool,
}

const COLUMNS: &str = "seq, name, arn, status, secondary, failure_reason, request, creation_time, \
    start_time, end_time, last_modified, transitions, metrics, model_artifacts, stop_requested";

fn row_to_job(r: &Row) -> rusqlite::Result<(JobRow, [String; 5])> {
    let text = |i: usize| r.get::<_, String>(i);
    Ok((
        JobRow {
            seq: r.get(0)?,
            name: r.get(1)?,
            arn: r.get(2)?,
            status: TrainingJobStatus::InProgress,
            secondary: SecondaryStatus::Starting,
            failure_reason: r.get(5)?,
            request: CreateTrainingJobRequest::default(),
            creation_time: r.get(7)?,
            start_time: r.get(8)?,
            end_time: r.get(9)?,
            last_modified: r.get(10)?,
            transitions: Vec::new(),
            metrics: Vec::new(),
            model_artifacts: r.get(13)?,
            stop_requested: r.get::<_, i64>(14)? != 0,
        },
        [text(3)?, text(4)?, text(6)?, text(11)?, text(12)?],
    ))
}

fn finish(raw: (JobRow, [String; 5])) -> Result<JobRow> {
    let (mut job, [status, secondary, request, transitions, metrics]) = raw;
    job.status = enum_parse(&status)?;
    job.secondary = enum_parse(&secondary)?;
    job.request = from_json(&request)?;
    job.transitions = from_json(&transitions)?;
    job.metrics = from_json(&metrics)?;
    Ok(job)
}

pub(crate) fn load_job(c: &Connection, name: &str) -> Result<Option<JobRow>> {
    let raw = c
        .query_row(&format!("SELECT {COLUMNS} FROM ml_jobs WHERE name = ?1"), params![name], row_to_job)
        .optional()?;
    raw.map(finish).transpose()
}

fn save_job(c: &Connection, j: &JobRow) -> Result<()> {
    c.execute(
        "UPDATE ml_jobs SET status = ?2, secondary = ?3, failure_reason = ?4, start_time = ?5, end_time = ?6, \
         last_modified = ?7, transitions = ?8, metrics = ?9, model_artifacts = ?10, stop_requested = ?11 WHERE name = ?1",
        params![
            j.name,
            enum_str(&j.status),
            enum_str(&j.secondary),
            j.failure_reason,
            j.start_time,
            j.end_time,
            j.last_modified,
            to_json(&j.transitions),
            to_json(&j.metrics),
            j.model_artifacts,
            j.stop_requested as i64
        ],
    )?;
    Ok(())
}

impl JobRow {
    /// Moves to `secondary` (closing the open transition) and to `status` if given.
    pub fn transition(&mut self, now: f64, status: TrainingJobStatus, secondary: SecondaryStatus, message: &str) {
        if let Some(last) = self.transitions.last_mut() {
            if last.end_time.is_none() {
                last.end_time = Some(now);
            }
        }
        let terminal = status.is_terminal();
        self.transitions.push(SecondaryStatusTransition {
            status: secondary,
            start_time: now,
            end_time: terminal.then_some(now),
            status_message: message.to_string(),
        });
        self.status = status;
        self.secondary = secondary;
        self.last_modified = now;
    }
}

impl Store {
    /// Inserts a new job; `false` if the name is taken.
    pub fn insert_job(&self, job: &JobRow) -> Result<bool> {
        self.tx(|tx| {
            if load_job(tx, &job.name)?.is_some() {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO ml_jobs (name, arn, status, secondary, request, creation_time, last_modified, transitions, metrics) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    job.name,
                    job.arn,
                    enum_str(&job.status),
                    enum_str(&job.secondary),
                    to_json(&job.request),
                    job.creation_time,
                    job.last_modified,
                    to_json(&job.transitions),
                    to_json(&job.metrics)
                ],
            )?;
            Ok(true)
        })
    }

    pub fn job(&self, name: &str) -> Result<Option<JobRow>> {
        self.read(|c| load_job(c, name))
    }

    /// Loads, changes and saves one job in one transaction; `None` if it does not exist.
    pub fn update_job<T>(&self, name: &str, f: impl FnOnce(&mut JobRow) -> T) -> Result<Option<(JobRow, T)>> {
        self.tx(|tx| {
            let Some(mut job) = load_job(tx, name)? else { return Ok(None) };
            let out = f(&mut job);
            save_job(tx, &job)?;
            Ok(Some((job, out)))
        })
    }

    /// Every job, in creation order.
    pub fn jobs(&self) -> Result<Vec<JobRow>> {
        self.read(|c| {
            let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM ml_jobs ORDER BY seq"))?;
            let raw: Vec<_> = st.query_map([], row_to_job)?.collect::<rusqlite::Result<_>>()?;
            raw.into_iter().map(finish).collect()
        })
    }

    /// Jobs with `status`, in creation order.
    pub fn jobs_with_status(&self, status: TrainingJobStatus) -> Result<Vec<JobRow>> {
        self.read(|c| {
            let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM ml_jobs WHERE status = ?1 ORDER BY seq"))?;
            let raw: Vec<_> = st.query_map(params![enum_str(&status)], row_to_job)?.collect::<rusqlite::Result<_>>()?;
            raw.into_iter().map(finish).collect()
        })
    }
}
