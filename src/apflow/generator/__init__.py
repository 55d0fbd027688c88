"""apflow.generator."""
