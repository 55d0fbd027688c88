"""apflow over MCP: ``build_server()`` returns the server; ``apflow serve mcp`` runs it."""

from apflow.mcp.server import build_server
from apflow.mcp.service import TreeService

__all__ = ["TreeService", "build_server"]
