//! A query's rows as Arrow batches, held in memory while small and written to a file under
//! `<data>/warehouse/results/` once they pass a size, so a large result waiting to be fetched
//! (result chunks, SQL API partitions) costs disk, not memory. Clients read runs of whole batches
//! ([`ArrowRows::batches`]); the file goes when the last copy of the result does.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use duckdb::arrow::datatypes::SchemaRef;
use duckdb::arrow::record_batch::RecordBatch;

use crate::WarehouseError;

enum Store {
    Memory(Vec<RecordBatch>),
    /// An Arrow IPC file holding the batches in order; removed on drop.
    File(PathBuf),
}

struct Inner {
    schema: Option<SchemaRef>,
    /// Rows and in-memory bytes of each batch, in order.
    rows: Vec<usize>,
    bytes: Vec<usize>,
    store: Store,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Store::File(p) = &self.store {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Cheap to clone: copies share the batches (or the file).
#[derive(Clone)]
pub struct ArrowRows(Arc<Inner>);

impl std::fmt::Debug for ArrowRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let spilled = matches!(self.0.store, Store::File(_));
        f.debug_struct("ArrowRows").field("batches", &self.0.rows.len()).field("rows", &self.num_rows()).field("spilled", &spilled).finish()
    }
}

impl PartialEq for ArrowRows {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0.store, &other.0.store) {
            (Store::Memory(a), Store::Memory(b)) => a == b,
            _ => Arc::ptr_eq(&self.0, &other.0),
        }
    }
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> WarehouseError {
    WarehouseError::Internal(format!("{what} {}: {e}", path.display()))
}

/// Builds an [`ArrowRows`] batch by batch, spilling to `dir` once `limit` bytes are held.
pub struct Collector {
    dir: PathBuf,
    limit: usize,
    schema: Option<SchemaRef>,
    rows: Vec<usize>,
    bytes: Vec<usize>,
    held: Vec<RecordBatch>,
    held_bytes: usize,
    file: Option<(PathBuf, arrow_ipc::writer::FileWriter<BufWriter<File>>)>,
}

impl Collector {
    pub fn new(dir: &Path, limit: usize) -> Collector {
        Collector { dir: dir.to_path_buf(), limit, schema: None, rows: Vec::new(), bytes: Vec::new(), held: Vec::new(), held_bytes: 0, file: None }
    }

    pub fn push(&mut self, b: RecordBatch) -> Result<(), WarehouseError> {
        let size = b.get_array_memory_size();
        self.schema.get_or_insert_with(|| b.schema());
        self.rows.push(b.num_rows());
        self.bytes.push(size);
        if self.file.is_none() && self.held_bytes + size <= self.limit {
            self.held_bytes += size;
            self.held.push(b);
            return Ok(());
        }
        if self.file.is_none() {
            std::fs::create_dir_all(&self.dir).map_err(|e| io("creating", &self.dir, e))?;
            let path = self.dir.join(format!("{}.arrow", crate::random::uuid()));
            let f = File::create(&path).map_err(|e| io("creating", &path, e))?;
            let schema = self.schema.clone().unwrap_or_else(|| b.schema());
            let mut w = arrow_ipc::writer::FileWriter::try_new(BufWriter::new(f), &schema).map_err(|e| io("writing", &path, e))?;
            for h in std::mem::take(&mut self.held) {
                w.write(&h).map_err(|e| io("writing", &path, e))?;
            }
            self.file = Some((path, w));
        }
        let (path, w) = self.file.as_mut().expect("opened above");
        w.write(&b).map_err(|e| io("writing", path, e))
    }

    pub fn finish(self) -> Result<ArrowRows, WarehouseError> {
        let store = match self.file {
            None => Store::Memory(self.held),
            Some((path, mut w)) => {
                w.finish().map_err(|e| io("writing", &path, e))?;
                Store::File(path)
            }
        };
        Ok(ArrowRows(Arc::new(Inner { schema: self.schema, rows: self.rows, bytes: self.bytes, store })))
    }
}

