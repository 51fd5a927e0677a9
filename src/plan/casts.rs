//! Casts in `select=col::type` come from this fixed list, never from the URL verbatim.

/// Maps an accepted spelling to the SQL type written into the statement.
pub fn cast_type(name: &str) -> Option<&'static str> {
    let t = match name.trim().to_ascii_lowercase().as_str() {
        "text" => "text",
        "varchar" | "character varying" => "character varying",
        "char" | "character" | "bpchar" => "character",
        "int" | "integer" | "int4" => "integer",
        "smallint" | "int2" => "smallint",
        "bigint" | "int8" => "bigint",
        "numeric" | "decimal" => "numeric",
        "real" | "float4" => "real",
        "float" | "double precision" | "float8" => "double precision",
        "bool" | "boolean" => "boolean",
        "json" => "json",
        "jsonb" => "jsonb",
        "uuid" => "uuid",
        "date" => "date",
        "time" => "time",
        "timetz" => "time with time zone",
        "timestamp" => "timestamp",
        "timestamptz" => "timestamp with time zone",
        "interval" => "interval",
        "bytea" => "bytea",
        "money" => "money",
        "inet" => "inet",
        "cidr" => "cidr",
        "tsvector" => "tsvector",
        "text[]" => "text[]",
        "int[]" | "integer[]" | "int4[]" => "integer[]",
        "bigint[]" | "int8[]" => "bigint[]",
        _ => return None,
    };
    Some(t)
}
