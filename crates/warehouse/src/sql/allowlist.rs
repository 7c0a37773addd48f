//! Which functions a statement may call, as data: every list the check consults lives here,
//! and nothing here depends on how a statement is parsed (the check runs on the syntax tree, in
//! `translate`).
//!
//! A call is allowed when its function is one of:
//! - a Snowflake function recpipe answers itself or translates ([`RECPIPE_FUNCTIONS`],
//!   [`SNOWFLAKE_TRANSLATIONS`], `functions::SNOWFLAKE_FUNCTIONS`), or an external function the session resolves (checked by the
//!   caller);
//! - an engine function on [`ENGINE_ALLOWED`]: reviewed, it reads nothing but its arguments
//!   (no table, catalog, setting, file, environment or other statement's SQL).
//!
//! Everything else is refused with `Unknown function`, including every engine function on
//! [`ENGINE_REFUSED`] (reviewed, and it reads something else) and any function the engine gains
//! later: a test lists the bundled engine's functions and fails on one on neither list.

use super::ident::ObjectName;

/// Functions recpipe answers itself: table functions and the session's context functions.
pub const RECPIPE_FUNCTIONS: [&str; 15] = [
    "FLATTEN",
    "GENERATOR",
    "TASK_HISTORY",
    "RESULT_SCAN",
    "LAST_QUERY_ID",
    "CURRENT_ACCOUNT",
    "CURRENT_CLIENT",
    "CURRENT_DATABASE",
    "CURRENT_REGION",
    "CURRENT_ROLE",
    "CURRENT_SCHEMA",
    "CURRENT_STATEMENT",
    "CURRENT_USER",
    "CURRENT_VERSION",
    "CURRENT_WAREHOUSE",
];

/// Snowflake functions recpipe renames to the engine function of the same arguments.
pub const SNOWFLAKE_TRANSLATIONS: [(&str, &str); 6] = [
    ("PARSE_JSON", "JSON"),
    ("TO_VARIANT", "TO_JSON"),
    ("TO_OBJECT", "TO_JSON"),
    ("ARRAY_CONSTRUCT", "JSON_ARRAY"),
    ("IFF", "IF"),
    ("NVL", "COALESCE"),
];

/// Schemas of the engine's own catalog. A call qualified with one of them is refused unless
/// recpipe answers it (`INFORMATION_SCHEMA.TASK_HISTORY`): their functions read the catalog.
pub const SYSTEM_SCHEMAS: [&str; 2] = ["INFORMATION_SCHEMA", "PG_CATALOG"];

/// The engine function a Snowflake function is renamed to.
pub fn translation(name: &str) -> Option<&'static str> {
    SNOWFLAKE_TRANSLATIONS.iter().find(|(s, _)| s.eq_ignore_ascii_case(name)).map(|(_, d)| *d)
}

/// True when an engine function of this name (any case) was reviewed and allowed.
pub fn engine_allows(name: &str) -> bool {
    ENGINE_ALLOWED.binary_search(&name.to_ascii_lowercase().as_str()).is_ok()
}

/// Why an engine function of this name (any case) was reviewed and refused, if it was.
pub fn engine_refuses(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    ENGINE_REFUSED.iter().find(|(_, names)| names.binary_search(&name.as_str()).is_ok()).map(|(why, _)| *why)
}

/// Whether a call of `name` is allowed by these lists (external functions aside). Engine
/// functions are looked up case-insensitively, as the engine does, quoted or not. recpipe's
/// own and translated functions are answered only when called by their bare name (and
/// `TASK_HISTORY` as `[db.]INFORMATION_SCHEMA.TASK_HISTORY`).
pub fn allows(name: &ObjectName) -> bool {
    let f = name.last().as_str();
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match &name.0[..name.0.len() - 1] {
        [] => RECPIPE_FUNCTIONS.iter().chain(super::functions::SNOWFLAKE_FUNCTIONS.iter()).any(|r| is(r, f)) || translation(f).is_some() || engine_allows(f),
        [.., q] if is(q.as_str(), "INFORMATION_SCHEMA") && is(f, "TASK_HISTORY") => true,
        qualifiers => !qualifiers.iter().any(|q| SYSTEM_SCHEMAS.iter().any(|s| is(s, q.as_str()))) && engine_allows(f),
    }
}

