"""galcat file formats: readers and writers for survey files (no database imports)."""
