//! `recpipe load movielens` against a real `recpipe up`: the server killed (SIGKILL) at three
//! points of a load leaves the tables it had and no staging table after a restart; loads read
//! only inside the allowed directories; parse errors do not echo file content.
//!
//! The kill points are made exact with named pipes: the server reads a pipe as a file, so the
//! test knows how much it has read when it kills it (a write into a full pipe waits for it).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use crate::support::{recpipe, Up};

const PASSWORD: &str = "Load-crash-test-1";

fn up(data: &Path, load_dir: Option<&Path>) -> Up {
    let dir = load_dir.map(|d| d.to_string_lossy().to_string()).unwrap_or_default();
    let mut env = vec![("RECPIPE_ADMIN_PASSWORD", PASSWORD)];
    if load_dir.is_some() {
        env.push(("RECPIPE_LOAD_DIR", dir.as_str()));
    }
    Up::start_with(data, &env)
}

fn client(up: &Up, args: &[&str]) -> std::process::Command {
    let mut c = recpipe();
    c.args(args).args(["--endpoint-url", &up.url, "--user", "admin", "--password", PASSWORD]).env_remove("RECPIPE_TOKEN");
    c
}

/// `recpipe sql --format csv -q`: the rows, header dropped, each split at commas.
fn sql(up: &Up, q: &str) -> Vec<Vec<String>> {
    let out = client(up, &["sql", "--format", "csv", "-q", q]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{q}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout.lines().skip(1).filter(|l| !l.is_empty()).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

fn load(up: &Up, dir: &Path) -> (bool, String) {
    let out = client(up, &["load", "movielens", dir.to_str().unwrap()]).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn movies(n: usize) -> String {
    let mut s = String::from("movieId,title,genres\n");
    for i in 1..=n {
        s.push_str(&format!("{i},\"Movie {i}, The (2000)\",Drama\n"));
    }
    s
}

fn ratings(n: usize) -> String {
    let mut s = String::from("userId,movieId,rating,timestamp\n");
    for i in 0..n {
        s.push_str(&format!("{},{},{}.5,{}\n", i % 500 + 1, i % 40 + 1, i % 4 + 1, 964982703 + i));
    }
    s
}

/// A named pipe at `path`.
fn fifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// The pipe's writing end, once the server has opened it for reading.
///
/// The end that first finds a reader is the one returned (made blocking): closing it and opening
/// again would leave a moment with no writer, in which the server reads end-of-file and the
/// second open then waits for a reader that never comes.
fn writer(path: &Path, load: &mut Child) -> std::fs::File {
    use std::os::fd::AsRawFd;
    // Opening a pipe without a reader fails at once when non-blocking: poll until the server reads.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let file = loop {
        if let Ok(f) = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(path) {
            break f;
        }
        assert!(load.try_wait().unwrap().is_none(), "the load ended before reading the pipe");
        assert!(std::time::Instant::now() < deadline, "the server never opened {}", path.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let fd = file.as_raw_fd();
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert!(flags >= 0 && unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } == 0, "fcntl on {}", path.display());
    file
}

/// What `show tables` and counts say after a restart: (table names, movies, ratings).
fn state(up: &Up) -> (Vec<String>, String, String) {
    let names = sql(up, "show tables in schema movielens.public").into_iter().map(|r| r[1].clone()).collect();
    let movies = sql(up, "select count(*) as n from movielens.public.movies").remove(0).remove(0);
    let ratings = sql(up, "select count(*) as n from movielens.public.ratings").remove(0).remove(0);
    (names, movies, ratings)
}

enum Point {
    /// Part of movies.csv read.
    MidMovies,
    /// All of movies.csv, part of ratings.csv read.
    MidRatings,
    /// Every row of both files read, the transaction not yet committed.
    AllRowsRead,
}

#[test]
fn a_load_killed_at_three_points_leaves_the_old_tables_and_no_staging_table() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let server = up(&data, None);
    let imports = data.join("imports");
    let base = imports.join("base");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("movies.csv"), movies(40)).unwrap();
    std::fs::write(base.join("ratings.csv"), ratings(300)).unwrap();
    let (ok, out) = load(&server, &base);
    assert!(ok && out.contains("loaded 40 movies"), "{out}");
    let before = (vec!["MOVIES".to_string(), "RATINGS".to_string()], "40".to_string(), "300".to_string());
    assert_eq!(state(&server), before);
    drop(server);

    // About 3 MB per pipe: more than the pipe's and the reader's buffers, so when the write
    // returns the server has appended rows it will never commit.
    let (many_movies, many_ratings) = (movies(100_000), ratings(120_000));
    for (n, point) in [Point::MidMovies, Point::MidRatings, Point::AllRowsRead].into_iter().enumerate() {
        let server = up(&data, None);
        let dir = imports.join(format!("crash{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let pipe = match point {
            Point::MidMovies => {
                std::fs::write(dir.join("ratings.csv"), ratings(10)).unwrap();
                dir.join("movies.csv")
            }
            Point::MidRatings | Point::AllRowsRead => {
                std::fs::write(dir.join("movies.csv"), movies(10)).unwrap();
                dir.join("ratings.csv")
            }
        };
        fifo(&pipe);
        let mut loading = client(&server, &["load", "movielens", dir.to_str().unwrap()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let mut w = writer(&pipe, &mut loading);
        let text = match point {
            Point::MidMovies => &many_movies,
            _ => &many_ratings,
        };
        match point {
            // Half the rows, then the kill while the server waits for more.
            Point::MidMovies | Point::MidRatings => w.write_all(&text.as_bytes()[..text.len() / 2]).unwrap(),
            // Every row; the pipe stays open, so the server waits for the end of the file.
            Point::AllRowsRead => w.write_all(text.as_bytes()).unwrap(),
        }
        drop(server); // SIGKILL
        drop(w);
        let _ = loading.wait();

        let server = up(&data, None);
        assert_eq!(state(&server), before, "after a kill at point {n}");
    }

    // The warehouse loads again after the crashes, and the listing keeps creation times.
    let server = up(&data, None);
    std::fs::write(base.join("ratings.csv"), ratings(500)).unwrap();
    let (ok, out) = load(&server, Path::new("base"));
    assert!(ok, "a relative name is found in imports/: {out}");
    let rows = sql(&server, "show tables in schema movielens.public");
    assert!(rows.iter().all(|r| !r[0].is_empty()), "created_on is filled: {rows:?}");
    assert_eq!(state(&server).2, "500");
}

#[test]
fn server_side_loads_read_only_the_allowed_directories_and_do_not_echo_content() {
    let home = tempfile::tempdir().unwrap();
    let (data, outside): (PathBuf, PathBuf) = (home.path().join("data"), home.path().join("elsewhere"));
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("movies.csv"), movies(3)).unwrap();
    std::fs::write(outside.join("ratings.csv"), ratings(3)).unwrap();
    let server = up(&data, None);
    for refused in [outside.clone(), PathBuf::from("/etc"), PathBuf::from("../../elsewhere")] {
        let (ok, out) = load(&server, &refused);
        assert!(!ok && out.contains("is not a folder inside the directories server-side loads may read"), "{refused:?}: {out}");
    }

    // A parse error names the file, line and field, not what the line holds.
    let bad = data.join("imports/bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("movies.csv"), movies(3)).unwrap();
    std::fs::write(bad.join("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,1\nroot:x:0:0:secret,1,4.0,1\n").unwrap();
    let (ok, out) = load(&server, &bad);
    assert!(!ok && out.contains("ratings.csv:3: userId is not an integer"), "{out}");
    assert!(!out.contains("secret"), "{out}");
    drop(server);

    // The operator's --load-dir (RECPIPE_LOAD_DIR) is readable too.
    let server = up(&data, Some(&outside));
    let (ok, out) = load(&server, &outside);
    assert!(ok && out.contains("loaded 3 movies"), "{out}");
}