impl ArrowRows {
    /// Rows held in memory, as they are.
    pub fn in_memory(batches: Vec<RecordBatch>) -> ArrowRows {
        let schema = batches.first().map(RecordBatch::schema);
        let rows = batches.iter().map(RecordBatch::num_rows).collect();
        let bytes = batches.iter().map(RecordBatch::get_array_memory_size).collect();
        ArrowRows(Arc::new(Inner { schema, rows, bytes, store: Store::Memory(batches) }))
    }

    /// The schema of the batches; `None` when there are none.
    pub fn schema(&self) -> Option<&SchemaRef> {
        self.0.schema.as_ref()
    }

    pub fn num_rows(&self) -> usize {
        self.0.rows.iter().sum()
    }

    /// Rows of each batch, in order.
    pub fn batch_rows(&self) -> &[usize] {
        &self.0.rows
    }

    /// In-memory bytes of the batches in `range`.
    pub fn bytes(&self, range: Range<usize>) -> usize {
        self.0.bytes[range].iter().sum()
    }

    pub fn is_spilled(&self) -> bool {
        matches!(self.0.store, Store::File(_))
    }

    /// The batches in `range` (read from the file when spilled).
    pub fn batches(&self, range: Range<usize>) -> Result<Vec<RecordBatch>, WarehouseError> {
        match &self.0.store {
            Store::Memory(b) => Ok(b[range].to_vec()),
            Store::File(path) => {
                let f = File::open(path).map_err(|e| io("opening", path, e))?;
                let mut r = arrow_ipc::reader::FileReader::try_new(BufReader::new(f), None).map_err(|e| io("reading", path, e))?;
                r.set_index(range.start).map_err(|e| io("reading", path, e))?;
                r.take(range.len()).map(|b| b.map_err(|e| io("reading", path, e))).collect()
            }
        }
    }
}

/// Runs of whole batches (indices into the batches) of at least `per` rows each, the last one
/// possibly smaller; none for no batches. SQL API partitions and connector chunks are these.
pub fn batch_runs(rows: &[usize], per: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut n) = (0, 0);
    for (i, r) in rows.iter().enumerate() {
        n += r;
        if n >= per.max(1) {
            out.push(start..i + 1);
            (start, n) = (i + 1, 0);
        }
    }
    if start < rows.len() {
        out.push(start..rows.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::arrow::array::{ArrayRef, Int64Array};
    use duckdb::arrow::datatypes::{DataType, Field, Schema};

    fn batch(from: i64, n: i64) -> RecordBatch {
        let a: ArrayRef = Arc::new(Int64Array::from((from..from + n).collect::<Vec<_>>()));
        RecordBatch::try_new(Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)])), vec![a]).unwrap()
    }

    #[test]
    fn large_results_spill_to_a_file_that_goes_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Collector::new(dir.path(), batch(0, 1000).get_array_memory_size() * 2);
        for i in 0..10 {
            c.push(batch(i * 1000, 1000)).unwrap();
        }
        let r = c.finish().unwrap();
        assert!(r.is_spilled());
        assert_eq!(r.num_rows(), 10_000);
        let got = r.batches(3..5).unwrap();
        assert_eq!(got, vec![batch(3000, 1000), batch(4000, 1000)], "batches read back in place");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let copy = r.clone();
        drop(r);
        assert_eq!(copy.batches(9..10).unwrap()[0], batch(9000, 1000));
        drop(copy);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the file is removed with the last copy");

        let mut small = Collector::new(dir.path(), 1 << 30);
        small.push(batch(0, 10)).unwrap();
        let r = small.finish().unwrap();
        assert!(!r.is_spilled() && r.batches(0..1).unwrap() == vec![batch(0, 10)]);
    }

    #[test]
    fn runs_are_whole_batches() {
        assert_eq!(batch_runs(&[3, 3, 3, 1], 5), vec![0..2, 2..4]);
        assert_eq!(batch_runs(&[3, 3, 3, 1], 100), vec![0..4]);
        assert!(batch_runs(&[], 5).is_empty());
    }
}