/// The engine's functions that read nothing but their arguments, lower case, sorted.
pub const ENGINE_ALLOWED: &[&str] = &[
    "abs", "acos", "acosh", "add", "age", "aggregate", "ago", "alias", "any_value", "apply", "approx_count_distinct",
    "approx_quantile", "approx_top_k", "arbitrary", "arg_max", "arg_max_null", "arg_max_nulls_last", "arg_min",
    "arg_min_null", "arg_min_nulls_last", "argmax", "argmin", "array_agg", "array_aggr", "array_aggregate",
    "array_append", "array_apply", "array_cat", "array_concat", "array_contains", "array_cosine_distance",
    "array_cosine_similarity", "array_cross_product", "array_distance", "array_distinct", "array_dot_product",
    "array_extract", "array_filter", "array_grade_up", "array_has", "array_has_all", "array_has_any", "array_indexof",
    "array_inner_product", "array_intersect", "array_length", "array_negative_dot_product",
    "array_negative_inner_product", "array_pop_back", "array_pop_front", "array_position", "array_prepend",
    "array_push_back", "array_push_front", "array_reduce", "array_resize", "array_reverse", "array_reverse_sort",
    "array_select", "array_slice", "array_sort", "array_to_json", "array_to_string", "array_transform",
    "array_unique", "array_value", "array_where", "array_zip", "ascii", "asin", "asinh", "assert_true", "atan",
    "atan2", "atanh", "avg", "bar", "base64", "bin", "binom", "bit_and", "bit_count", "bit_length", "bit_or",
    "bit_position", "bit_xor", "bitstring", "bitstring_agg", "bitstring_byte_comparable", "bool_and", "bool_or",
    "can_cast_implicitly", "cardinality", "cast_to_type", "cbrt", "ceil", "ceiling", "century", "char_length",
    "character_length", "chr", "coalesce", "combine", "combine_aggr", "concat", "concat_ws", "constant_or_null",
    "contains", "corr", "cos", "cosh", "cot", "count", "count_if", "count_star", "countif", "covar_pop", "covar_samp",
    "create_sort_key", "cume_dist", "current_date", "current_time", "current_timestamp", "damerau_levenshtein",
    "date_add", "date_diff", "date_part", "date_sub", "date_trunc", "datediff", "datepart", "datesub", "datetrunc",
    "day", "dayname", "dayofmonth", "dayofweek", "dayofyear", "days_in_month", "decade", "decimal_average",
    "decimal_division", "decode", "decode_sort_key", "degrees", "dense_rank", "divide", "editdist3", "element_at",
    "encode", "ends_with", "entropy", "enum_code", "enum_first", "enum_last", "enum_range", "enum_range_boundary",
    "epoch", "epoch_ms", "epoch_ns", "epoch_us", "equi_width_bins", "era", "error", "even", "exp", "factorial",
    "favg", "fdiv", "fill", "filter", "finalize", "first", "first_value", "flatten", "floor", "fmod", "format",
    "format_bytes", "formatreadabledecimalsize", "formatreadablesize", "from_base64", "from_binary", "from_hex",
    "from_json", "from_json_strict", "fsum", "gamma", "gcd", "gen_random_uuid", "generate_series",
    "generate_subscripts", "geomean", "geometric_mean", "get_bit", "get_current_timestamp", "get_type", "grade_up",
    "greatest", "greatest_common_divisor", "group_concat", "grouping", "grouping_id", "hamming", "hash", "hex",
    "histogram_exact", "hive_partition_component", "hour", "if", "ifnull", "ilike_escape", "instr",
    "is_histogram_other_bin", "isfinite", "isinf", "isnan", "isodow", "isoyear", "jaccard", "jaro_similarity",
    "jaro_winkler_similarity", "json", "json_array", "json_array_length", "json_contains", "json_deep_merge",
    "json_each", "json_exists", "json_extract", "json_extract_path", "json_extract_path_text", "json_extract_string",
    "json_geometry_format", "json_group_array", "json_group_object", "json_group_structure", "json_insert",
    "json_keys", "json_merge_patch", "json_merge_patch_diff", "json_normalize", "json_object", "json_pretty",
    "json_quote", "json_remove", "json_replace", "json_set", "json_strip_nulls", "json_structure", "json_transform",
    "json_transform_strict", "json_tree", "json_type", "json_valid", "json_value", "julian", "kahan_sum", "kurtosis",
    "kurtosis_pop", "lag", "last", "last_day", "last_value", "lcase", "lcm", "lead", "least", "least_common_multiple",
    "left", "left_grapheme", "len", "length", "length_grapheme", "levenshtein", "lgamma", "like_escape", "list",
    "list_aggr", "list_aggregate", "list_any_value", "list_append", "list_apply", "list_approx_count_distinct",
    "list_avg", "list_bit_and", "list_bit_or", "list_bit_xor", "list_bool_and", "list_bool_or", "list_cat",
    "list_concat", "list_contains", "list_cosine_distance", "list_cosine_similarity", "list_count", "list_distance",
    "list_distinct", "list_dot_product", "list_element", "list_entropy", "list_extract", "list_filter", "list_first",
    "list_grade_up", "list_has", "list_has_all", "list_has_any", "list_histogram", "list_indexof",
    "list_inner_product", "list_intersect", "list_kurtosis", "list_kurtosis_pop", "list_last", "list_mad", "list_max",
    "list_median", "list_min", "list_mode", "list_negative_dot_product", "list_negative_inner_product", "list_pack",
    "list_position", "list_prepend", "list_product", "list_reduce", "list_resize", "list_reverse",
    "list_reverse_sort", "list_select", "list_sem", "list_skewness", "list_slice", "list_sort", "list_stddev_pop",
    "list_stddev_samp", "list_string_agg", "list_sum", "list_transform", "list_unique", "list_value", "list_var_pop",
    "list_var_samp", "list_where", "list_zip", "listagg", "ln", "localtime", "localtimestamp", "log", "log10", "log2",
    "lower", "lpad", "ltrim", "lttb", "mad", "make_date", "make_time", "make_timestamp", "make_timestamp_ms",
    "make_timestamp_ns", "make_type", "map", "map_concat", "map_contains", "map_contains_entry", "map_contains_value",
    "map_entries", "map_extract", "map_extract_value", "map_from_entries", "map_keys", "map_values", "max", "max_by",
    "md5", "md5_number", "md5_number_lower", "md5_number_upper", "mean", "median", "microsecond", "millennium",
    "millisecond", "min", "min_by", "minute", "mismatches", "mod", "mode", "month", "monthname", "multiply",
    "nanosecond", "nextafter", "nfc_normalize", "normalized_interval", "not_ilike_escape", "not_like_escape", "now",
    "nth_value", "ntile", "nullif", "octet_length", "ord", "overlay", "parse_dirname", "parse_dirpath",
    "parse_filename", "parse_formatted_bytes", "parse_path", "path_join", "percent_rank", "pi", "position", "pow",
    "power", "prefix", "printf", "product", "quantile", "quantile_cont", "quantile_disc", "quarter", "radians",
    "random", "range", "rank", "rank_dense", "reduce", "regexp_escape", "regexp_extract", "regexp_extract_all",
    "regexp_full_match", "regexp_matches", "regexp_replace", "regexp_split_to_array", "regexp_split_to_table",
    "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy",
    "regr_syy", "remap_struct", "repeat", "replace", "replace_type", "reservoir_quantile", "reverse", "right",
    "right_grapheme", "round", "round_even", "roundbankers", "row", "row_number", "row_to_json", "rpad", "rtrim",
    "second", "sem", "set_bit", "sha1", "sha256", "sign", "signbit", "sin", "sinh", "skewness", "split", "split_part",
    "sqrt", "st_asbinary", "st_asgeojson", "st_astext", "st_aswkb", "st_aswkt", "st_crs", "st_geomfromgeojson",
    "st_geomfromwkb", "st_intersects_extent", "st_setcrs", "starts_with", "stats", "stddev", "stddev_pop",
    "stddev_samp", "str_split", "str_split_regex", "strftime", "string_agg", "string_split", "string_split_regex",
    "string_to_array", "strip_accents", "strlen", "strpos", "strptime", "struct_concat", "struct_contains",
    "struct_extract", "struct_extract_at", "struct_has", "struct_indexof", "struct_insert", "struct_keys",
    "struct_pack", "struct_position", "struct_update", "struct_values", "substr", "substring", "substring_grapheme",
    "subtract", "suffix", "sum", "sum_no_overflow", "sumkahan", "switch", "tan", "tanh", "time_bucket",
    "timetz_byte_comparable", "timezone", "timezone_hour", "timezone_minute", "to_aggregate_state", "to_base",
    "to_base64", "to_binary", "to_centuries", "to_days", "to_decades", "to_hex", "to_hours", "to_json",
    "to_microseconds", "to_millennia", "to_milliseconds", "to_minutes", "to_months", "to_quarters", "to_seconds",
    "to_timestamp", "to_weeks", "to_years", "today", "transaction_timestamp", "translate", "trim", "trunc", "try",
    "try_strptime", "typeof", "ucase", "unbin", "unhex", "unicode", "union_extract", "union_tag", "union_value",
    "unnest", "unpivot_list", "upper", "url_decode", "url_encode", "uuid", "uuid_extract_timestamp",
    "uuid_extract_version", "uuidv4", "uuidv7", "var_pop", "var_samp", "variance", "variant_array_length",
    "variant_bytes_to_variant", "variant_comparator", "variant_contains", "variant_exists", "variant_extract",
    "variant_extract_string", "variant_group_array", "variant_group_object", "variant_keys", "variant_normalize",
    "variant_to_parquet_variant", "variant_type", "variant_typeof", "vector_type", "vertex_extract", "wavg", "week",
    "weekday", "weekofyear", "weighted_avg", "xor", "year", "yearweek",
];

