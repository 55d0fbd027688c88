"""apflow.evals."""
