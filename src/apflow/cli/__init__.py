"""apflow.cli."""