/// The engine's functions reviewed and refused, by the reason they are (lower case, sorted).
pub const ENGINE_REFUSED: [(&str, &[&str]); 5] = [
    (
        "run SQL given as text, or read a table named in a string",
        &[
            "arrow_scan", "arrow_scan_dumb", "histogram", "histogram_values", "invoke", "json_deserialize_sql",
            "json_execute_serialized_sql", "json_serialize_plan", "json_serialize_sql", "query", "query_table",
            "repeat_row", "seq_scan", "sql_auto_complete", "summary",
        ],
    ),
    (
        "read or write files, or the environment",
        &[
            "add_parquet_key", "copy_database", "getenv", "glob", "import_database", "jsonl", "parquet_bloom_probe",
            "parquet_file_metadata", "parquet_full_metadata", "parquet_kv_metadata", "parquet_metadata",
            "parquet_scan", "parquet_schema", "read_blob", "read_csv", "read_csv_auto", "read_duckdb", "read_json",
            "read_json_auto", "read_json_objects", "read_json_objects_auto", "read_ndjson", "read_ndjson_auto",
            "read_ndjson_objects", "read_parquet", "read_single_csv_file", "read_single_json_file",
            "read_single_parquet_file", "read_text", "read_xlsx", "sniff_csv",
        ],
    ),
    (
        "read the catalog, settings, sequences, variables or the session",
        &[
            "collations", "current_catalog", "current_connection_id", "current_database", "current_localtimestamp",
            "current_query", "current_query_id", "current_role", "current_schema", "current_schemas",
            "current_setting", "current_transaction_id", "current_user", "currval", "database_list", "database_size",
            "duckdb_approx_database_count", "duckdb_available_metrics", "duckdb_columns", "duckdb_connection_count",
            "duckdb_constraints", "duckdb_coordinate_systems", "duckdb_databases", "duckdb_dependencies",
            "duckdb_dialects", "duckdb_eviction_queues", "duckdb_extension_repositories", "duckdb_extensions",
            "duckdb_external_file_cache", "duckdb_external_resource_types", "duckdb_external_resources",
            "duckdb_functions", "duckdb_grammar_extensions", "duckdb_indexes", "duckdb_keywords",
            "duckdb_log_contexts", "duckdb_logs", "duckdb_logs_parsed", "duckdb_memory", "duckdb_optimizers",
            "duckdb_prepared_statements", "duckdb_profiling_settings", "duckdb_schemas",
            "duckdb_secret_type_parameters", "duckdb_secret_types", "duckdb_secrets", "duckdb_sequences",
            "duckdb_settings", "duckdb_table_sample", "duckdb_tables", "duckdb_temporary_files", "duckdb_triggers",
            "duckdb_types", "duckdb_variables", "duckdb_views", "extension_versions", "functions", "get_block_size",
            "getvariable", "in_search_path", "index_key", "metadata_info", "nextval", "platform", "pragma_collations",
            "pragma_database_size", "pragma_metadata_info", "pragma_platform", "pragma_show", "pragma_storage_info",
            "pragma_table_info", "pragma_user_agent", "pragma_version", "session_user", "setval", "show",
            "show_databases", "show_tables", "show_tables_expanded", "storage_info", "table_info", "txid_current",
            "user", "user_agent", "version", "which_secret",
        ],
    ),
    (
        "change the engine's state outside the statement",
        &[
            "checkpoint", "create_external_resource", "deregister_external_resource", "destroy_external_resource",
            "disable_checkpoint_on_shutdown", "disable_logging", "disable_object_cache", "disable_optimizer",
            "disable_print_progress_bar", "disable_profile", "disable_profiling", "disable_progress_bar",
            "disable_verification", "disable_verify_parallelism", "enable_checkpoint_on_shutdown", "enable_logging",
            "enable_object_cache", "enable_optimizer", "enable_print_progress_bar", "enable_profile",
            "enable_profiling", "enable_progress_bar", "enable_verification", "force_checkpoint", "pg_sleep",
            "register_external_resource", "register_external_resource_type", "setseed", "sleep_ms",
            "truncate_duckdb_logs", "verify_parallelism", "write_log",
        ],
    ),
    (
        "the engine's internals and tests",
        &[
            "__between", "__cast", "__internal_barrier", "__internal_compress_geometry_point",
            "__internal_compress_integral_ubigint", "__internal_compress_integral_uinteger",
            "__internal_compress_integral_usmallint", "__internal_compress_integral_utinyint",
            "__internal_compress_string_hugeint", "__internal_compress_string_ubigint",
            "__internal_compress_string_uhugeint", "__internal_compress_string_uinteger",
            "__internal_compress_string_usmallint", "__internal_compress_string_utinyint",
            "__internal_compressed_materialization_cast", "__internal_decompress_geometry_point",
            "__internal_decompress_integral_bigint", "__internal_decompress_integral_hugeint",
            "__internal_decompress_integral_integer", "__internal_decompress_integral_smallint",
            "__internal_decompress_integral_ubigint", "__internal_decompress_integral_uhugeint",
            "__internal_decompress_integral_uinteger", "__internal_decompress_integral_usmallint",
            "__internal_decompress_string", "__internal_int96_as_struct", "__internal_json_copy_to_geojson",
            "__internal_json_copy_to_json", "__internal_tablefilter_bloom_filter", "__internal_tablefilter_dynamic",
            "__internal_tablefilter_optional", "__internal_tablefilter_prefix_range",
            "__internal_tablefilter_selectivity_optional", "array_to_string_comma_default",
            "json_copy_strftime_if_date", "json_copy_strftime_if_timestamp", "parse_duckdb_log_message",
            "test_all_types", "test_vector_types",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_lower_case_and_disjoint() {
        for list in std::iter::once(ENGINE_ALLOWED).chain(ENGINE_REFUSED.iter().map(|(_, l)| *l)) {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
            assert!(list.iter().all(|n| *n == n.to_ascii_lowercase()));
        }
        assert!(ENGINE_ALLOWED.iter().all(|n| engine_refuses(n).is_none()));
        let refused: Vec<&str> = ENGINE_REFUSED.iter().flat_map(|(_, l)| l.iter().copied()).collect();
        assert!(refused.iter().all(|n| refused.iter().filter(|m| *m == n).count() == 1), "each refused once");
    }

    #[test]
    fn qualified_system_schema_calls_are_refused() {
        let n = |s: &str| ObjectName::parse(s).unwrap();
        assert!(allows(&n("upper")) && allows(&n("main.upper")) && allows(&n("\"upper\"")));
        assert!(!allows(&n("pg_catalog.upper")) && !allows(&n("information_schema.upper")));
        assert!(allows(&n("d.information_schema.task_history")));
        assert!(!allows(&n("query")) && !allows(&n("main.query_table")) && !allows(&n("system.main.query")));
    }
}
