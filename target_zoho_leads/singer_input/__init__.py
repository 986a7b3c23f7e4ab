"""Singer input: lines from stdin, nesting bounds, each record against its SCHEMA."""
