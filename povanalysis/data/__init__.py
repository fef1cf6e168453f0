"""Input data: the schema, reading and validation, the commune registry, the synthetic panel, the pipeline."""
