//! `movies.csv` rows: MovieLens-style titles with a year (`"Quiet River, The (1994)"`, articles
//! moved to the end as MovieLens does, hence quoted) and pipe-separated genres.

use super::fmt::{push_csv_field, push_u64};
use crate::rng::Rng;

const ADJECTIVES: &[&str] = &[
    "Quiet", "Broken", "Silent", "Golden", "Last", "Hidden", "Wild", "Dark", "Little", "Crimson",
    "Endless", "Lost", "Electric", "Frozen", "Midnight", "Secret", "Savage", "Lonely", "Burning",
    "Distant", "Final", "Forgotten", "Hollow", "Iron", "Restless", "Sweet", "Velvet", "Wicked",
];
const NOUNS: &[&str] = &[
    "River", "Heart", "Road", "City", "Summer", "Night", "Dream", "Garden", "Mirror", "Storm",
    "Promise", "Kingdom", "Shadow", "Island", "Winter", "Letter", "Game", "Harbor", "Machine",
    "Ghost", "Empire", "Station", "Frontier", "Orchard", "Signal", "Voyage", "Witness", "Hotel",
];
const TAILS: &[&str] = &[
    "Affair", "Story", "Returns", "Diaries", "Protocol", "Blues", "Legacy", "Connection", "Club",
    "Rising", "Project", "Chronicles",
];
const NAMES: &[&str] = &["Harry", "Alice", "Marco", "June", "Oscar", "Mabel", "Viktor", "Lena", "Sam", "Dolores"];

/// MovieLens's genres in its (alphabetical) order, with rough shares of genre tags there.
const GENRES: &[(&str, f64)] = &[
    ("Action", 7.0),
    ("Adventure", 4.5),
    ("Animation", 2.5),
    ("Children", 3.0),
    ("Comedy", 17.0),
    ("Crime", 5.0),
    ("Documentary", 5.0),
    ("Drama", 25.0),
    ("Fantasy", 3.0),
    ("Film-Noir", 0.5),
    ("Horror", 5.5),
    ("IMAX", 0.5),
    ("Musical", 1.5),
    ("Mystery", 3.0),
    ("Romance", 7.5),
    ("Sci-Fi", 3.5),
    ("Thriller", 8.5),
    ("War", 2.0),
    ("Western", 1.5),
];

fn pick<'a>(rng: &mut Rng, words: &[&'a str]) -> &'a str {
    words[rng.below(words.len() as u64) as usize]
}

/// A title without the year.
fn title(rng: &mut Rng) -> String {
    let roll = rng.next_f64();
    let mut t = if roll < 0.30 {
        format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS))
    } else if roll < 0.45 {
        format!("{} {} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS), pick(rng, TAILS))
    } else if roll < 0.60 {
        // MovieLens moves a leading article to the end: "Usual Suspects, The".
        let article = if rng.next_f64() < 0.8 { "The" } else { "A" };
        format!("{} {}, {article}", pick(rng, ADJECTIVES), pick(rng, NOUNS))
    } else if roll < 0.72 {
        format!("{}'s {}", pick(rng, NAMES), pick(rng, NOUNS))
    } else if roll < 0.84 {
        format!("{} and the {}", pick(rng, NOUNS), pick(rng, NOUNS))
    } else if roll < 0.94 {
        format!("{}: {} {}", pick(rng, NOUNS), pick(rng, ADJECTIVES), pick(rng, TAILS))
    } else {
        format!("{} of the {}", pick(rng, NOUNS), pick(rng, NOUNS))
    };
    if rng.next_f64() < 0.05 {
        t.push_str(if rng.next_f64() < 0.5 { " 2" } else { " II" });
    }
    t
}

/// Release year: movies later in id order tend to be newer, as MovieLens adds films as they come.
fn year(position: f64, rng: &mut Rng) -> u64 {
    let centre = 1975.0 + 42.0 * position;
    (centre + 15.0 * rng.normal()).round().clamp(1902.0, 2019.0) as u64
}

/// Appends the pipe-separated genres, or `(no genres listed)` for about 1% of movies.
fn push_genres(buf: &mut Vec<u8>, rng: &mut Rng) {
    if rng.next_f64() < 0.01 {
        buf.extend_from_slice(b"(no genres listed)");
        return;
    }
    let roll = rng.next_f64();
    let want = [0.40, 0.70, 0.90, 0.98].iter().filter(|&&p| roll >= p).count() + 1;
    let total: f64 = GENRES.iter().map(|g| g.1).sum();
    let mut chosen = [false; GENRES.len()];
    let mut have = 0;
    while have < want {
        let mut x = rng.next_f64() * total;
        let g = GENRES.iter().position(|g| {
            x -= g.1;
            x < 0.0
        });
        let g = g.unwrap_or(GENRES.len() - 1);
        if !chosen[g] {
            chosen[g] = true;
            have += 1;
        }
    }
    let names = GENRES.iter().zip(chosen).filter(|(_, c)| *c).map(|(g, _)| g.0);
    for (k, name) in names.enumerate() {
        if k > 0 {
            buf.push(b'|');
        }
        buf.extend_from_slice(name.as_bytes());
    }
}

/// The whole `movies.csv`, header included.
pub(super) fn movies_csv(ids: &[i64], rng: &mut Rng) -> Vec<u8> {
    let mut buf = Vec::with_capacity(ids.len() * 48 + 32);
    buf.extend_from_slice(b"movieId,title,genres\n");
    let n = ids.len().max(1) as f64;
    for (k, &id) in ids.iter().enumerate() {
        push_u64(&mut buf, id as u64);
        buf.push(b',');
        let full = format!("{} ({})", title(rng), year(k as f64 / n, rng));
        push_csv_field(&mut buf, &full);
        buf.push(b',');
        push_genres(&mut buf, rng);
        buf.push(b'\n');
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_look_like_movielens() {
        let ids: Vec<i64> = (1..=2000).collect();
        let text = String::from_utf8(movies_csv(&ids, &mut Rng::new(4))).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("movieId,title,genres"));
        let mut quoted = 0;
        for line in lines {
            let (id, rest) = line.split_once(',').unwrap();
            assert!(id.parse::<i64>().is_ok());
            let (title, genres) = if let Some(q) = rest.strip_prefix('"') {
                quoted += 1;
                let (t, g) = q.split_once("\",").unwrap();
                assert!(t.contains(','));
                (t, g)
            } else {
                rest.rsplit_once(',').unwrap()
            };
            assert!(title.ends_with(')') && title[title.len() - 6..].starts_with('('), "{title}");
            assert!(genres == "(no genres listed)" || genres.split('|').all(|g| GENRES.iter().any(|x| x.0 == g)), "{genres}");
        }
        assert!(quoted > 100, "{quoted}");
    }
}
