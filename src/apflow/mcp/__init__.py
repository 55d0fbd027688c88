"""apflow over MCP: ``build_server()`` returns the server; ``apflow serve mcp`` runs it.

The tools are thin: each calls :class:`apflow.service.Service`.
"""

from apflow.mcp.server import build_server

__all__ = ["build_server"]
