//! recpipe container.
