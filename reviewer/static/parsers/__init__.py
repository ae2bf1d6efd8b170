"""Pure parsers: one tool's output text in, findings out."""
