//! recpipe recommender engine.
