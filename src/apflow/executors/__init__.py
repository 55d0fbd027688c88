"""Built-in executors, one domain per module. Importing this package registers them."""

from apflow.executors import (
    aggregate,  # noqa: F401
    command,  # noqa: F401
    generate,  # noqa: F401
    http,  # noqa: F401
    llm,  # noqa: F401
    mcp_tool,  # noqa: F401
    scrape,  # noqa: F401
    system,  # noqa: F401
    transform,  # noqa: F401
)
