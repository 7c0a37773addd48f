//! `load movielens` on a written sample (quoted titles with commas, ml-1m `::` files, a bad
//! line) and on ml-latest-small when present.

use std::path::PathBuf;

use crate::support::*;

fn count(f: &Fixture, table: &str) -> i64 {
    let mut s = f.admin();
    let r = run(&mut s, &format!("select count(*) from movielens.public.{table}"));
    r.rows[0][0].as_deref().unwrap().parse().unwrap()
}

#[test]
fn loads_csv_and_dat_files_and_reloads_atomically() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("movies.csv"), "movieId,title,genres\n1,Toy Story (1995),Animation|Comedy\n11,\"American President, The (1995)\",Comedy|Drama\n").unwrap();
    std::fs::write(dir.path().join("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,11,3.5,964981247\n2,1,5.0,964982224\n").unwrap();
    let s = warehouse::load::load_movielens(&f.wh, dir.path(), &|_, _, _| {}).unwrap();
    assert_eq!((s.movies, s.ratings), (2, 3));
    let mut sess = f.admin();
    let r = run(&mut sess, "select title from movielens.public.movies where movieid = 11");
    assert_eq!(r.rows[0][0].as_deref(), Some("American President, The (1995)"));
    let r = run(&mut sess, "select rating, timestamp from movielens.public.ratings where userid = 1 and movieid = 11");
    assert_eq!(r.rows[0][0].as_deref(), Some("3.5"));
    assert_eq!(r.rows[0][1].as_deref(), Some("964981247.000000000"));

    // A malformed file names the file and line and leaves the loaded tables as they were.
    std::fs::write(dir.path().join("ratings.csv"), "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,x,3.5,964981247\n").unwrap();
    let e = warehouse::load::load_movielens(&f.wh, dir.path(), &|_, _, _| {}).unwrap_err().to_string();
    assert!(e.contains("ratings.csv:3: movieId is not an integer"), "{e}");
    assert_eq!(count(&f, "ratings"), 3);
    let r = run(&mut f.admin(), "show tables in schema movielens.public");
    assert_eq!(col(&r, 1), vec![Some("MOVIES".to_string()), Some("RATINGS".to_string())], "a failed load leaves no other table");

    // ml-1m's `::` files; a reload replaces both tables.
    let one_m = tempfile::tempdir().unwrap();
    std::fs::write(one_m.path().join("movies.dat"), "1::Toy Story (1995)::Animation\n2::Jumanji (1995)::Adventure\n3::X::Y\n").unwrap();
    std::fs::write(one_m.path().join("ratings.dat"), "1::1::5::978300760\n").unwrap();
    let s = warehouse::load::load_movielens(&f.wh, one_m.path(), &|_, _, _| {}).unwrap();
    assert_eq!((s.movies, s.ratings), (3, 1));
    assert_eq!(count(&f, "movies"), 3);
    assert_eq!(count(&f, "ratings"), 1);

    let missing = tempfile::tempdir().unwrap();
    let e = warehouse::load::load_movielens(&f.wh, missing.path(), &|_, _, _| {}).unwrap_err().to_string();
    assert!(e.contains("movies.csv"), "{e}");
}

#[test]
fn loads_ml_latest_small() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/movielens/ml-latest-small");
    if !dir.join("ratings.csv").is_file() {
        println!("skipped: {} is absent", dir.display());
        return;
    }
    let f = fixture();
    let t = std::time::Instant::now();
    let s = warehouse::load::load_movielens(&f.wh, &dir, &|_, _, _| {}).unwrap();
    println!("ml-latest-small: {} movies, {} ratings in {:.2} s", s.movies, s.ratings, t.elapsed().as_secs_f64());
    assert_eq!(s.ratings, 100_836);
    assert_eq!(s.movies, 9_742);
    assert_eq!(count(&f, "ratings"), 100_836);
}
