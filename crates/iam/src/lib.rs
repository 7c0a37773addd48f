//! recpipe iam.
