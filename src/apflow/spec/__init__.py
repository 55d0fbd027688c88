"""apflow.spec."""
