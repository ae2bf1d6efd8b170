"""Per-language parsers: each turns a file's text into a FileSummary without I/O."""
