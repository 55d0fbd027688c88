"""apflow.mcp."""
